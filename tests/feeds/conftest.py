"""A small database of releases covering every feed filter, and a helper to build records."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from crawler.normalize import fingerprint
from storage import Database, ReleaseRecord, save_release
from storage.health import record_health

SOURCES = {
    "nstc": ("National Science and Technology Council", "TW", "Asia/Taipei"),
    "msit": ("Ministry of Science and ICT", "KR", "Asia/Seoul"),
    "moeaidb": ("Industrial Development Administration", "TW", "Asia/Taipei"),
}

EVIL_TITLE = "Evil\x01 title\ufffe with <script>alert(1)</script> inside"
HTML_SUMMARY = (
    '<p>Joint lab <img src="https://img.example/a.png" onerror="alert(1)">'
    ' <a href="javascript:alert(2)">click</a> <a href="https://ok.example/">ok</a>'
    ' <b style="color:red" onclick="alert(4)">bold</b></p><script>alert(3)</script>'
)

# One file whose download measured its size and type, one only listed (an HWPX behind MSIT's
# download script: no extension in the URL). A file that is not a web link cannot be stored
# any more (storage/links.py; tests/test_hostile_input.py).
M1_ATTACHMENTS = [
    {"name": "Agreement text.pdf", "url": "https://msit.example/files/agreement.pdf",
     "length": 48213, "type": "application/pdf"},
    {"name": "보도자료.hwpx",
     "url": "https://msit.example/ssm/file/fileDown.do?atchFileNo=1&fileOrd=1&fileBtn=A"},
]  # fmt: skip


def record(native_id: str | None, **changes: Any) -> ReleaseRecord:
    source = changes.pop("source", "nstc")
    agency, country, zone = SOURCES[source]
    base = ReleaseRecord(
        source=source,
        native_id=native_id,
        url=f"https://{source}.example/news/{native_id or 'no-id'}",
        title=f"Release {native_id}",
        published_at=datetime(2024, 1, 1, tzinfo=UTC),
        body=f"First paragraph of {native_id}.\n\nSecond paragraph.",
        language="en",
        agency=agency,
        agency_country=country,
        fingerprint="",
        timezone=zone,
        summary=f"Summary of {native_id}.",
    )
    built = replace(base, **changes)
    return replace(built, fingerprint=fingerprint(built.title, built.body))


def day(month: int, d: int, hour: int = 0) -> datetime:
    return datetime(2024, month, d, hour, tzinfo=UTC)


def seed_records() -> list[ReleaseRecord]:
    coop = {"is_cooperation": True, "confidence": 0.9}
    return [
        record("n1", published_at=day(3, 1), partners=["FR", "EU"], topics=["ai"],
               coop_type="mou", **coop),
        record("n2", published_at=day(2, 1), partners=["DE"], topics=["space"],
               coop_type="joint_call", **coop),
        # Same published time as n2: the order falls back to id, newest row first.
        record("n4", published_at=day(2, 1), partners=["FR"], topics=["space"],
               coop_type="mou", **coop),
        record("m1", source="msit", published_at=day(4, 1), partners=["FR", "US"],
               topics=["semiconductors"], coop_type="agreement", language="ko",
               image_url="https://msit.example/img/m1.png", attachments=M1_ATTACHMENTS, **coop),
        record("m2", source="msit", published_at=day(5, 1), is_cooperation=False),
        record(None, source="moeaidb", url="https://moeaidb.example/news?id=77",
               published_at=day(1, 15), partners=["JP"], topics=["ai"],
               coop_type="delegation", **coop),
        record("evil", title=EVIL_TITLE, published_at=day(3, 15), partners=["FR"], **coop),
        record("m3", source="msit", summary=HTML_SUMMARY, published_at=day(3, 20),
               partners=["GB"], topics=["ai"], coop_type="mou", **coop),
        record("old", published_at=datetime(2023, 6, 1, tzinfo=UTC), is_cooperation=None),
    ]  # fmt: skip


@pytest.fixture
def seeded(database: Database) -> Database:
    with database.session() as session:
        for rec in seed_records():
            save_release(session, rec)
        # Source-health history for the monitor feed: broke, then recovered.
        record_health(session, "msit", "broken", ["list page matched no releases"], False)
        record_health(session, "msit", "healthy", [], False)
    return database

"""`stnews cluster`, the post-crawl linking step, `stnews events rebuild` and `stnews ledger`
through the real command line, on the backend under test."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime

from sqlalchemy import select

from storage import Database
from storage.models import Event, EventMember
from storage.releases import ReleaseRecord, save_release
from tests import forked_cli
from tests.cli_support import run_in_process as stnews
from tests.databases import new_database_url
from tests.events.support import rows
from tests.support import ROOT

_ROWS = {r["id"]: r for r in rows()}


def _line(key: str, **changes: object) -> str:
    row = _ROWS[key]
    obj = {k: row[k] for k in ("id", "title", "body", "language", "agency", "agency_country",
                               "published")}  # fmt: skip
    obj.update(changes)
    return json.dumps(obj, ensure_ascii=False)


def cluster(text: str) -> list[dict]:
    result = forked_cli.run(
        ["cluster"], input=text, cwd=ROOT, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)}
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_cluster_writes_one_line_per_input_line_in_order() -> None:
    lines = [
        _line("seed-000-nstc-twfr-stc-en"),
        "not json",
        _line("yonhap-krfr8-ko"),  # Korea-France 8th committee: another event
        _line("cna-twfr-stc-zh"),
        json.dumps({"id": "x1", "title": "t", "published": "last week"}),
        "",
        _line("newnet-twfr-stc-zh", published=None),  # no date: still linked
        json.dumps({"id": "seed-000-nstc-twfr-stc-en", "title": "again"}),
    ]
    out = cluster("\n".join(lines) + "\n")
    assert len(out) == len(lines)
    assert out[0]["id"] == "seed-000-nstc-twfr-stc-en"
    assert out[0]["event"] == out[3]["event"] == out[6]["event"] != out[2]["event"]
    assert out[0]["event"].startswith("ev-")
    assert out[1] == {"error": out[1]["error"], "line": 2} and "invalid JSON" in out[1]["error"]
    assert out[4]["id"] == "x1" and "published" in out[4]["error"]
    assert out[5]["line"] == 6 and "blank" in out[5]["error"]
    assert "duplicate id" in out[7]["error"]


def _record(key: str, source: str, **changes: object) -> ReleaseRecord:
    from crawler.classify import classify

    row = _ROWS[key]
    verdict = classify(row["title"], row["body"], row["agency_country"], row["language"])
    published = datetime.fromisoformat(row["published"]).replace(tzinfo=UTC)
    values = dict(
        source=source, native_id=key, url=row["url"], title=row["title"], published_at=published,
        body=row["body"], language=row["language"], agency=row["agency"],
        agency_country=row["agency_country"], fingerprint=key, timezone="Asia/Taipei",
        is_cooperation=verdict.is_cooperation, partners=list(verdict.partners),
        coop_type=verdict.coop_type,
    )  # fmt: skip
    values.update(changes)
    return ReleaseRecord(**values)  # type: ignore[arg-type]


def _store(database: Database, *records: ReleaseRecord) -> None:
    with database.session() as session:
        for record in records:
            save_release(session, record)


def _events(database: Database) -> dict[str, tuple[str, datetime]]:
    """release native id -> (event id, event updated_at)"""
    from storage.models import Release

    with database.session(readonly=True) as session:
        query = (
            select(Release.native_id, Event.id, Event.updated_at)
            .join(EventMember, EventMember.release_id == Release.id)
            .join(Event, Event.id == EventMember.event_id)
        )
        return {native: (event, updated) for native, event, updated in session.execute(query)}


def test_linking_after_crawl_rebuild_and_ledger(tmp_path) -> None:
    db = new_database_url(tmp_path)
    database = Database(db)
    _store(
        database,
        _record("seed-000-nstc-twfr-stc-en", "nstc"),
        _record("cna-twfr-stc-zh", "cna"),
        _record("nstc-twfr-conf-zh", "nstc_zh"),
    )
    first = stnews("events", "link", db=db).stdout
    assert "Linked 3 releases: 2 new events, 1 joined" in first
    before = _events(database)
    stc = before["seed-000-nstc-twfr-stc-en"][0]
    assert before["cna-twfr-stc-zh"][0] == stc != before["nstc-twfr-conf-zh"][0]

    # A new member joins: same id, the event's updated time moves; the other event stays.
    _store(database, _record("newnet-twfr-stc-zh", "newnet"))
    stnews("events", "link", db=db)
    after = _events(database)
    assert after["newnet-twfr-stc-zh"][0] == stc
    assert after["seed-000-nstc-twfr-stc-en"][1] > before["seed-000-nstc-twfr-stc-en"][1]
    assert after["nstc-twfr-conf-zh"] == before["nstc-twfr-conf-zh"]

    # A rebuild keeps every id and moves no updated time.
    counts = json.loads(stnews("events", "rebuild", "--json", db=db).stdout)
    assert counts["releases"] == 4 and counts["events"] == 2 and counts["changed"] == 0
    assert _events(database) == after

    ledger = json.loads(stnews("ledger", "--partner", "fr", "--json", db=db).stdout)
    assert [c["parties"] for c in ledger] == [["FR", "TW"]]
    steps = ledger[0]["steps"]
    assert [s["date"] for s in steps] == ["2023-11-29", "2024-04-29"]
    assert steps[0]["event"] == stc and len(steps[0]["links"]) == 3
    assert {"NSTC", "CNA (via trader168)", "newnet.tw"} <= set(steps[0]["publishers"])
    table = list(csv.DictReader(io.StringIO(stnews("ledger", "--csv", db=db).stdout)))
    assert [r["step"] for r in table] == ["1", "2"] and table[0]["parties"] == "FR-TW"
    assert "No events with JP" in stnews("ledger", "--partner", "JP", db=db).stdout
    database.dispose()

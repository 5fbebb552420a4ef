"""One feed entry per event, per-release feeds kept, events on the front page, the ledger
page: on the backend under test."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from pathlib import Path

import feedparser
from starlette.testclient import TestClient

from crawler.feeds import write_feeds
from crawler.feeds.events import event_entry_id
from crawler.server import create_app
from crawler.service.linking import link_new
from storage import Database, save_release
from storage.releases import ReleaseRecord
from tests.events.support import rows

BASE = "http://feeds.example/"
_ROWS = {r["id"]: r for r in rows()}
# The Taiwan-France convention: NSTC in English, CNA and newnet.tw in Chinese.
STC = ("seed-000-nstc-twfr-stc-en", "cna-twfr-stc-zh", "newnet-twfr-stc-zh")


def _record(key: str, source: str) -> ReleaseRecord:
    from crawler.classify import classify

    row = _ROWS[key]
    verdict = classify(row["title"], row["body"], row["agency_country"], row["language"])
    return ReleaseRecord(
        source=source, native_id=key, url=row["url"], title=row["title"],
        published_at=datetime.fromisoformat(row["published"]).replace(hour=2, tzinfo=UTC),
        body=row["body"], language=row["language"], agency=row["agency"],
        agency_country=row["agency_country"], fingerprint=key, timezone="Asia/Taipei",
        is_cooperation=verdict.is_cooperation, partners=list(verdict.partners),
        coop_type=verdict.coop_type, summary=row["body"].split("\n\n")[0],
    )  # fmt: skip


def _store(database: Database, *pairs: tuple[str, str]) -> None:
    with database.session() as session:
        for key, source in pairs:
            save_release(session, _record(key, source))
    link_new(database)


def _atom(path: Path) -> feedparser.FeedParserDict:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.bozo_exception
    return parsed


def test_cooperation_feed_has_one_entry_per_event(database: Database, tmp_path: Path) -> None:
    _store(database, (STC[0], "nstc"), (STC[1], "cna"), ("yonhap-krfr8-ko", "yonhap"))
    out = tmp_path / "feeds"
    write_feeds(database, out, BASE)
    feed = _atom(out / "cooperation.atom")
    assert len(feed.entries) == 2
    entry = next(e for e in feed.entries if e.link == _ROWS[STC[0]]["url"])
    from storage.events import list_events

    with database.session(readonly=True) as session:
        event_id = next(e.id for e in list_events(session) if len(e.members) == 2)
    assert entry.id == event_entry_id(event_id)
    assert entry.title == _ROWS[STC[0]]["title"]  # the first release's
    content = entry.summary
    assert "Also announced by" in content and "CNA (via trader168) (zh-Hant, 2023-11-29)" in content
    assert _ROWS[STC[1]]["url"] in content
    # Per-release feeds stay: every release is its own entry there.
    assert len(_atom(out / "cooperation-releases.atom").entries) == 3
    first_updated = datetime.fromisoformat(entry.updated)

    # A third agency's release joins: same entry id, later updated time.
    _store(database, (STC[2], "newnet"))
    write_feeds(database, out, BASE)
    again = next(e for e in _atom(out / "cooperation.atom").entries if e.id == entry.id)
    assert datetime.fromisoformat(again.updated) > first_updated
    assert "newnet.tw (zh-Hant, 2023-11-29)" in again.summary
    assert len(_atom(out / "cooperation.atom").entries) == 2


def test_server_events_per_release_and_ledger(database: Database, database_url: str) -> None:
    _store(database, *zip(STC, ("nstc", "cna", "newnet"), strict=True))
    with TestClient(create_app(database_url, base_url=BASE)) as client:
        events = feedparser.parse(client.get("/feeds/cooperation.atom").content)
        per_release = client.get("/feeds/cooperation.atom?per=release")
        assert per_release.status_code == 200
        releases = feedparser.parse(per_release.content)
        assert len(events.entries) == 1 and len(releases.entries) == 3
        assert releases.feed.id != events.feed.id
        assert client.get("/feeds/cooperation.atom?per=whatever").status_code == 400
        page = client.get("/").text
        assert "Also announced by" in page and _ROWS[STC[1]]["url"] in page
        ledger = client.get("/ledger?partner=fr")
        assert ledger.status_code == 200
        assert "France" in ledger.text and "2023-11-29" in ledger.text
        assert escape(_ROWS[STC[2]]["url"]) in ledger.text
        assert "No events" in client.get("/ledger?partner=JP").text
        assert client.get("/ledger?partner=<b>").status_code == 400


def test_a_release_whose_text_breaks_extraction_is_counted_not_blocking(
    database: Database, monkeypatch
) -> None:
    import crawler.service.linking as linking

    real = linking._signals_of

    def flaky(row, zones):
        if row.native_id == STC[1]:
            raise RuntimeError("unreadable")
        return real(row, zones)

    monkeypatch.setattr(linking, "_signals_of", flaky)
    with database.session() as session:
        for key, source in zip(STC, ("nstc", "cna", "newnet"), strict=True):
            save_release(session, _record(key, source))
    report = link_new(database)
    assert report.linked == 3 and report.failed == 1
    assert "1 with unreadable text" in report.summary()
    assert link_new(database).linked == 0  # nothing left to retry


def test_rebuild_drops_releases_no_longer_cooperation(database: Database) -> None:
    from sqlalchemy import select, update

    from crawler.service.linking import rebuild_all
    from storage.models import Event, EventMember
    from storage.models import Release as Row

    _store(database, *zip(STC, ("nstc", "cna", "newnet"), strict=True))
    with database.session() as session:
        session.execute(
            update(Row).where(Row.native_id == STC[2]).values(is_cooperation=False)
        )
    counts = rebuild_all(database)
    assert counts["releases"] == 2 and counts["events"] == 1 and counts["changed"] == 1
    with database.session(readonly=True) as session:
        assert session.scalar(select(func_count()).select_from(EventMember)) == 2
        assert [e.members for e in session.scalars(select(Event))] == [2]


def func_count():
    from sqlalchemy import func

    return func.count()

"""The bundled fixtures, replayed end to end: the post-crawl step links real releases of one
occurrence across languages and agencies into one event, whose id (and feed entry id) stays
the same across a re-crawl and a rebuild."""

from __future__ import annotations

import json
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import select

from crawler.feeds import write_feeds
from crawler.feeds.events import event_entry_id
from storage import Database
from storage.models import Event, EventMember, Release
from tests.crawl_support import crawl_json, run_cli
from tests.databases import new_database_url

# Korea-Japan director-general meeting of June 2023: MSIT in Korean (via korea.kr) and MEXT
# in Japanese. EU-Japan Horizon Europe association: the Commission's DG RTD and CORDIS.
SOURCES = ("koreakr_msit", "mext", "ec_rtd", "cordis")
KR_JP = (
    "https://www.korea.kr/briefing/pressReleaseView.do?call_from=rsslink&newsId=156572118",
    "https://www.mext.go.jp/b_menu/houdou/2023/mext_01655.html",
)
EU_JP = (
    "https://research-and-innovation.ec.europa.eu/news/all-research-and-innovation-news/"
    "eu-and-japan-conclude-negotiations-japans-association-horizon-europe-2025-12-22_en",
    "https://cordis.europa.eu/article/id/460215-japan-moves-closer-to-horizon-europe",
)


def _events(db: str) -> dict[str, tuple[str, object]]:
    """release url -> (event id, event updated_at)"""
    database = Database(db)
    try:
        with database.session(readonly=True) as session:
            query = (
                select(Release.url, Event.id, Event.updated_at)
                .join(EventMember, EventMember.release_id == Release.id)
                .join(Event, Event.id == EventMember.event_id)
            )
            return {url: (event, updated) for url, event, updated in session.execute(query)}
    finally:
        database.dispose()


def test_replayed_fixtures_link_one_event_across_languages_and_agencies(tmp_path: Path) -> None:
    db = new_database_url(tmp_path)
    crawl_json(db, *SOURCES)  # links the new cooperation releases after the crawl
    first = _events(db)
    assert first[KR_JP[0]][0] == first[KR_JP[1]][0]  # Korean and Japanese, two ministries
    assert first[KR_JP[0]][0] != first[EU_JP[0]][0]  # the EU-Japan event is another one
    ledger = json.loads(run_cli("ledger", "--partner", "KR", "--json", db=db).stdout)
    step = next(s for c in ledger for s in c["steps"] if s["event"] == first[KR_JP[0]][0])
    assert set(step["languages"]) == {"ko", "ja"} and len(step["publishers"]) == 2

    # The cooperation feed: one entry for the event, its id derived from the event's.
    out = tmp_path / "feeds"
    database = Database(db)
    write_feeds(database, out, "http://feeds.example/")
    database.dispose()
    feed = feedparser.parse((out / "cooperation.atom").read_bytes())
    entries = [e for e in feed.entries if e.link in KR_JP]
    assert len(entries) == 1 and entries[0].id == event_entry_id(first[KR_JP[0]][0])
    assert "Also announced by" in entries[0].summary

    # A re-crawl of every page, then a rebuild: the same events, ids and update times.
    crawl_json(db, "--full", *SOURCES)
    assert _events(db) == first
    counts = json.loads(run_cli("events", "rebuild", "--json", db=db).stdout)
    assert counts["changed"] == 0 and counts["releases"] == len(first)
    assert _events(db) == first


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="the shipped model vetoes CORDIS's release (p=0.59, veto below 0.65): a short"
    " follow-up ('Japan moves closer to Horizon Europe', the fixture's restated text) that the"
    " rules call cooperation; the model of 421fe28 (trained before batch v) let it through",
)
def test_two_eu_publishers_link_one_event(tmp_path: Path) -> None:
    db = new_database_url(tmp_path)
    crawl_json(db, "ec_rtd", "cordis")
    events = _events(db)
    assert EU_JP[0] in events, "the Commission's release is in no event"
    assert EU_JP[1] in events, "CORDIS's release is in no event"
    assert events[EU_JP[0]][0] == events[EU_JP[1]][0]

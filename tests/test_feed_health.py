"""Feed sources with different rhythms: an empty or frozen feed told apart from a quiet one."""

import json
import re
from datetime import UTC, datetime, timedelta

from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from crawler.feed_health import freshness, newest_entry, note_missing
from crawler.health import evaluate
from crawler.sources import Health
from storage import Database
from storage.health import Rhythm, record_health
from tests.cli_support import run_in_process
from tests.crawl_support import copy_fixtures, crawl_json
from tests.databases import new_database_url

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
WEEK = timedelta(days=7)


def test_a_valid_but_empty_feed_is_broken_as_such() -> None:
    stats = {
        "health/list_pages": 1,
        "health/first_page_items": 0,
        "health/empty_list_pages": 1,
        "health/empty_list_page_url": "https://example.org/feed",
        "feed/problem/no-entries": 1,
    }
    verdict = evaluate(stats, Health())
    assert verdict.status == "broken"
    assert verdict.reasons == [
        "feed is valid RSS/Atom but lists no entries (its generator or query broke?)"
    ]  # and not "list page matched no releases (selector?)"


def test_a_feed_answering_something_else_is_broken() -> None:
    stats = {"health/list_pages": 1, "health/empty_list_pages": 1, "feed/problem/not-a-feed": 1}
    verdict = evaluate(stats, Health())
    assert (verdict.status, len(verdict.reasons)) == ("broken", 1)
    assert "not RSS/Atom" in verdict.reasons[0]


def test_a_fresh_feed_is_fine_whatever_the_rhythm() -> None:
    stats = {"feed/newest_entry": (NOW - timedelta(days=3)).isoformat()}
    assert freshness(stats, WEEK, NOW) == freshness({}, WEEK, NOW)
    assert not freshness(stats, WEEK, NOW).stopped and not freshness(stats, WEEK, NOW).quiet


def test_an_old_feed_is_quiet_without_evidence_of_more() -> None:
    stats = {"feed/newest_entry": (NOW - timedelta(days=10)).isoformat()}
    daily = freshness(stats, WEEK, NOW)  # EC: a week without news is unusual
    assert daily.stopped is None
    assert daily.quiet and "within 7 days" in daily.quiet and "10 days" in daily.quiet
    weekly = freshness(stats, timedelta(days=21), NOW)  # MEXT: ten days is normal
    assert (weekly.stopped, weekly.quiet) == (None, None)
    # Without a declared rhythm and too few stored releases to learn one: no verdict.
    assert freshness(stats, None, NOW) == freshness({}, None, NOW)


def test_an_old_feed_with_newer_releases_on_the_list_page_stopped_updating() -> None:
    stats = {
        "feed/newest_entry": (NOW - timedelta(days=20)).isoformat(),
        "feed/newest_missing": (NOW - timedelta(days=2)).isoformat(),
    }
    result = freshness(stats, WEEK, NOW)
    assert result.quiet is None
    assert result.stopped and "stopped updating" in result.stopped
    assert (NOW - timedelta(days=2)).date().isoformat() in result.stopped
    # A release the feed skipped but older than its newest entry: the feed still moves.
    skipped = {**stats, "feed/newest_missing": (NOW - timedelta(days=25)).isoformat()}
    assert freshness(skipped, WEEK, NOW).stopped is None


def test_newest_dates_from_feed_and_list_page() -> None:
    dates = ["Mon, 01 Dec 2025 10:00:00 +0900", "2025-12-22T17:00:00+09:00", None, "not a date"]
    assert newest_entry(dates, "Asia/Tokyo", "ja") == datetime(2025, 12, 22, 8, tzinfo=UTC)
    stats = MemoryStatsCollector(get_crawler())
    for shown in ("2026.11.20", "2026.11.25", "2026.11.21", "garbage"):
        note_missing(stats, shown, "Asia/Seoul", "ko")
    assert stats.get_value("feed/newest_missing") == "2026-11-24T15:00:00+00:00"


def test_declared_rhythm_overrides_the_learned_one() -> None:
    rhythm = Rhythm(newest=NOW - timedelta(days=10), usual_gap=timedelta(days=1))
    assert rhythm.quiet_limit() == timedelta(days=14)  # four gaps, at least two weeks
    assert not rhythm.is_stale(NOW)
    assert rhythm.quiet_limit(WEEK) == WEEK
    assert rhythm.is_stale(NOW, declared=WEEK)
    assert Rhythm(None, None).quiet_limit() is None
    assert Rhythm(None, None).quiet_limit(WEEK) == WEEK


def test_a_quiet_source_says_so_in_its_stale_event(database: Database) -> None:
    with database.session() as session:
        (event,) = record_health(session, "mext", "healthy", [], True, "quiet: the feed is valid")
    assert (event.kind, event.message) == ("stale", "quiet: the feed is valid")


def test_a_crawl_of_an_emptied_feed_judges_the_source_broken(tmp_path) -> None:
    fixtures = copy_fixtures(tmp_path / "fixtures", ("mext",))
    feed = fixtures / "mext" / "feed" / "index.rdf"
    text = feed.read_text(encoding="utf-8")
    text = re.sub(r"\s*<item .*?</item>", "", text, flags=re.DOTALL)
    text = re.sub(r"\s*<rdf:li [^>]*/>", "", text)
    feed.write_text(text, encoding="utf-8")
    db = new_database_url(tmp_path)
    summary = crawl_json(db, "mext", replay=fixtures)
    assert summary["mext"]["status"] == "finished" and summary["mext"]["new"] == 0
    # The crawl's verdict; a replay reports it and never records it (a source's health comes
    # only from crawls of the site).
    verdict = summary["mext"]["health"]
    assert verdict["status"] == "broken" and verdict["recorded"] is False
    (status,) = json.loads(run_in_process("status", "mext", "--json", db=db).stdout)
    assert status["health"] == "unknown"
    assert verdict["reasons"] == [
        "feed is valid RSS/Atom but lists no entries (its generator or query broke?)"
    ]

"""Incremental polling and source health over a site served at several points in time."""

from datetime import date, timedelta
from pathlib import Path

import pytest

from bench.sitegen import SyntheticSite
from tests.cli_support import run_in_process
from tests.crawl_support import crawl_json, run_cli, stored_releases
from tests.databases import new_database_url

START = date.today() - timedelta(days=30)  # newest release a few days old: not stale


def crawl_state(tmp_path: Path, db: str, name: str, site: SyntheticSite, *args: str) -> dict:
    """A crawl of the site as it is at one point in time: its replay is judged as the site
    (a plain replay reports a health verdict and records none)."""
    fixtures = site.write_fixtures(tmp_path / name)
    recorded = ("-s", "STNEWS_HEALTH_FROM_REPLAY=true")
    return crawl_json(db, "nstc", *recorded, *args, replay=fixtures)["nstc"]


def status(db: str) -> dict:
    import json

    (row,) = json.loads(run_in_process("status", "nstc", "--json", db=db).stdout)
    return row


def test_polling_cost_edits_redesign_and_recovery(tmp_path: Path) -> None:
    db = new_database_url(tmp_path)

    # Each crawl reads the English home page first: its menu leads to the news list, whose
    # uuid is not configured (sources.toml). That is one request more than the list.
    archive = crawl_state(tmp_path, db, "a", SyntheticSite(25, start=START))
    assert archive["new"] == 25 and archive["pages"] == 1 + 3 + 25
    assert status(db)["health"] == "healthy"

    # One new release: the home page, one list page and one detail page, nothing else.
    grown = crawl_state(tmp_path, db, "b", SyntheticSite(26, start=START))
    assert (grown["pages"], grown["new"], grown["updated"]) == (3, 1, 0)
    assert grown["skipped"] == 9  # the rest of page 1, known and listed unchanged

    # Nothing changed: the list page answers 304 and nothing else is fetched.
    same = crawl_state(tmp_path, db, "b2", SyntheticSite(26, start=START))
    assert (same["pages"], same["not_modified"], same["new"]) == (2, 1, 0)

    # An edited release (new title on the list and the page) is fetched again and updated.
    before = {r["native_id"]: r for r in stored_releases(db)}
    edited_site = SyntheticSite(26, start=START, edited={20: "NSTC Renames Programme Twenty"})
    edited = crawl_state(tmp_path, db, "c", edited_site)
    assert (edited["pages"], edited["new"], edited["updated"]) == (3, 0, 1)
    after = {r["native_id"]: r for r in stored_releases(db)}
    uuid = SyntheticSite.release_uuid(20)
    assert after[uuid]["title"] == "NSTC Renames Programme Twenty"
    assert after[uuid]["updated"] > before[uuid]["updated"]
    assert len(after) == 26

    # A redesign that no list selector matches: the releases are still found, by the
    # detail-URL pattern, and the source is degraded with the reason.
    redesigned = SyntheticSite(26, start=START, edited=edited_site.edited, redesigned=True)
    crawl_state(tmp_path, db, "d", redesigned, "--full")
    row = status(db)
    assert row["health"] == "degraded"
    assert any("list selectors matched no release" in r and "release links discovered" in r
               for r in row["reasons"])  # fmt: skip
    # ... and an operator subscribed to the monitor feed learns of it.
    assert monitor_titles(db, tmp_path / "feeds") == ["Source degraded: nstc"]

    # The next good run clears it.
    crawl_state(tmp_path, db, "e", edited_site, "--full")
    assert status(db)["health"] == "healthy"

    events = _events(db)
    assert [kind for kind, _ in events] == ["degraded", "recovered"]
    assert monitor_titles(db, tmp_path / "feeds") == [
        "Source recovered: nstc",
        "Source degraded: nstc",
    ]


def monitor_titles(db: str, out: Path) -> list[str]:
    import feedparser

    run_cli("feed", "--out", str(out), db=db)
    parsed = feedparser.parse((out / "monitor.atom").read_bytes())
    assert not parsed.bozo
    return [entry.title for entry in parsed.entries]


def _events(db: str) -> list[tuple[str, str]]:
    from storage import Database
    from storage.health import recent_events

    database = Database(db)
    with database.session() as session:
        return [(e.kind, e.message) for e in reversed(recent_events(session))]


@pytest.mark.parametrize(("recheck_days", "fetched"), [(7, False), (0, True)])
def test_recheck_interval(database_url: str, recheck_days: float, fetched: bool) -> None:
    from scrapy import Request
    from scrapy.http import HtmlResponse
    from scrapy.utils.test import get_crawler

    from crawler.incremental import IncrementalListMiddleware, listing_hash
    from crawler.release_spider import LIST_PAGE, listing
    from storage import Database, save_release
    from tests.test_storage import make_record

    database = Database(database_url)
    with database.session() as session:
        shown = listing("d82a8144", "Taiwan and France sign", "2023-11-29")["listing"]
        save_release(session, make_record(listing_hash=listing_hash(shown)))

    crawler = get_crawler(
        settings_dict={"DATABASE_URL": database_url, "RECHECK_AFTER_DAYS": recheck_days}
    )
    crawler._apply_settings()

    class Spider:
        name = "nstc"

    crawler.spider = Spider()
    middleware = IncrementalListMiddleware(crawler)
    page = HtmlResponse("https://list/", body=b"", request=Request("https://list/", meta=LIST_PAGE))
    detail = Request("https://detail/", meta={"listing": shown})
    next_page = Request("https://list/?page=2", meta=LIST_PAGE)
    kept = list(middleware.process_spider_output(page, [detail, next_page]))
    assert (detail in kept) is fetched
    assert (next_page in kept) is fetched

"""Issue 18, item 11: `stnews reparse` right after a crawl keeps the feed's time of day.

The corpus is `fixtures/bad/feedtimes/` (SYNTHETIC, NSF-shaped; its `make_cases.py` wrote
it): a feed timing six releases and their pages, whose own dates agree with the feed's day,
are missing, sit only in metadata naming another day, or name another day in the page's
layout (the control: there the page wins, at the crawl and at the reparse). The corpus is
crawled as source `nsf` (America/New_York) through the real feed spider, then every stored
release is re-extracted: no date may move.
"""

from __future__ import annotations

import shutil
from datetime import datetime, time
from email.utils import parsedate_to_datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crawler.project import project_settings
from crawler.service.reparse import reparse
from storage import Database, Release
from tests.corpus_cases import load_cases
from tests.safety_support import CORPUS, crawl

_cases = load_cases("feedtimes")
CASES = _cases.CASES
url_of = _cases.url_of

ZONE = ZoneInfo("America/New_York")


def dates(db: str) -> dict[str, datetime]:
    database = Database(db)
    try:
        with database.session(readonly=True) as session:
            return {r.url: r.published_at for r in session.scalars(select(Release))}
    finally:
        database.dispose()


@pytest.fixture(scope="module")
def reparsed(tmp_path_factory: pytest.TempPathFactory):
    from tests.databases import new_database_url

    tmp = tmp_path_factory.mktemp("feedtimes")
    replay = tmp / "replay"
    shutil.copytree(CORPUS / "feedtimes", replay / "nsf", ignore=shutil.ignore_patterns("*.py"))
    (replay / "nsf" / "responses.json").rename(replay / "nsf" / "index.json")
    db = new_database_url(tmp)
    crawled = crawl(db, tmp, "nsf", replay=replay)
    assert crawled.returncode == 0, crawled.stderr[-2000:]
    before = dates(db)
    database = Database(db)
    try:
        report = reparse(database, project_settings(), ["nsf"])
    finally:
        database.dispose()
    return before, dates(db), report


def test_every_case_was_stored(reparsed) -> None:
    before, _, _ = reparsed
    assert sorted(before) == sorted(url_of(case) for case in CASES)


def test_the_crawl_keeps_the_feeds_time_unless_the_page_names_another_day(reparsed) -> None:
    before, _, _ = reparsed
    for case, (fed, shown, _meta, kept, _what) in CASES.items():
        stored = before[url_of(case)]
        if kept == "feed":
            assert stored == parsedate_to_datetime(fed), case
        else:
            day = datetime.strptime(shown, "%B %d, %Y").date()
            assert stored.astimezone(ZONE).date() == day, case
            assert stored.astimezone(ZONE).time() == time(), case


def test_reparse_moves_no_date(reparsed) -> None:
    before, after, report = reparsed
    assert report.failed == 0, report.failures
    moved = {url: (before[url], after[url]) for url in before if before[url] != after[url]}
    assert moved == {}
    assert report.corrected == 0 and report.updated == 0
    # No feed-timed release now sits at local midnight.
    for case, (_fed, _shown, _meta, kept, _what) in CASES.items():
        if kept == "feed":
            assert after[url_of(case)].astimezone(ZONE).time() != time(), case

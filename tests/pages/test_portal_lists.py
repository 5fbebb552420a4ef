"""A portal that lists many agencies: korea.kr's press-release list, read from its real page.

The page (``fixtures/koreakr_msit/real/``, a copy of ``../shared/realpages/koreakr/list-1.html``,
2026-01-07) lists 20 releases of all ministries. The three korea.kr sources check it, filtered
(a guessed ``repCode`` parameter) to their ministry; ``[source.list] publishers`` keeps only
their ministry's items whatever the site serves, and health reports the others.
"""

from __future__ import annotations

from typing import Any

import pytest
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.health import evaluate
from crawler.pages import ListPage
from crawler.pages.page import html_response
from crawler.source_registry import page_objects, spider_classes
from crawler.sources import Health, sources_by_name
from tests.support import FIXTURES, fixture_response

SOURCES = sources_by_name()
REAL_URL = "https://www.korea.kr/briefing/pressReleaseList.do"
REAL_PAGE = FIXTURES / "koreakr_msit/real/list-pressReleaseList.html"


def _real(url: str = REAL_URL) -> HtmlResponse:
    return html_response(url, REAL_PAGE.read_bytes())


def _list_page(source: str, **changes: Any) -> ListPage:
    config = SOURCES[source]
    if changes:
        listing = config.listing.model_copy(update=changes)
        config = config.model_copy(update={"listing": listing})
    list_page, _ = page_objects(config)
    return list_page


def test_the_real_list_reads_with_the_configured_selectors() -> None:
    reading = _list_page("koreakr_msit", publishers=[]).read(_real())
    assert reading.stage == "selectors" and reading.matched == 20
    entries = reading.entries
    assert len(entries) == 20 and len({e.native_id for e in entries}) == 20
    assert all(e.date == "2026.01.07" for e in entries)
    first = entries[0]
    assert first.native_id == "156738805"
    assert first.title == "고용노동부, 울산 남구 고용위기 선제대응지역 신규 지정"
    assert first.publisher == "고용노동부"
    # The pager calls pageLink(N), which sets the form's pageIndex.
    assert reading.next_pages == [f"{REAL_URL}?pageIndex=2"]


def test_publishers_keep_one_ministry_and_count_the_others() -> None:
    reading = _list_page("koreakr_motir").read(_real())
    (entry,) = reading.entries
    assert entry.native_id == "156738784" and entry.publisher == "산업통상부"
    assert entry.title.startswith("(참고자료)중국(상하이) 진출 소비재·콘텐츠 기업 간담회")
    assert reading.other_publishers == 19


def test_a_list_of_only_other_ministries_is_not_read_by_discovery() -> None:
    reading = _list_page("koreakr_msit").read(_real())
    assert reading.entries == [] and reading.other_publishers == 20
    assert reading.stage == "selectors" and reading.problem is None


def _spider(name: str):
    cls = spider_classes()[name]
    crawler = get_crawler(cls, {"DATABASE_URL": "sqlite://"})
    spider = cls.from_crawler(crawler)
    crawler.spider = spider
    return spider


@pytest.mark.parametrize("source", ["koreakr_msit", "koreakr_motir", "koreakr_mofa"])
def test_the_check_page_the_feed_covers_reports_nothing(source: str) -> None:
    spider = _spider(source)
    spider.checking, spider.feeds_pending = True, 1
    (feed,) = SOURCES[source].start_url_strings
    list(spider.parse(fixture_response(feed)))
    check = SOURCES[source].feed.check_page
    assert list(spider.parse_check_page(fixture_response(check))) == []
    stats = spider.crawler.stats.get_stats()
    assert stats["feed/check_pages"] == 1
    assert "feed/missing_from_feed" not in stats and "feed/check/empty" not in stats
    assert "list/other_publishers" not in stats


def test_an_ignored_filter_fetches_only_the_ministrys_release_and_degrades_health() -> None:
    spider = _spider("koreakr_motir")
    spider.checking, spider.feeds_pending = True, 1
    list(spider.parse(fixture_response("https://www.korea.kr/rss/dept_motir.xml")))
    # The site answers the filtered URL with the all-ministries list.
    check = SOURCES["koreakr_motir"].feed.check_page
    fetched = list(spider.parse_check_page(_real(check)))
    assert [r.meta["listing"]["id"] for r in fetched] == ["156738784"]
    stats = spider.crawler.stats.get_stats()
    assert stats["list/other_publishers"] == 19 and stats["list/items"] == 20
    verdict = evaluate({**stats, "health/list_pages": 1}, Health())
    assert verdict.status == "degraded"
    assert any("19 of 20 items" in reason and "filter" in reason for reason in verdict.reasons)

from datetime import UTC, datetime

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from crawler.classify import engine, gazetteer, lexicon, model
from crawler.config import default
from crawler.database import database_for
from crawler.items import ReleaseItem
from crawler.pipelines import (
    DeduplicatePipeline,
    EnrichPipeline,
    NormalizePipeline,
    StorePipeline,
    ValidatePipeline,
)
from storage import Release


@pytest.fixture
def crawler(database_url: str):
    crawler = get_crawler(settings_dict={"DATABASE_URL": database_url})
    crawler._apply_settings()
    return crawler


@pytest.fixture
def reactor(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The reactor's timers on a clock the test moves. Set on the package, where ``from
    twisted.internet import reactor`` looks first: no reactor is installed in the test
    process. The store's Deferreds are then awaited as they are: Scrapy's conversion to
    asyncio futures needs a running reactor."""
    import twisted.internet

    fake = Clock()
    monkeypatch.setattr(twisted.internet, "reactor", fake, raising=False)
    monkeypatch.setattr("crawler.pipelines.maybe_deferred_to_future", lambda deferred: deferred)
    return fake


def make_item(**fields) -> ReleaseItem:
    item = ReleaseItem(
        source="nstc",
        native_id="d82a8144",
        url="https://www.nstc.gov.tw/folksonomy/detail/d82a8144?l=en&pageNum=2",
        title="  Taiwan and France Sign a Coopera-tion Convention ",
        published_raw="2023-11-29",
        body="On November 29, the\u00a0NSTC  held a press conference.\n\nIt was al-so good.",
        language="en",
        agency="National Science and Technology Council",
        agency_country="TW",
        timezone="Asia/Taipei",
        attachments=[{"name": " Photo ", "url": "https://www.nstc.gov.tw/a/1"}],
        raw_body=b"<html></html>",
    )
    item.update(fields)
    return item


def run(pipelines, item):
    for pipeline in pipelines:
        item = pipeline.process_item(item)
    return item


def test_the_classifier_is_loaded_before_the_crawl_not_by_its_first_release(crawler) -> None:
    # Loaded lazily by the first release, the tables blocked the reactor for seconds on a
    # busy machine while downloads were in flight (their timeouts fired late or early).
    loaders = (gazetteer.gazetteer, lexicon.lexicon, model.load, engine._cjk_regex)
    for loader in loaders:
        loader.cache_clear()
    pipeline = EnrichPipeline(crawler)
    pipeline.open_spider()
    loaded = [loader.cache_info() for loader in loaders]
    assert all(info.currsize == 1 for info in loaded)
    item = pipeline.process_item(NormalizePipeline(crawler).process_item(make_item()))
    assert item["is_cooperation"] and "FR" in item["partners"]
    assert [loader.cache_info().misses for loader in loaders] == [i.misses for i in loaded]


def test_what_start_up_built_is_frozen_for_the_crawl_and_thawed_after(crawler) -> None:
    # Issue 19: the collector no longer walks start-up's objects during the crawl, and young
    # collections are rarer; once the last crawl closes, both are as before (garbage among
    # the frozen objects is collected then). Two crawls at once: the first to close changes
    # nothing for the other.
    import gc

    from crawler.extensions import YOUNG_THRESHOLD, CollectorPolicy

    before = gc.get_threshold()
    EnrichPipeline(crawler).open_spider()
    first, second = CollectorPolicy.from_crawler(crawler), CollectorPolicy.from_crawler(crawler)
    first.spider_opened(None)
    second.spider_opened(None)
    try:
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold() == (max(before[0], YOUNG_THRESHOLD), *before[1:])
        first.spider_closed(None)
        assert gc.get_freeze_count() > 10_000
        assert gc.get_threshold()[0] == max(before[0], YOUNG_THRESHOLD)
    finally:
        second.spider_closed(None)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == before


def test_every_crawl_has_the_collector_policy_with_or_without_pipelines() -> None:
    from crawler.project import project_settings

    settings = project_settings()
    assert "crawler.extensions.CollectorPolicy" in settings.getdict("EXTENSIONS")
    assert "CollectorPolicy" not in str(settings.getdict("ITEM_PIPELINES"))


def test_normalize(crawler) -> None:
    item = NormalizePipeline(crawler).process_item(make_item())
    assert item["url"] == "https://www.nstc.gov.tw/folksonomy/detail/d82a8144?l=en"
    assert item["title"] == "Taiwan and France Sign a Cooperation Convention"
    assert item["body"] == "On November 29, the NSTC held a press conference.\n\nIt was also good."
    assert item["summary"] == "On November 29, the NSTC held a press conference."
    assert item["published"] == datetime(2023, 11, 28, 16, tzinfo=UTC)
    assert item["modified"] is None
    assert item["attachments"] == [{"name": "Photo", "url": "https://www.nstc.gov.tw/a/1"}]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"title": " "}, "missing-title"),
        ({"url": ""}, "missing-url"),
        ({"published_raw": None}, "missing-date"),
        ({"published_raw": "Number of Views: 12"}, "unparseable-date"),
        ({"published_raw": "1850-01-01"}, "implausible-date"),
        ({"published_raw": "2999-01-01"}, "implausible-date"),
    ],
)
def test_invalid_releases_are_dropped_with_a_counted_reason(crawler, fields, reason) -> None:
    pipelines = [NormalizePipeline(crawler), ValidatePipeline(crawler)]
    with pytest.raises(DropItem, match=reason):
        run(pipelines, make_item(**fields))
    assert crawler.stats.get_value(f"releases/dropped/{reason}") == 1


def test_duplicates_within_a_crawl_are_dropped(crawler) -> None:
    normalize, dedupe = NormalizePipeline(crawler), DeduplicatePipeline(crawler)
    dedupe.open_spider()
    run([normalize, dedupe], make_item())
    variants = [
        make_item(url="https://www.nstc.gov.tw/folksonomy/detail/d82a8144?l=en&pageNum=9"),
        make_item(native_id=None),
        make_item(native_id="other", url="https://www.nstc.gov.tw/elsewhere"),
    ]
    for variant in variants:
        with pytest.raises(DropItem, match="duplicate"):
            run([normalize, dedupe], variant)
    assert crawler.stats.get_value("releases/duplicate") == 3
    run([normalize, dedupe], make_item(native_id="x2", url="https://x/2", title="Another"))


def test_store_counts_new_unchanged_updated(crawler, database_url, reactor: Clock) -> None:
    # Each release waits for more to fill its batch, then is written when the batch's linger
    # is over; the item comes out of the pipeline once its batch has committed.
    normalize, store = NormalizePipeline(crawler), StorePipeline(crawler)
    store.open_spider()
    linger = default("STORE_BATCH_SECONDS")
    for item in (make_item(), make_item(), make_item(body="Edited body.")):
        stored = run([normalize, store], item)
        came_out: list[ReleaseItem] = []
        stored.addCallback(came_out.append)
        assert came_out == []  # waiting for a fuller batch
        reactor.advance(linger)
        assert came_out == [item]
    Deferred.fromCoroutine(store.close_spider())
    assert crawler.stats.get_value("release_writer/batches") == 3
    assert crawler.stats.get_value("releases/new") == 1
    assert crawler.stats.get_value("releases/unchanged") == 1
    assert crawler.stats.get_value("releases/updated") == 1
    with database_for(database_url).session() as session:
        (row,) = session.scalars(select(Release)).all()
        assert row.body == "Edited body."


def test_reactor_batches_store_whole_batches_and_report_each_release(
    database_url, reactor: Clock
) -> None:
    # Releases wait for a full batch (or a flush), then one transaction writes them; each
    # release's outcome or error is reported on its own.
    from crawler.pipelines import to_record
    from crawler.store_writers import ReactorBatches
    from storage import SaveOutcome

    crawler = get_crawler(settings_dict={"DATABASE_URL": database_url})
    crawler._apply_settings()
    normalize = NormalizePipeline(crawler)
    batches = ReactorBatches(database_for(database_url), batch_size=3, linger=60)
    reported: list[tuple[str, object, object]] = []

    def submit(item: ReleaseItem) -> None:
        record = to_record(normalize.process_item(item), ("www.nstc.gov.tw",))
        batches.submit(record, lambda outcome, error: reported.append((record.url, outcome, error)))

    submit(make_item())
    submit(make_item(native_id="2", url="https://www.nstc.gov.tw/d/2", title="Second"))
    assert reported == []  # waiting for a full batch
    with database_for(database_url).session() as session:
        assert session.scalars(select(Release)).all() == []
    # A third release whose image link is not a web link: refused by the store alone.
    bad = to_record(
        normalize.process_item(make_item(native_id="3", url="https://www.nstc.gov.tw/d/3")),
        ("www.nstc.gov.tw",),
    )
    bad.image_url = "javascript:alert(1)"
    batches.submit(bad, lambda outcome, error: reported.append((bad.url, outcome, error)))
    assert [(url, outcome) for url, outcome, _ in reported] == [
        ("https://www.nstc.gov.tw/d/2", SaveOutcome.NEW),
        ("https://www.nstc.gov.tw/d/3", None),
        ("https://www.nstc.gov.tw/folksonomy/detail/d82a8144?l=en", SaveOutcome.NEW),
    ]
    assert "unsafe-link" in str(reported[1][2])
    submit(make_item())  # the same release again: unchanged, written at the flush
    batches.close()
    assert reported[-1][1] is SaveOutcome.UNCHANGED
    assert batches.figures["batches"] == 2 and batches.figures["releases"] == 4
    with database_for(database_url).session() as session:
        urls = sorted(row.url for row in session.scalars(select(Release)))
    assert urls == [
        "https://www.nstc.gov.tw/d/2",
        "https://www.nstc.gov.tw/folksonomy/detail/d82a8144?l=en",
    ]

"""Running spiders in this process and collecting what each crawl did."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings
from sqlalchemy.exc import SQLAlchemyError

from crawler.database import database_for
from crawler.extensions import (
    FORCED_SHUTDOWN,
    crawl_counts,
    record_forced_shutdown,
    run_outcome,
)
from storage.feed_polls import finished_runs

logger = logging.getLogger(__name__)


@dataclass
class CrawlResult:
    source: str
    status: str = "running"
    finish_reason: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    #: The health verdict of a finished crawl (`recorded`: false for a replay, which never
    #: moves a source's health); None when no verdict was given.
    health: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status == "finished"


#: Called as (source, event, value): events "page", "stored", "dropped", "closed".
ProgressHook = Callable[[str, str, Any], None]


def run_crawls(
    sources: Iterable[str] | None,
    settings: Settings,
    spider_args: Mapping[str, Any] | None = None,
    on_progress: ProgressHook | None = None,
    adapt: Callable[[type[Spider]], type[Spider]] | None = None,
) -> list[CrawlResult]:
    """Crawl the named sources (all when None) side by side; return one result each.

    ``adapt`` turns each source's spider class into the one to run (e.g. a Redis-fed worker).
    """
    process = CrawlerProcess(settings)
    loader = process.spider_loader
    available = loader.list()
    names = list(sources) if sources else sorted(available)
    unknown = [name for name in names if name not in available]
    if unknown:
        raise KeyError(
            f"unknown source(s): {', '.join(unknown)}; available: {', '.join(sorted(available))}"
        )
    results: dict[str, CrawlResult] = {}
    crawlers: dict[str, Crawler] = {}
    for name in names:
        spider_cls = loader.load(name)
        crawlers[name] = crawler = process.create_crawler(
            adapt(spider_cls) if adapt else spider_cls
        )
        results[name] = result = CrawlResult(source=name)
        _watch(crawler, result, on_progress)
        # What the caller says wins over the poll count (`-a check_page=1`).
        process.crawl(crawler, **{**feed_check(spider_cls, settings), **dict(spider_args or {})})
    process.start()
    for name, result in results.items():
        if result.status == "running":  # the reactor stopped before the spider closed
            result.status, result.finish_reason = "interrupted", FORCED_SHUTDOWN
            result.counts, result.dropped = crawl_counts(_stats(crawlers[name]))
            record_forced_shutdown(crawlers[name])
        # Read now: the health monitor judges the crawl after the `closed` handler ran.
        result.health = health_verdict(_stats(crawlers[name]))
    return list(results.values())


def feed_check(spider_cls: type[Spider], settings: Settings) -> dict[str, Any]:
    """The ``check_page`` argument of a feed source's spider: whether this poll reads its
    HTML check page too, every ``check_every``-th poll counted by its finished crawls.

    Decided here, before the crawl, so the spider itself never reads the database; a spider
    started without the argument (``scrapy crawl``) checks. Other spiders get nothing.
    """
    config = getattr(spider_cls, "source_config", None)
    options = getattr(config, "feed", None)
    if config is None or options is None or not options.check_page:
        return {}
    try:
        database = database_for(settings["DATABASE_URL"])
        with database.session(readonly=True) as session:
            polls = finished_runs(session, config.name)
    except SQLAlchemyError as exc:  # when in doubt, check: it costs one page
        logger.warning("%s: poll count unavailable (%s); checking the page", config.name, exc)
        return {"check_page": True}
    return {"check_page": polls % options.check_every == 0}


def _stats(crawler: Crawler) -> dict[str, Any]:
    """A crawler's stats; none when the crawl failed to start (Scrapy sets them then)."""
    try:
        return crawler.stats.get_stats()
    except RuntimeError:
        return {}


def health_verdict(stats: Mapping[str, Any]) -> dict[str, Any] | None:
    """What crawler.health.HealthMonitor concluded of a crawl, from its stats."""
    if "health/status" not in stats:
        return None
    return {
        "status": stats["health/status"],
        "reasons": list(stats.get("health/reasons") or []),
        "stale": bool(stats.get("health/stale")),
        "recorded": bool(stats.get("health/recorded", True)),
    }


def _watch(crawler: Crawler, result: CrawlResult, hook: ProgressHook | None) -> None:
    def emit(event: str, value: Any = None) -> None:
        if hook is not None:
            hook(result.source, event, value)

    def closed(spider: Spider, reason: str) -> None:
        stats = crawler.stats.get_stats()
        result.status, result.finish_reason = run_outcome(reason, stats)
        result.counts, result.dropped = crawl_counts(stats)
        emit("closed", result)

    crawler.signals.connect(lambda **_: emit("page"), signal=signals.response_received, weak=False)
    crawler.signals.connect(lambda **_: emit("stored"), signal=signals.item_scraped, weak=False)
    crawler.signals.connect(lambda **_: emit("dropped"), signal=signals.item_dropped, weak=False)
    crawler.signals.connect(closed, signal=signals.spider_closed, weak=False)

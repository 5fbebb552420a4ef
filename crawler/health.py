"""Source health: what a healthy crawl looks like, the stats that show it, and the verdict.

A site redesign that silently yields zero releases is how monitors die unnoticed. Each spider
carries its source's expectations (``ReleaseSpider.health``: ``[source.health]``, the model
``crawler.sources.Health``); a spider middleware and a pipeline count what the crawl saw;
at the end of every finished crawl the ``HealthMonitor`` extension turns the counts into
healthy / degraded / broken with reasons, stores it, and raises
monitor events (which the ``monitor`` feed publishes) when it changes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from crawler.database import database_for
from crawler.feed_health import empty_feed_pages, empty_feed_reason, freshness
from crawler.interstitial import REASONS as INTERSTITIAL_REASONS
from crawler.items import ReleaseItem
from crawler.pages.fields import is_fallback
from crawler.sources import Health
from storage.health import BROKEN, DEGRADED, HEALTHY, publishing_rhythm, record_health

logger = logging.getLogger(__name__)


@dataclass
class Verdict:
    status: str = HEALTHY
    reasons: list[str] = field(default_factory=list)

    def worsen(self, status: str, reason: str) -> None:
        if status == BROKEN or self.status == HEALTHY:
            self.status = status
        self.reasons.append(reason)


#: A field whose share of releases filled by a fallback stage reaches this has drifted.
DRIFT_SHARE = 0.5
#: Fewer releases than this say nothing about drift.
DRIFT_MIN_RELEASES = 2


def evaluate(stats: Mapping[str, Any], expect: Health, promised: Iterable[str] = ()) -> Verdict:
    """The health of one finished crawl, from its stats. ``promised`` are the fields the
    source's own selectors are meant to fill (``DetailPage.promised``): when most releases
    needed a fallback for one, the selectors have drifted from the site's markup."""
    verdict = Verdict()
    list_pages = stats.get("health/list_pages", 0)
    not_modified = stats.get("incremental/not_modified", 0)
    failures = _failures(stats)
    if list_pages == 0 and not_modified == 0:
        detail = f" ({failures})" if failures else ""
        verdict.worsen(BROKEN, f"no list page could be fetched{detail}")
        return verdict
    if reason := empty_feed_reason(stats):
        verdict.worsen(BROKEN, reason)
    # A feed without entries is explained above, not a selector that matched nothing.
    empty = stats.get("health/empty_list_pages", 0) - empty_feed_pages(stats)
    if empty > 0:
        url = stats.get("health/empty_list_page_url", "")
        verdict.worsen(BROKEN, f"list page matched no releases (selector?): {url}".strip())
    first = stats.get("health/first_page_items")
    if first is not None and 0 < first < expect.min_first_page_items:
        verdict.worsen(
            DEGRADED,
            f"first list page shows {first} releases, expected at least "
            f"{expect.min_first_page_items}",
        )
    seen = stats.get("health/releases", 0)
    for name in expect.required_fields if seen else ():
        coverage = stats.get(f"health/field/{name}", 0) / seen
        if coverage < expect.min_field_coverage:
            verdict.worsen(
                DEGRADED,
                f"field {name!r} present in {coverage:.0%} of {seen} releases, expected "
                f"{expect.min_field_coverage:.0%}",
            )
    if stats.get("list/discovery/pages"):
        verdict.worsen(
            DEGRADED,
            f"{stats.get('list/discovery/problem') or 'list selectors matched nothing'} "
            f"({stats.get('list/discovery/pages')} list page(s), "
            f"{stats.get('list/discovery/links', 0)} release links discovered)",
        )
    if stats.get("list/other_publishers"):
        verdict.worsen(
            DEGRADED,
            f"{stats.get('list/other_publishers')} of {stats.get('list/items', 0)} items on "
            "the list pages were other publishers' (dropped): the list URL's agency filter "
            "looks ignored",
        )
    if stats.get("list/start/configured_empty") and stats.get("list/start/discovered"):
        verdict.worsen(
            DEGRADED,
            "the configured list URL listed nothing; the list was found through the menu "
            f"at {stats.get('list/start/discovered')}",
        )
    for reason in drift(stats, promised):
        verdict.worsen(DEGRADED, reason)
    if reason := interstitial_reason(stats):
        verdict.worsen(DEGRADED, reason)
    requested = stats.get("health/detail_requests", 0)
    failed = failure_count(stats)
    if requested and failed / requested > expect.max_failure_ratio:
        verdict.worsen(DEGRADED, f"{failed} of {requested} page requests failed ({failures})")
    return verdict


def interstitial_reason(stats: Mapping[str, Any]) -> str | None:
    """Release pages the site answered with a login, maintenance, error or boilerplate page
    (dropped by ``InterstitialPipeline``): the site is not serving its releases."""
    served = {r: stats.get(f"releases/dropped/{r}", 0) for r in INTERSTITIAL_REASONS}
    served = {reason: count for reason, count in served.items() if count}
    if not served:
        return None
    kinds = ", ".join(f"{reason} ×{count}" for reason, count in sorted(served.items()))
    return (
        f"{sum(served.values())} release page(s) answered with a page that is no release "
        f"({kinds}): not stored, fetched again by the next crawl"
    )


def drift(stats: Mapping[str, Any], promised: Iterable[str]) -> list[str]:
    """Fields that most of the run's releases got from a fallback stage, with the stages."""
    seen = stats.get("health/releases", 0)
    if seen < DRIFT_MIN_RELEASES:
        return []
    reasons = []
    for field_name in promised:
        prefix = f"fields/{field_name}/"
        fallbacks = {
            key[len(prefix) :]: count
            for key, count in stats.items()
            if key.startswith(prefix) and is_fallback(key[len(prefix) :])
        }
        used = sum(fallbacks.values())
        if used and used / seen >= DRIFT_SHARE:
            stages = ", ".join(f"{stage} {count}" for stage, count in sorted(fallbacks.items()))
            reasons.append(
                f"field {field_name!r} needed a fallback in {used} of {seen} releases "
                f"({stages}): the source's selectors may have drifted; run stnews doctor"
            )
    return reasons


def failure_count(stats: Mapping[str, Any]) -> int:
    http = sum(
        count
        for key, count in stats.items()
        if key.startswith("downloader/response_status_count/") and key.rsplit("/", 1)[1] >= "400"
    )
    return (
        http
        - stats.get("robotstxt/response_status_count/404", 0)
        + stats.get("downloader/exception_count", 0)
    )


def _failures(stats: Mapping[str, Any]) -> str:
    parts = [
        f"HTTP {key.rsplit('/', 1)[1]} ×{count}"
        for key, count in sorted(stats.items())
        if key.startswith("downloader/response_status_count/") and key.rsplit("/", 1)[1] >= "400"
    ]
    for key, count in sorted(stats.items()):
        if key.startswith("downloader/exception_type_count/"):
            parts.append(f"{key.rsplit('.', 1)[-1]} ×{count}")
    return ", ".join(parts)


class ListHealthMiddleware:
    """Spider middleware counting what each list page yields, before anything filters it."""

    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ListHealthMiddleware:
        return cls(crawler)

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        outputs = list(result)
        self._count(response, outputs)
        yield from outputs

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        outputs = [output async for output in result]
        self._count(response, outputs)
        for output in outputs:
            yield output

    def _count(self, response: Response, outputs: list[Any]) -> None:
        details = sum(1 for o in outputs if isinstance(o, Request) and o.meta.get("listing"))
        self.stats.inc_value("health/detail_requests", details)
        if not response.meta.get("list_page"):
            return
        self.stats.inc_value("health/list_pages")
        if response.meta.get("depth", 0) == 0:
            self.stats.set_value("health/first_page_items", details)
        if details == 0:
            self.stats.inc_value("health/empty_list_pages")
            self.stats.set_value("health/empty_list_page_url", response.url)


class FieldCoveragePipeline:
    """Counts which required fields each normalized release has (before validation drops)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> FieldCoveragePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, ReleaseItem):
            # Looked up once an item: each look-up of a stats method goes through Scrapy's
            # ``StatsCollector.__getattribute__`` (issue 19: half of this step's time).
            count = self.crawler.stats.inc_value
            count("health/releases")
            expectations = _expectations(self.crawler)
            for name in expectations.required_fields:
                if item.get(name):
                    count(f"health/field/{name}")
            for name, stage in (item.get("field_stages") or {}).items():
                count(f"fields/{name}/{stage}")
        return item


def _expectations(crawler: Crawler) -> Health:
    return getattr(crawler.spider, "health", None) or Health()


class HealthMonitor:
    """Extension: judge every finished crawl and record the source's health."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HealthMonitor:
        if not crawler.settings.get("DATABASE_URL"):
            raise NotConfigured
        monitor = cls(crawler)
        crawler.signals.connect(monitor.spider_closed, signal=signals.spider_closed)
        return monitor

    def spider_closed(self, spider: Any, reason: str) -> None:
        if reason != "finished":  # an interrupted crawl says nothing about the site
            return
        expectations = getattr(spider, "health", None)
        if expectations is None:  # not a release source
            return
        stats = self.crawler.stats.get_stats()
        detail_page = getattr(spider, "detail_page", None)
        promised = detail_page.promised() if detail_page is not None else ()
        verdict = evaluate(stats, expectations, promised)
        now = datetime.now(UTC)
        declared = (
            timedelta(days=expectations.max_quiet_days) if expectations.max_quiet_days else None
        )
        # A replay of saved pages says how the code reads those pages, not how the site is:
        # it reports its verdict (in the stats, and so in `crawl --json`) and records none.
        settings = self.crawler.settings
        replay = bool(settings.get("REPLAY_DIR")) and not settings.getbool(
            "STNEWS_HEALTH_FROM_REPLAY"
        )
        database = database_for(self.crawler.settings["DATABASE_URL"])
        with database.session(readonly=replay) as session:
            rhythm = publishing_rhythm(session, spider.name)
            stale = rhythm.is_stale(now, declared=declared)
            # A feed source: its newest entry says whether the feed froze or the source is
            # quiet (crawler/feed_health.py).
            feed = freshness(stats, rhythm.quiet_limit(declared), now)
            if feed.stopped:
                verdict.worsen(DEGRADED, feed.stopped)
            stale = stale or bool(feed.quiet)
            events = [] if replay else record_health(
                session, spider.name, verdict.status, verdict.reasons, stale, feed.quiet
            )
        self.crawler.stats.set_value("health/status", verdict.status)
        self.crawler.stats.set_value("health/reasons", list(verdict.reasons))
        self.crawler.stats.set_value("health/stale", stale)
        self.crawler.stats.set_value("health/recorded", not replay)
        for event in events:
            log = logger.warning if event.kind in (BROKEN, DEGRADED, "stale") else logger.info
            log("source %s: %s: %s", spider.name, event.kind, event.message)

"""Scrapy extensions: the crawl-run record every crawl leaves in the database, and the
collector's policy while a crawl runs."""

from __future__ import annotations

import gc
import logging

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.config import setting
from crawler.database import database_for
from crawler.pipelines import DROPPED
from storage.runs import finish_run, mark_interrupted, start_run

logger = logging.getLogger(__name__)

# Scrapy close reasons and how the run is recorded.
RUN_STATUS = {"finished": "finished", "shutdown": "interrupted", "cancelled": "interrupted"}
#: A crawl that ran to its end but could not store everything it read.
INCOMPLETE = "incomplete"
#: Stats of releases and pages read but lost by the store.
STORAGE_LOSSES = (f"{DROPPED}/storage-error", "pages/dropped/storage-error")


def run_outcome(reason: str, stats: dict) -> tuple[str, str]:
    """(status, finish reason) of a crawl that closed for ``reason``: "finished" only when it
    also stored everything it read; else "incomplete", so that the next crawl does not trust
    its shortcuts (see crawler/incremental.py) and the command exits 1."""
    status = RUN_STATUS.get(reason, "failed")
    lost = sum(int(stats.get(name, 0)) for name in STORAGE_LOSSES)
    if status == "finished" and lost:
        return INCOMPLETE, f"{lost} release(s) or page(s) read but not stored"
    return status, reason


def crawl_counts(stats: dict) -> tuple[dict[str, int], dict[str, int]]:
    """Run counters and dropped-by-reason counts from a crawler's stats."""
    counts = {
        "pages": stats.get("response_received_count", 0) - stats.get("robotstxt/response_count", 0),
        "new": stats.get("releases/new", 0),
        "updated": stats.get("releases/updated", 0),
        "unchanged": stats.get("releases/unchanged", 0),
        "duplicates": stats.get("releases/duplicate", 0),
        # Incremental crawling: known releases whose list entry showed no change, and list
        # pages answered 304 Not Modified.
        "skipped": stats.get("incremental/detail_skipped", 0),
        "not_modified": stats.get("incremental/not_modified", 0),
        # Monitored static pages: a new version of the main text was stored.
        "page_versions": stats.get("pages/new_version", 0) + stats.get("pages/baseline", 0),
        "errors": stats.get("log_count/ERROR", 0) + stats.get("spider_exceptions/count", 0),
    }
    prefix = f"{DROPPED}/"
    dropped = {k[len(prefix) :]: v for k, v in stats.items() if k.startswith(prefix)}
    return counts, dropped


class CrawlRunRecorder:
    """Records each crawl as a row in ``crawl_runs``: started, finished, outcome, counts."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlRunRecorder:
        if not crawler.settings.get("DATABASE_URL"):
            raise NotConfigured
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        database = database_for(self.crawler.settings["DATABASE_URL"])
        trigger = setting(self.crawler.settings, "STNEWS_TRIGGER")
        with database.session() as session:
            interrupted = mark_interrupted(session)
            self.run_id = start_run(session, spider.name, trigger)
        if interrupted:
            logger.warning("recorded %d earlier run(s) as interrupted", interrupted)

    def spider_closed(self, spider: Spider, reason: str) -> None:
        self.finish(*run_outcome(reason, self.crawler.stats.get_stats()))

    def finish(self, status: str, reason: str) -> None:
        """Close the run's row once, with the counts the crawl reached."""
        if self.run_id is None:
            return
        run_id, self.run_id = self.run_id, None
        counts, dropped = crawl_counts(self.crawler.stats.get_stats())
        database = database_for(self.crawler.settings["DATABASE_URL"])
        with database.session() as session:
            finish_run(session, run_id, status, counts, dropped, finish_reason=reason)


#: Net container allocations between two young collections while a crawl runs (Python's
#: default: 700). A crawl allocates and frees many short-lived containers per page (items,
#: selectors, Deferreds); at 700 the young generation was collected some 1,400 times in a
#: 300-release bench crawl, for 0.4-0.5 s of CPU; at 10,000 about 35 times, for 0.1 s
#: (issue 19). Cyclic garbage waits at most that many allocations longer (a few MB).
YOUNG_THRESHOLD = 10_000


class CollectorPolicy:
    """While any crawl of this process runs: what start-up built is frozen, and young
    collections are rarer (``YOUNG_THRESHOLD``); both undone when the last crawl closes.

    Start-up (modules, Scrapy's and SQLAlchemy's objects, the classifier's tables: some
    170,000 objects) stays for the whole crawl: frozen, the collector no longer walks it again
    and again (on a 300-release bench crawl, 0.70 -> about 0.35 s of CPU; a collection first,
    to leave start-up's garbage out, cost more than it saved). Registered as an extension, so
    that every crawl has it, with or without item pipelines; it runs at ``spider_opened``,
    after the pipelines' ``open_spider`` loaded the classifier. Thawed at the end: whatever
    became garbage meanwhile is collected then."""

    #: Crawls of this process that are open (the runner may run several at once).
    open_crawls = 0
    saved_threshold: tuple[int, int, int] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CollectorPolicy:
        extension = cls()
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        cls = CollectorPolicy
        cls.open_crawls += 1
        if cls.open_crawls == 1:
            cls.saved_threshold = gc.get_threshold()
            gc.freeze()
            young, *older = cls.saved_threshold
            gc.set_threshold(max(young, YOUNG_THRESHOLD), *older)

    def spider_closed(self, spider: Spider) -> None:
        cls = CollectorPolicy
        cls.open_crawls = max(cls.open_crawls - 1, 0)
        if cls.open_crawls == 0 and cls.saved_threshold is not None:
            gc.set_threshold(*cls.saved_threshold)
            cls.saved_threshold = None
            gc.unfreeze()


FORCED_SHUTDOWN = "forced shutdown"


def record_forced_shutdown(crawler: Crawler) -> None:
    """Close the run row of a crawl whose spider never closed.

    A second SIGINT/SIGTERM makes Scrapy stop the reactor at once, without spider_closed;
    the run is then recorded as interrupted here, when the process regains control, rather
    than left "running" until another crawl on this host notices the process is gone.
    """
    for extension in crawler.extensions.middlewares:
        if isinstance(extension, CrawlRunRecorder):
            extension.finish("interrupted", FORCED_SHUTDOWN)

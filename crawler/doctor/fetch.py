"""Fetching what the doctor looks at: one source's entry pages and a few of its releases.

The pages come through Scrapy's downloader with the project's middlewares (robots.txt,
politeness, retries, TLS, network safety; the replay when ``REPLAY_DIR`` is set, the recorder
when ``RECORD_DIR`` is), but with no item pipeline, no incremental skipping and no crawl-run
or health recording: the doctor only looks.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urljoin

from scrapy import Request
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.settings import Settings

from crawler.pages import ListEntry
from crawler.pages.listing import find_list_url
from crawler.pages.page import is_page
from crawler.release_spider import SourceSpider, source_metadata
from crawler.sources import SourceConfig

#: Settings of a doctor run: nothing that reads or writes the database.
LOOK_ONLY: dict[str, Any] = {
    "ITEM_PIPELINES": {},
    "EXTENSIONS": {
        "crawler.extensions.CrawlRunRecorder": None,
        "crawler.health.HealthMonitor": None,
    },
    "SPIDER_MIDDLEWARES": {
        "crawler.incremental.IncrementalListMiddleware": None,
        "crawler.attachments.AttachmentBodyMiddleware": None,
        "crawler.health.ListHealthMiddleware": None,
    },
    "DOWNLOADER_MIDDLEWARES": {"crawler.incremental.ConditionalListMiddleware": None},
    "INCREMENTAL_ENABLED": False,
    "LOG_LEVEL": "WARNING",
}


@dataclass
class Fetched:
    role: str  # "discovery", "list", "feed", "detail", "page"
    response: Response
    entry: ListEntry | None = None


@dataclass
class FetchResult:
    source: str
    pages: list[Fetched] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def of(self, role: str) -> list[Fetched]:
        return [page for page in self.pages if page.role == role]


class DoctorSpider(SourceSpider):
    """Fetches a source's entry pages and its first ``details`` releases."""

    custom_settings: dict[str, Any] = {}

    def __init__(self, *args: Any, details: int = 3, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.details = details
        self.followed = 0
        self.result = FetchResult(self.name)

    async def start(self) -> AsyncIterator[Request]:
        config: SourceConfig = self.source_config
        if config.kind == "feed":
            for url in self.start_urls:
                yield Request(url, callback=self.parse_feed, errback=self.failed,
                              dont_filter=True)  # fmt: skip
            if config.feed and config.feed.check_page:
                yield Request(config.feed.check_page, callback=self.parse, errback=self.failed,
                              dont_filter=True)  # fmt: skip
            return
        if config.kind == "page":
            for url in self.start_urls:
                yield Request(url, callback=self.parse_page, errback=self.failed, dont_filter=True)
            return
        if config.discover is not None:
            yield Request(str(config.discover.page), callback=self.parse_discovery,
                          errback=self.failed, dont_filter=True)  # fmt: skip
        for url in self.start_urls:
            yield Request(url, callback=self.parse, errback=self.failed, dont_filter=True)

    def failed(self, failure: Any) -> None:
        request = failure.request
        self.result.problems.append(f"{request.url}: {failure.getErrorMessage()}")

    def _keep(self, role: str, response: Response, entry: ListEntry | None = None) -> None:
        if response.status >= 400:
            self.result.problems.append(f"{response.url}: HTTP {response.status}")
        self.result.pages.append(Fetched(role, response, entry))

    def parse_discovery(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        self._keep("discovery", response)
        config = self.source_config
        found = None
        if is_page(response) and config.discover is not None:
            found = find_list_url(response, config.discover)
        if found and found not in self.start_urls:
            yield Request(found, callback=self.parse, errback=self.failed, dont_filter=True)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        self._keep("list", response)
        if not is_page(response):
            return
        from crawler.source_registry import page_objects

        list_page, _ = page_objects(self.source_config)
        yield from self._follow(list_page.read(response).entries)

    def parse_feed(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        self._keep("feed", response)
        from spiders.feed_source import read_feed

        content_type = response.headers.get("Content-Type")
        reading = read_feed(response.body, response.url,
                            content_type.decode("latin-1") if content_type else None)  # fmt: skip
        if reading.problem:
            self.result.problems.append(f"{response.url}: feed unusable ({reading.problem})")
        options = self.source_config.feed
        entries = [replace_url(e, response.url) for e in reading.entries]
        if options and options.include_links:
            entries = [e for e in entries if re.search(options.include_links, e.url)]
        if options and options.exclude_links:
            entries = [e for e in entries if not re.search(options.exclude_links, e.url)]
        yield from self._follow(entries)

    def _follow(self, entries: list[ListEntry]) -> Iterator[Request]:
        for entry in entries:
            if self.followed >= self.details:
                return
            self.followed += 1
            yield Request(entry.url, callback=self.parse_detail, errback=self.failed,
                          cb_kwargs={"entry": entry}, dont_filter=True)  # fmt: skip

    def parse_detail(self, response: Response, entry: ListEntry | None = None) -> None:
        self._keep("detail", response, entry)

    def parse_page(self, response: Response, **kwargs: Any) -> None:
        self._keep("page", response)


def replace_url(entry: ListEntry, base: str) -> ListEntry:
    return replace(entry, url=urljoin(base, entry.url))


def fetch(configs: list[SourceConfig], settings: Settings, details: int = 3,
          overrides: Mapping[str, Any] | None = None) -> dict[str, FetchResult]:  # fmt: skip
    """Fetch every source's pages in one Scrapy process; return them per source."""
    for name, value in {**LOOK_ONLY, **dict(overrides or {})}.items():
        if isinstance(value, dict) and value:
            # Component dicts: switch off the named components, keep the others.
            settings.set(name, {**settings.getdict(name), **value}, priority="cmdline")
        else:
            settings.set(name, value, priority="cmdline")
    settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    process = CrawlerProcess(settings)
    spiders = {}
    for config in configs:
        attributes = {**source_metadata(config), "__module__": __name__}
        spidercls = type(f"Doctor_{config.name}", (DoctorSpider,), attributes)
        crawler = process.create_crawler(spidercls)
        spiders[config.name] = crawler
        process.crawl(crawler, details=details)
    process.start()
    return {name: crawler.spider.result for name, crawler in spiders.items()}


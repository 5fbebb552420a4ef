"""Spiders of sources declared as data: ``kind = "html"`` (list and detail pages) and
``kind = "page"`` (static pages monitored for changes).

They know navigation only. What a page says is read by the source's page objects
(``crawler.pages``: the ``[source.list]`` and ``[source.detail]`` selectors, the CMS templates
the source names, then discovery and generic extraction), which the registry
(``crawler.source_registry``) gives every source; a site with code names its own page-object
classes on a subclass.

Navigation of an html source:

1. Its list: the configured ``start_urls``; without them (or when they list nothing) the list
   is found on the ``[source.discover]`` page, by the text of the menu link that leads to it.
2. Each list page: one request per release it lists, then the next list page while pages
   keep listing releases not seen before.
3. Each detail page: one release, whatever the page gave; validation drops an incomplete one
   with a counted reason.

Stats the health check reads: ``list/discovery/pages`` and ``list/discovery/links`` (list
pages read by discovery), ``list/start/discovered`` (the list URL came from the discovery page),
``list/start/discovery_failed``, ``fields/<field>/<stage>`` (counted by the coverage pipeline).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

from scrapy import Request
from scrapy.http import Response

from crawler.items import PageSnapshotItem, ReleaseItem
from crawler.pages import ListEntry
from crawler.pages.listing import find_list_url
from crawler.pages.page import is_page
from crawler.pages.snapshot import read_snapshot
from crawler.release_spider import LIST_PAGE, ReleaseSpider, SourceSpider, listing
from crawler.sources import SourceConfig


def entry_request(entry: ListEntry, callback: Any) -> Request | None:
    """The request for one listed release, or None for a URL a request cannot be made of
    (counted by the caller): one bad link never costs the rest of the page."""
    try:
        return Request(
            entry.url,
            callback=callback,
            cb_kwargs={"entry": entry_dict(entry)},
            meta=listing(entry.native_id, entry.title, entry.date),
        )
    except ValueError:
        return None


def entry_dict(entry: ListEntry) -> dict[str, Any]:
    return {key: value for key, value in vars(entry).items() if value is not None}


def entry_of(data: dict[str, Any] | None) -> ListEntry | None:
    return ListEntry(**data) if data else None


class ConfiguredSpider(ReleaseSpider):
    """An ``html`` source: list pages, then detail pages (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config = self.source_config
        if config is None:
            raise ValueError(
                f"{type(self).__name__} needs a source: use the class the registry builds for "
                "it (crawler.source_registry.spider_classes)"
            )
        self.config: SourceConfig = config
        self.list_page, self.detail_page = self.page_objects(config)
        self.extractor_version = f"{self.extractor_version}.{_digest(config)}"
        self.seen_entries: set[str] = set()
        self.discovery_tried = False

    # --- Finding the list ---------------------------------------------------------------------

    def start_points(self) -> list[str]:
        """Where a crawl round starts: the configured lists, else the discovery page."""
        if self.start_urls:
            return list(self.start_urls)
        return [str(self.config.discover.page)] if self.config.discover else []

    def start_request_for(self, url: str) -> Request:
        """The request a round starts with for one of ``start_points`` (also what a
        Redis-fed worker makes of a start message)."""
        discover = self.config.discover
        if discover is not None and url == str(discover.page) and url not in self.start_urls:
            self.discovery_tried = True
            return Request(url, callback=self.parse_discovery, dont_filter=True)
        return Request(url, dont_filter=True, meta=LIST_PAGE)

    async def start(self) -> AsyncIterator[Request]:
        for url in self.start_points():
            yield self.start_request_for(url)

    def discovery_request(self) -> Request | None:
        """The request for the page whose menu leads to the list, once per crawl."""
        if self.config.discover is None or self.discovery_tried:
            return None
        return self.start_request_for(str(self.config.discover.page))

    def parse_discovery(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        stats = self.stats
        found = (
            find_list_url(response, self.config.discover)
            if is_page(response) and self.config.discover
            else None
        )
        if found is None:
            stats.inc_value("list/start/discovery_failed")
            self.logger.error(
                "%s: no link to the list found on %s (link text %s)",
                self.name, response.url, self.config.discover.link_text if self.config.discover
                else "?",
            )  # fmt: skip
            return
        stats.set_value("list/start/discovered", found)
        self.logger.info("%s: list discovered on %s: %s", self.name, response.url, found)
        yield Request(found, callback=self.parse, dont_filter=True, meta=LIST_PAGE)

    # --- List pages ---------------------------------------------------------------------------

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        """A list page: one request per release, then the next list page."""
        if not is_page(response):
            return
        stats = self.stats
        reading = self.list_page.read(response)
        self.note_list_reading(reading, response.url)
        new = 0
        for entry in reading.entries:
            request = entry_request(entry, self.parse_detail)
            if request is None:
                stats.inc_value("list/bad_link")
                self.logger.warning("%s: unusable release link %r on %s",
                                    self.name, entry.url, response.url)  # fmt: skip
                continue
            new += entry.url not in self.seen_entries
            self.seen_entries.add(entry.url)
            yield request
        # The configured list shows nothing: perhaps it moved; its menu link tells.
        first_page = response.meta.get("depth", 0) == 0
        listed_nothing = not reading.entries and not reading.other_publishers
        if listed_nothing and first_page and (request := self.discovery_request()):
            stats.inc_value("list/start/configured_empty")
            yield request
        # Pagers that answer past the end repeat the last page: stop when nothing is new.
        if new:
            for url in reading.next_pages:
                yield Request(url, callback=self.parse, meta=LIST_PAGE)

    # --- Detail pages -------------------------------------------------------------------------

    def parse_detail(
        self, response: Response, entry: dict[str, Any] | None = None, **kwargs: Any
    ) -> Iterator[ReleaseItem]:
        """One release page: always one item; validation drops incomplete ones."""
        listed = entry_of(entry)
        if not is_page(response):  # not a page at all: validation counts it
            yield self.release_item(
                response,
                native_id=listed.native_id if listed else None,
                title=listed.title if listed else None,
            )
            return
        fields = self.detail_page.read(response, listed)
        yield self.fields_item(response, fields)


class ConfiguredPageSpider(SourceSpider):
    """A ``page`` source: each start URL, fetched in full on every crawl, gives one snapshot
    of its main text (``crawler.pages.snapshot``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.source_config is None:
            raise ValueError(
                f"{type(self).__name__} needs a source: use the class the registry builds"
            )

    async def start(self) -> AsyncIterator[Request]:
        # No conditional requests: a changed visit counter alone changes a page's ETag.
        for url in self.start_urls:
            yield Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[PageSnapshotItem]:
        """One snapshot of a monitored page."""
        if not is_page(response):
            return
        snapshot = read_snapshot(response, self.source_config)
        if snapshot.stage != "selectors":
            self.stats.inc_value(f"pages/fallback/{snapshot.stage}")
        yield PageSnapshotItem(
            source=self.name,
            url=response.url,
            title=snapshot.title or response.url,
            text="\n\n".join(snapshot.paragraphs),
            language=self.language,
            agency=self.agency,
            agency_country=self.agency_country,
            fetched_at=datetime.now(UTC),
            raw_body=response.body,
        )


def _digest(config: SourceConfig) -> str:
    """Short hash of what decides a configured source's extraction: editing its selectors
    changes the extractor version, so releases read with the old ones can be found."""
    reading = {
        "list": config.listing.model_dump() if config.listing else None,
        "detail": config.detail.model_dump() if config.detail else None,
        "templates": [template.model_dump() for template in config.templates],
        "date_formats": config.date_formats,
    }
    encoded = json.dumps(reading, sort_keys=True).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()[:8]

"""Base classes for the spiders of the sources declared in ``sources.toml``.

A source's metadata (name, agency, country, language, time zone, start URLs, allowed domains,
health expectations) lives in the sources file, not in spider code. The registry
(``crawler.source_registry``) gives each source a subclass carrying it as class attributes;
a site's code class, used directly (tests, ``redis_spider_class``), reads the same values
from the file entry that names it (``spider = "module:Class"``). Everything a spider does
not know (normalizing, deduplicating, storing) happens in pipelines.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy import Request
from scrapy.http import Response

from crawler.items import ReleaseItem
from crawler.pages import DetailPage, ListPage, ListReading, ReleaseFields
from crawler.sources import Health, SourceConfig, cached_sources

#: Request meta marking a list page (paged, conditionally re-requested).
LIST_PAGE: dict[str, Any] = {"list_page": True}


def listing(native_id: str | None, title: str | None, date: str | None) -> dict[str, Any]:
    """Request meta for a detail request: what the list page shows of the release.

    Incremental crawls compare it with what is stored to skip releases that did not change.
    """
    return {"listing": {"id": native_id, "title": title, "date": date}}


def source_metadata(config: SourceConfig) -> dict[str, Any]:
    """The class attributes a spider of ``config`` carries (see ``SourceSpider``)."""
    return {
        "name": config.name,
        "source_config": config,
        "agency": config.agency,
        "agency_country": config.agency_country,
        "language": config.language,
        "timezone": config.timezone,
        "start_urls": config.start_url_strings,
        "allowed_domains": list(config.allowed_domains),
    }


def spider_path(cls: type) -> str:
    """How the sources file names a class: ``module:QualName``."""
    return f"{cls.__module__}:{cls.__qualname__}"


def source_of(cls: type) -> SourceConfig | None:
    """The sources-file entry of a spider class: the one the registry gave it, else the first
    enabled entry naming it (or a class it derives from) with ``spider = ...``."""
    for klass in cls.__mro__:
        own = vars(klass).get("source_config")
        if isinstance(own, SourceConfig):
            return own
    named = _by_spider(cached_sources())
    for klass in cls.__mro__:
        if (found := named.get(spider_path(klass))) is not None:
            return found
    return None


_by_spider_cache: dict[int, dict[str, SourceConfig]] = {}


def _by_spider(sources: list[SourceConfig]) -> dict[str, SourceConfig]:
    # `cached_sources` returns the same list until the file changes, and keeps it alive.
    if id(sources) not in _by_spider_cache:
        named: dict[str, SourceConfig] = {}
        for source in sources:
            if source.spider and source.enabled:
                named.setdefault(source.spider, source)  # the first entry wins
        _by_spider_cache[id(sources)] = named
    return _by_spider_cache[id(sources)]


class _NoStats:
    """Stats that count nothing, for a spider called outside a crawl."""

    def inc_value(self, *args: Any, **kwargs: Any) -> None:
        pass

    set_value = inc_value

    def get_value(self, key: str, default: Any = None) -> Any:
        return default


_NO_STATS = _NoStats()


class FromSource:
    """A class attribute read from the class's sources-file entry (``default`` without one).

    Registry subclasses shadow it with plain values; instances may assign their own.
    """

    def __init__(self, read: Callable[[SourceConfig], Any], default: Any = None) -> None:
        self.read = read
        self.default = default

    def __get__(self, instance: object, owner: type) -> Any:
        config = source_of(owner)
        if config is None:
            default = self.default
            return list(default) if isinstance(default, list) else default
        return self.read(config)


class SourceSpider(scrapy.Spider):
    """A spider whose metadata comes from the sources file.

    Code classes declare no ``name``: Scrapy lists only the registry's subclasses (one per
    source), so a class two sources share is never listed twice under one name.
    """

    #: None on a code class: its registry subclass, or the instance, gets the source's name.
    name: ClassVar[str | None] = None  # type: ignore[assignment]
    #: The source's validated sources-file entry.
    source_config: ClassVar[SourceConfig | None] = FromSource(lambda config: config)
    #: Name of the publishing agency, as users should see it.
    agency: ClassVar[str] = FromSource(lambda config: config.agency, "")
    #: ISO 3166-1 alpha-2 code of the agency's country.
    agency_country: ClassVar[str] = FromSource(lambda config: config.agency_country, "")
    #: Language of the pages this spider reads (BCP 47).
    language: ClassVar[str] = FromSource(lambda config: config.language, "en")
    #: IANA time zone for dates the pages give without one.
    timezone: ClassVar[str] = FromSource(lambda config: config.timezone, "UTC")
    start_urls: ClassVar[list[str]] = FromSource(lambda config: config.start_url_strings, [])
    allowed_domains: ClassVar[list[str]] = FromSource(
        lambda config: list(config.allowed_domains), []
    )

    @property
    def stats(self) -> Any:
        """The crawl's stats; a spider called outside a crawl (a test, reparse) counts nothing."""
        crawler = getattr(self, "crawler", None)
        return crawler.stats if crawler is not None else _NO_STATS

    def __init__(self, *args: Any, start_url: str | None = None, **kwargs: Any) -> None:
        if not getattr(type(self), "name", None) and kwargs.get("name") is None:
            config = source_of(type(self))
            if config is not None:
                kwargs["name"] = config.name
        super().__init__(*args, **kwargs)
        # `-a start_url=...` points the spider at another copy of the site (a mirror, a local
        # test server); everything else is followed from the pages themselves.
        if start_url:
            self.start_urls = [start_url]
            host = urlsplit(start_url).hostname
            if host and getattr(self, "allowed_domains", None):
                self.allowed_domains = [*self.allowed_domains, host]


class ReleaseSpider(SourceSpider):
    """A spider turning a site's news pages into ReleaseItems.

    It knows navigation only: what its pages say is read by its page objects
    (``crawler.pages``), the same ones ``stnews reparse``, ``extract``, ``check`` and
    ``doctor`` use. A site with code names its own page-object classes here.
    """

    #: What a healthy crawl of this source looks like: its ``[source.health]`` (judged by
    #: crawler/health.py).
    health: ClassVar[Health] = FromSource(lambda config: config.health, Health())
    #: Bump when the spider's extraction changes, so stored releases can be re-extracted.
    extractor_version: ClassVar[str] = "1"
    #: The page objects of this source's list and detail pages.
    list_page_class: ClassVar[type[ListPage]] = ListPage
    detail_page_class: ClassVar[type[DetailPage]] = DetailPage

    @classmethod
    def page_objects(cls, config: SourceConfig | None = None) -> tuple[ListPage, DetailPage]:
        """The source's list and detail page objects (pure: no crawler needed)."""
        config = config or cls.source_config
        if config is None:
            raise ValueError(f"{cls.__name__} has no source: use the registry's class")
        return cls.list_page_class(config), cls.detail_page_class(config)

    async def start(self) -> AsyncIterator[Request]:
        for url in self.start_urls:
            yield Request(url, dont_filter=True, meta=LIST_PAGE)

    def note_list_reading(self, reading: ListReading, url: str) -> None:
        """Counts what health judges of a list page: read by discovery (the selectors missed),
        and items of other publishers dropped (a portal's agency filter ignored)."""
        stats = self.stats
        if reading.bad_links:  # each costs its own entry only (issue 18)
            stats.inc_value("list/bad_link", reading.bad_links)
            self.logger.warning(
                "%s: %d list entries on %s link to no web page (mailto:, tel:, javascript:, "
                "malformed); skipped", self.name, reading.bad_links, url,
            )  # fmt: skip
        if reading.stage == "discovery":
            stats.inc_value("list/discovery/pages")
            stats.inc_value("list/discovery/links", len(reading.entries))
            stats.set_value("list/discovery/problem", reading.problem)
            self.logger.warning("%s: %s", self.name, reading.problem)
        if reading.other_publishers:
            stats.inc_value("list/other_publishers", reading.other_publishers)
            stats.inc_value("list/items", reading.matched)
            self.logger.info(
                "%s: %d of %d items on %s are other publishers' (dropped)",
                self.name, reading.other_publishers, reading.matched, url,
            )  # fmt: skip

    def release_item(self, response: Response, **fields: Any) -> ReleaseItem:
        """A ReleaseItem for a detail page, with source metadata and provenance filled in."""
        item = ReleaseItem(
            source=self.name,
            url=response.url,
            language=self.language,
            agency=self.agency,
            agency_country=self.agency_country,
            home=self.source_config.home_code if self.source_config else self.agency_country,
            timezone=self.timezone,
            attachments=[],
            raw_body=response.body,
            raw_encoding=getattr(response, "encoding", None),
            final_url=response.url,
            requested_url=_first_requested(response),
            http_status=response.status,
            fetched_at=datetime.now(UTC),
            extractor_version=f"{self.name}/{self.extractor_version}",
        )
        for key, value in fields.items():
            if value is not None:
                item[key] = value
        return item

    def fields_item(self, response: Response, fields: ReleaseFields, **extra: Any) -> ReleaseItem:
        """The ReleaseItem of what a detail page object read."""
        return self.release_item(
            response,
            native_id=fields.native_id,
            title=fields.title,
            published_raw=fields.published_raw,
            modified_raw=fields.modified_raw,
            body="\n\n".join(fields.body),
            summary=fields.summary,
            image_url=fields.image_url,
            attachments=[attachment.to_dict() for attachment in fields.attachments],
            contact_org=fields.contact_org,
            extraction=extraction_of(fields),
            field_stages=dict(fields.stages),
            **extra,
        )


def _first_requested(response: Response) -> str | None:
    """The URL first requested, if redirects led to this response (else None)."""
    request = getattr(response, "request", None)
    redirects = request.meta.get("redirect_urls") if request is not None else None
    return redirects[0] if redirects else None


def extraction_of(fields: ReleaseFields) -> str:
    """The release's ``extraction`` (how its body was obtained), from the body's stage."""
    stage = fields.stages.get("body", "selectors")
    return "template" if stage.startswith("template:") else stage

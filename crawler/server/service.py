"""`FeedService`: what every route shares (the database, the document cache, the catalog of
feeds and filters, the templates) and the site's one public address.

The address comes from configuration only: `--base-url`, else the address the server is
bound to (set by crawler.server.run once it listens). The Host header of a request never
reaches a link, a redirect or a cache key (issue 18, item 10): with it, any client could put
its own host into the pages others are served, and rotating it made every request a cache
miss.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from jinja2 import Environment, PackageLoader
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from crawler.server.cache import DocumentCache, VersionProbe
from crawler.server.documents import Document
from crawler.server.filters import Catalog
from storage.db import Database
from storage.health import SourceHealth
from storage.models import CrawlRun, Source
from storage.pages import has_monitored_pages
from storage.queries import present_values

T = TypeVar("T")
#: The site's address when nothing else is known (create_app without a base URL, before a
#: server has bound): `stnews serve`'s default address.
DEFAULT_BASE_URL = "http://127.0.0.1:8080/"


class FeedService:
    """The database, the cache and every builder; `app.state.service` of the application."""

    def __init__(
        self,
        database: Database,
        *,
        base_url: str | None,
        default_limit: int,
        max_limit: int,
        cache_ttl: float,
        hub_url: str | None = None,
    ) -> None:
        if not 1 <= default_limit <= max_limit:
            raise ValueError(f"need 1 <= default_limit <= max_limit, got {default_limit}")
        self.database = database
        #: Whether the address was configured (--base-url) rather than taken from the bind.
        self.base_configured = base_url is not None
        self._base_url = with_slash(base_url or DEFAULT_BASE_URL)
        self.default_limit = default_limit
        self.max_limit = max_limit
        self.cache_ttl = cache_ttl
        self.hub_url = hub_url  # WebSub hub the feeds declare (crawler.feeds.websub)
        probe = VersionProbe(database, interval=min(1.0, cache_ttl / 2))
        self.cache = DocumentCache(probe, cache_ttl)
        self.renders = 0  # documents rendered: what the cache exists to keep low
        self._renders_lock = threading.Lock()
        self.templates = Environment(
            loader=PackageLoader("crawler.server", "templates"),
            autoescape=True,  # every value in the page is scraped text until proven otherwise
            trim_blocks=True,
            lstrip_blocks=True,
        )

    @property
    def base_url(self) -> str:
        """The public address of the site root, with a final slash."""
        return self._base_url

    def bound_to(self, url: str) -> None:
        """The server listens at `url`: the site's address unless one was configured."""
        if not self.base_configured and with_slash(url) != self._base_url:
            self._base_url = with_slash(url)
            self.cache.clear()

    def base(self, request: Request | None = None) -> str:
        """Where the site is; the request is not consulted (see the module's docstring)."""
        return self._base_url

    # --- the cache, from the event loop -------------------------------------------------------

    async def cached(self, key: Hashable, build: Callable[[], tuple[T, int]]) -> T:
        value = self.cache.fresh(key)
        if value is not None:
            return value
        return await run_in_threadpool(self.cache.get, key, build)

    async def document(
        self, key: Hashable, render: Callable[..., Document], *args: Any
    ) -> Document:
        """The cached document under `key`, rendered by `render(*args)` when needed."""
        return await self.cached(key, lambda: self.built(render, *args))

    async def catalog(self) -> Catalog:
        return await self.cached(("catalog",), lambda: (self._read_catalog(), 0))

    def built(self, render: Callable[..., Document], *args: Any) -> tuple[Document, int]:
        document = render(*args)
        with self._renders_lock:
            self.renders += 1
        return document, document.size

    _built = built  # the name crawler.server.data uses

    def render(self, template: str, **values: Any) -> Document:
        """An HTML page from a template, with what every page shows."""
        html = self.templates.get_template(template).render(home_url=self.base_url, **values)
        return Document.html(html)

    def _read_catalog(self) -> Catalog:
        with self.database.session(readonly=True) as session:
            values = present_values(session)
            rows = session.execute(select(Source.name, Source.agency, Source.language))
            agencies, languages = {}, {}
            for name, agency, language in rows:
                agencies[name], languages[name] = agency, language
            reported = set(session.scalars(select(SourceHealth.source)))
            reported |= set(session.scalars(select(CrawlRun.source).distinct()))
            return Catalog(
                values=values,
                agencies=agencies,
                sources=tuple(sorted(agencies)),
                status_names=tuple(sorted(reported | set(agencies))),
                has_pages=has_monitored_pages(session),
                source_languages=languages,
            )


def service_of(request: Request) -> FeedService:
    return request.app.state.service


def with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"

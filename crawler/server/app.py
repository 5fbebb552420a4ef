"""The HTTP application: feeds with query filters, the OPML list, an HTML front page, /healthz.

Every document (feed, OPML, page) is rendered in a worker thread, kept in a `DocumentCache`
with its gzip form, strong ETag and Last-Modified, and answered from memory until the data
changes; see `crawler.server.cache` for when an entry is trusted. Routes:

    GET /                               HTML: subscribe links, latest cooperation, source health
    GET /feeds/{name}.{rss|atom|json}   a feed; filters: partner source topic type language limit;
                                        per=release: one entry per release, not per event
    GET /ledger?partner=FR              HTML: events chained in time (crawler.events.ledger)
    GET /feeds.opml                     every feed file, as `stnews feed` lists them
    GET /healthz                        "ok" when the database answers, else 503

Size: over 600 lines because every route shares the one document cache, catalog and
version probe set up in `create_app`; the markup is in the templates.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from crawler.events import ledger
from crawler.feeds.build import (
    EMPTY_FEED_UPDATED,
    MONITOR_TITLES,
    TAG_PREFIX,
    FeedItem,
    feed_meta,
    item_from_monitor_event,
    item_from_page_version,
    item_from_release,
)
from crawler.feeds.catalog import (
    FORMATS,
    MONITOR,
    OPML_NAME,
    PAGE_CHANGES,
    PER_RELEASE,
    SPECIAL_SPECS,
    content_type,
)
from crawler.feeds.events import collapse, event_groups
from crawler.feeds.labels import humanize, partner_name
from crawler.feeds.sanitize import normalize_space, web_url, xml_safe
from crawler.feeds.write import render_feeds, render_opml
from crawler.server.cache import DocumentCache, VersionProbe
from crawler.server.data import data_routes
from crawler.server.filters import BadRequest, Catalog, FeedRequest, describe, parse_feed_request
from storage.db import Database
from storage.events import list_events
from storage.health import SourceHealth, recent_events
from storage.models import CrawlRun, Release, Source
from storage.pages import has_monitored_pages, latest_changes
from storage.queries import feed_releases, present_values
from storage.status import SourceStatus, source_statuses

T = TypeVar("T")

# Content types of every feed format and document: crawler.feeds.catalog.
MEDIA_TYPES = {name: content_type(name) for name in (*FORMATS, "opml", "html")}
GZIP_MIN_SIZE = 500
LATEST_ON_PAGE = 20
EVENTS_ON_PAGE = 20
MAIN_FEEDS = ("cooperation", PER_RELEASE, "all", PAGE_CHANGES, MONITOR)
# The feeds that are not of releases, titled as the writer titles them (render_feeds).
SPECIAL_TITLES = {name: (spec.title, spec.description) for name, spec in SPECIAL_SPECS.items()}
# Scraped text is escaped; this forbids scripts anyway, should escaping ever be missed.
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)
_FEED_PATH = re.compile(r"(?P<name>[a-z0-9][a-z0-9-]*)\.(?P<fmt>[a-z]+)")


@dataclass(frozen=True)
class Document:
    """A rendered response body with everything a conditional GET needs."""

    body: bytes
    gzipped: bytes | None  # precompressed once, not per request; None when too small
    media_type: str
    etag: str  # strong: a hash of `body` (the identity form)
    last_modified: str | None  # HTTP-date of the newest entry's update
    last_modified_at: datetime | None

    @classmethod
    def make(cls, body: bytes, media_type: str, updated: datetime | None) -> Document:
        digest = hashlib.sha256(body).hexdigest()[:32]
        # mtime=0: the same body always gives the same gzip bytes.
        zipped = gzip.compress(body, 6, mtime=0) if len(body) >= GZIP_MIN_SIZE else None
        if updated is not None:
            updated = updated.astimezone(UTC).replace(microsecond=0)
        return cls(
            body=body,
            gzipped=zipped if zipped is not None and len(zipped) < len(body) else None,
            media_type=media_type,
            etag=f'"{digest}"',
            last_modified=format_datetime(updated, usegmt=True) if updated else None,
            last_modified_at=updated,
        )

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")


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
        self.base_url = _with_slash(base_url) if base_url else None
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

    # --- the cache, from the event loop -------------------------------------------------------

    async def cached(self, key: Hashable, build: Callable[[], tuple[T, int]]) -> T:
        value = self.cache.fresh(key)
        if value is not None:
            return value
        return await run_in_threadpool(self.cache.get, key, build)

    async def catalog(self) -> Catalog:
        return await self.cached(("catalog",), lambda: (self._read_catalog(), 0))

    async def feed(
        self, request: FeedRequest, catalog: Catalog, base: str, per_release: bool = False
    ) -> Document:
        return await self.cached(
            (*request.key, base, per_release),
            lambda: self._built(self._feed, request, catalog, base, per_release),
        )

    async def ledger(self, partner: str | None, base: str) -> Document:
        return await self.cached(
            ("ledger", partner, base), lambda: self._built(self._ledger, partner, base)
        )

    async def opml(self, base: str) -> Document:
        return await self.cached(("opml", base), lambda: self._built(self._opml, base))

    async def page(self, base: str) -> Document:
        catalog = await self.catalog()
        return await self.cached(("page", base), lambda: self._built(self._page, catalog, base))

    def base(self, request: Request) -> str:
        """Where the site is: the configured base URL, else the one the client used."""
        return self.base_url or _with_slash(str(request.base_url))

    # --- builders (worker threads) ------------------------------------------------------------

    def _built(self, render: Callable[..., Document], *args: Any) -> tuple[Document, int]:
        document = render(*args)
        with self._renders_lock:
            self.renders += 1
        return document, document.size

    def _read_catalog(self) -> Catalog:
        with self.database.session(readonly=True) as session:
            values = present_values(session)
            rows = session.execute(select(Source.name, Source.agency, Source.language)).tuples()
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

    def _feed(
        self, request: FeedRequest, catalog: Catalog, base: str, per_release: bool = False
    ) -> Document:
        feeds_base = urljoin(base, "feeds/")
        self_url = urljoin(feeds_base, f"{request.name}.{request.fmt}")
        spec = request.spec
        # Cooperation feeds have one entry per event (crawler.feeds.events); ?per=release
        # gives the releases one by one, as another feed (its own id).
        per_event = spec is not None and spec.cooperation_only and spec.per_event
        per_release = per_release and per_event
        query = "&".join(q for q in (request.query_string(), per_release * "per=release") if q)
        if query:
            self_url += f"?{query}"
        items: list[FeedItem]
        with self.database.session(readonly=True) as session:
            if request.name == PAGE_CHANGES:
                items = [
                    item_from_page_version(version, catalog.agencies.get(version.page.source))
                    for version in latest_changes(session, limit=request.limit)
                ]
            elif request.name == MONITOR:
                items = [
                    item_from_monitor_event(event, feeds_base)
                    for event in recent_events(session, limit=request.limit)
                ]
            else:
                releases = feed_releases(session, limit=request.limit, **request.filters())
                if per_event and not per_release:
                    items = collapse(session, releases, item_from_release)
                else:
                    items = [item_from_release(release) for release in releases]
        if request.spec is None:
            key = request.name
            title, description = SPECIAL_TITLES[request.name]
            language = None
        else:
            spec = request.spec
            key, title, description = spec.key, spec.title, spec.description
            language = spec.language or dict(request.extra).get("language")
        if request.extra:
            # Another selection is another feed: its own id, and a title that says so.
            words = describe(request, catalog)
            key = f"{key}?{request.filter_query()}"
            title = f"{title} ({words})"
            description = f"{description} Only: {words}."
        if per_release:
            key = f"{key}{'&' if '?' in key else '?'}per=release"
            title = f"{title} (one entry per release)"
        meta = feed_meta(
            id=f"{TAG_PREFIX}feed/{key}",
            title=title,
            description=description,
            home_url=feeds_base,
            items=items,
            language=language,
            hub_url=self.hub_url,
        )
        body = FORMATS[request.fmt].render(meta, items, self_url)
        updated = meta.updated if items else None
        return Document.make(body, MEDIA_TYPES[request.fmt], updated)

    def _ledger(self, partner: str | None, base: str) -> Document:
        with self.database.session(readonly=True) as session:
            events = list_events(session, partner=partner, order="occurred")
        chains = ledger.build(events, partner=partner)
        html = self.templates.get_template("ledger.html").render(
            partner=partner,
            partner_name=partner_name(partner) if partner else None,
            home_url=base,
            chains=[_chain_row(chain) for chain in chains],
        )
        return Document.make(html.encode("utf-8"), MEDIA_TYPES["html"], None)

    def _opml(self, base: str) -> Document:
        # The writer's own rendering, so the list is exactly the one `stnews feed` writes.
        feeds_base = urljoin(base, "feeds/")
        documents = render_feeds(
            self.database, feeds_base, self.default_limit, hub_url=self.hub_url
        )
        updated = max((doc.meta.updated for doc in documents), default=EMPTY_FEED_UPDATED)
        body = render_opml(documents, feeds_base)
        return Document.make(body, MEDIA_TYPES["opml"], updated)

    def _page(self, catalog: Catalog, base: str) -> Document:
        feeds_base = urljoin(base, "feeds/")

        def links(name: str) -> dict[str, str]:
            return {f.title: urljoin(feeds_base, f.file_name(name)) for f in FORMATS.values()}

        main, filtered = [], []
        for name in MAIN_FEEDS:
            if name in SPECIAL_TITLES:
                if name != PAGE_CHANGES or catalog.has_pages:
                    main.append({"title": SPECIAL_TITLES[name][0], "links": links(name)})
            else:
                main.append({"title": catalog.specs[name].title, "links": links(name)})
        for name, spec in catalog.specs.items():
            if name not in MAIN_FEEDS:
                filtered.append({"title": spec.title, "links": links(name)})

        with self.database.session(readonly=True) as session:
            releases = feed_releases(session, cooperation_only=True, limit=LATEST_ON_PAGE)
            groups = event_groups(session, releases)
            releases = [
                {**_release_row(group[0]), "also": [_release_row(r) for r in group[1:]]}
                for group in groups
            ]
            # In this page's one read-only transaction (crawler.service.status adds the
            # scheduler's next runs, which the page does not show).
            health = [
                _status_row(status)
                for status in source_statuses(session, list(catalog.status_names))
            ]
            events = [
                {
                    "id": event.id,
                    "title": MONITOR_TITLES.get(event.kind, event.kind),
                    "source": event.source,
                    "message": event.message,
                    "at": event.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
                }
                for event in recent_events(session, limit=EVENTS_ON_PAGE)
            ]
        html = self.templates.get_template("index.html").render(
            main_feeds=main,
            filtered_feeds=filtered,
            opml_url=urljoin(base, OPML_NAME),
            atom_url=urljoin(feeds_base, "cooperation.atom"),
            releases=releases,
            health=health,
            events=events,
        )
        return Document.make(html.encode("utf-8"), MEDIA_TYPES["html"], None)


def _chain_row(chain: ledger.Chain) -> dict[str, Any]:
    return {
        "title": " – ".join(partner_name(code) for code in chain.parties),
        "track": humanize(chain.track),
        "steps": [
            {
                "date": step.date.isoformat() if step.date else "?",
                "what": humanize(step.instrument or step.kind or "cooperation"),
                "ordinal": step.ordinal,
                "links": [
                    {
                        "title": normalize_space(xml_safe(link["title"])) or "(untitled)",
                        "url": web_url(link["url"]),
                        "agency": link["agency"],
                    }
                    for link in step.links
                ],
            }
            for step in chain.steps
        ],
    }


def _release_row(release: Release) -> dict[str, Any]:
    zone = ZoneInfo(release.source.timezone or "UTC")
    return {
        # Shown as stored, minus characters HTML cannot carry; the template escapes it.
        "title": normalize_space(xml_safe(release.title)) or "(untitled)",
        "url": web_url(release.url),  # no javascript: link, whatever the page said
        "agency": release.agency or release.source.agency,
        "date": release.published_at.astimezone(zone).date().isoformat(),
        "partners": [partner_name(code) for code in release.partners or []],
        "topics": [humanize(topic) for topic in release.topics or []],
        "coop_type": humanize(release.coop_type) if release.coop_type else None,
    }


def _status_row(status: SourceStatus) -> dict[str, Any]:
    run = status.last_run
    when = run and (run.finished_at or run.started_at)
    return {
        "source": status.source,
        "agency": status.agency,
        "health": status.health_status,
        "stale": status.stale,
        "since": status.health.since.date().isoformat() if status.health else None,
        "reasons": list(status.health.reasons or []) if status.health else [],
        "releases": status.releases,
        "run_status": run.status if run else None,
        "run_at": when.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if when else None,
    }


# --- responses -------------------------------------------------------------------------------


def document_response(request: Request, document: Document, cache_ttl: float) -> Response:
    headers = {
        "ETag": document.etag,
        "Cache-Control": f"public, max-age={int(cache_ttl)}",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if document.last_modified:
        headers["Last-Modified"] = document.last_modified
    if document.media_type.startswith("text/html"):
        headers["Content-Security-Policy"] = PAGE_CSP
    if not_modified(request, document):
        return Response(status_code=304, headers=headers)
    body = document.body
    if document.gzipped is not None and _accepts_gzip(request.headers.get("accept-encoding", "")):
        # Already compressed: GZipMiddleware leaves a response with Content-Encoding alone.
        body = document.gzipped
        headers["Content-Encoding"] = "gzip"
    headers["Content-Type"] = document.media_type
    return Response(body, headers=headers)


def not_modified(request: Request, document: Document) -> bool:
    """RFC 9110 §13.1: If-None-Match wins; If-Modified-Since counts only without it."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or document.etag in tags  # weak comparison, as 13.1.2 asks
    since = request.headers.get("if-modified-since")
    if since is None or document.last_modified_at is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False  # an unparseable date is ignored, as the RFC says
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return document.last_modified_at <= when


def _accepts_gzip(header: str) -> bool:
    """Whether Accept-Encoding allows gzip: named (or "*") with a q-value above zero."""
    for part in header.lower().split(","):
        coding, *params = (piece.strip() for piece in part.split(";"))
        if coding in ("gzip", "x-gzip", "*"):
            for param in params:
                name, _, value = param.partition("=")
                if name.strip() == "q":
                    try:
                        return float(value) > 0
                    except ValueError:
                        return False
            return True
    return False


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return PlainTextResponse(
        f"{status} {message}\n",
        status_code=status,
        headers={
            **(headers or {}),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# --- routes ----------------------------------------------------------------------------------


def _service(request: Request) -> FeedService:
    return request.app.state.service


async def feed_endpoint(request: Request) -> Response:
    service = _service(request)
    match = _FEED_PATH.fullmatch(request.path_params["filename"])
    if match is None:
        return _no_such_feed(request)
    catalog = await service.catalog()
    query = request.query_params.multi_items()
    per = [value for param, value in query if param == "per"]
    if per not in ([], ["release"], ["event"]):
        return error(400, "Bad Request: per takes one value, release or event")
    try:
        feed_request = parse_feed_request(
            catalog,
            match["name"],
            match["fmt"],
            [(param, value) for param, value in query if param != "per"],
            default_limit=service.default_limit,
            max_limit=service.max_limit,
        )
    except BadRequest as exc:
        return error(400, f"Bad Request: {exc}")
    if feed_request is None:
        return _no_such_feed(request)
    document = await service.feed(
        feed_request, catalog, service.base(request), per_release=per == ["release"]
    )
    return document_response(request, document, service.cache_ttl)


async def ledger_endpoint(request: Request) -> Response:
    service = _service(request)
    partner = request.query_params.get("partner") or None
    unknown = set(request.query_params) - {"partner"}
    if unknown:
        return error(400, f"Bad Request: unknown query parameter {sorted(unknown)[0]!r}")
    if partner is not None and not re.fullmatch(r"[A-Za-z]{2,8}", partner):
        return error(400, "Bad Request: partner is a country or organisation code, e.g. FR")
    document = await service.ledger(partner.upper() if partner else None, service.base(request))
    return document_response(request, document, service.cache_ttl)


async def opml_endpoint(request: Request) -> Response:
    service = _service(request)
    if request.query_params:
        return error(400, "Bad Request: the OPML list takes no query parameters")
    document = await service.opml(service.base(request))
    return document_response(request, document, service.cache_ttl)


async def page_endpoint(request: Request) -> Response:
    service = _service(request)
    document = await service.page(service.base(request))
    return document_response(request, document, service.cache_ttl)


async def front_page_redirect(request: Request) -> Response:
    return RedirectResponse(_service(request).base(request), status_code=308)


async def healthz_endpoint(request: Request) -> Response:
    service = _service(request)
    try:
        await run_in_threadpool(_ping, service.database)
    except (SQLAlchemyError, OSError) as exc:
        return error(503, f"Service Unavailable: database unreachable ({type(exc).__name__})")
    return PlainTextResponse("ok\n", headers={"Cache-Control": "no-store"})


def _ping(database: Database) -> None:
    with database.session(readonly=True) as session:
        session.execute(select(1)).scalar_one()


def _no_such_feed(request: Request) -> Response:
    return error(
        404,
        f"Not Found: no feed at {request.url.path}. Feeds are /feeds/NAME.rss, .atom or .json; "
        "the front page (/) and /feeds.opml list them.",
    )


async def not_found(request: Request, exc: Exception) -> Response:
    return error(404, f"Not Found: {request.url.path}. See / for the feeds.")


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error(exc.status_code, exc.detail, exc.headers)  # keeps Allow on a 405


def create_app(
    database_url: str,
    *,
    base_url: str | None = None,
    default_limit: int = 50,
    max_limit: int = 500,
    cache_ttl: float = 30.0,
    hub_url: str | None = None,
) -> Starlette:
    """The feed server as an ASGI application.

    `base_url` is the public address of the site root (feeds are under `feeds/` below it);
    None takes it from each request. `default_limit` entries per feed unless `?limit=` asks
    for up to `max_limit`. A change in the database is served at most `cache_ttl` seconds
    later; until then requests are answered from memory.
    """
    database = Database(database_url)
    service = FeedService(
        database,
        base_url=base_url,
        default_limit=default_limit,
        max_limit=max_limit,
        cache_ttl=cache_ttl,
        hub_url=hub_url,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        database.dispose()

    app = Starlette(
        routes=[
            Route("/", page_endpoint, methods=["GET"]),
            Route(f"/{OPML_NAME}", opml_endpoint, methods=["GET"]),
            # Where `stnews feed` puts the list, so the server is a drop-in for the files.
            Route(f"/feeds/{OPML_NAME}", opml_endpoint, methods=["GET"]),
            Route("/feeds/{filename}", feed_endpoint, methods=["GET"]),
            # The writer links monitor entries to the feeds' home (base + "#event-N"); the
            # front page holds those anchors.
            Route("/feeds/", front_page_redirect, methods=["GET"]),
            Route("/healthz", healthz_endpoint, methods=["GET"]),
            Route("/ledger", ledger_endpoint, methods=["GET"]),
            # The calendar, the JSON API and CSV (crawler.server.data).
            *data_routes(respond=document_response, make=Document.make, error=error),
        ],
        middleware=[Middleware(GZipMiddleware, minimum_size=GZIP_MIN_SIZE, compresslevel=6)],
        exception_handlers={404: not_found, HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.service = service
    return app


def _with_slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"

"""The HTTP application: feeds with query filters, the OPML list, HTML pages (front page,
search, one page per release, event and partner, the ledger), /healthz.

Every cacheable document is rendered in a worker thread, kept in a `DocumentCache` with its
gzip form, strong ETag and Last-Modified, and answered from memory until the data changes;
see `crawler.server.cache` for when an entry is trusted. The routes are in
`crawler/server/routes/`, one module per kind of document (each module's docstring lists
its paths); what they share is `crawler.server.service.FeedService`.

    GET /healthz    "ok" when the database answers, else 503
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from crawler.server.data import data_routes
from crawler.server.documents import GZIP_MIN_SIZE, Document, document_response, error
from crawler.server.routes import browse, feeds, pages
from crawler.server.service import FeedService, service_of
from storage.db import Database

#: Mounted in this order; a new kind of document is a new module here.
ROUTE_MODULES = (pages, feeds, browse)


async def healthz_endpoint(request: Request) -> Response:
    service = service_of(request)
    try:
        await run_in_threadpool(_ping, service.database)
    except (SQLAlchemyError, OSError) as exc:
        return error(503, f"Service Unavailable: database unreachable ({type(exc).__name__})")
    return PlainTextResponse("ok\n", headers={"Cache-Control": "no-store"})


def _ping(database: Database) -> None:
    with database.session(readonly=True) as session:
        session.execute(select(1)).scalar_one()


async def not_found(request: Request, exc: Exception) -> Response:
    return error(404, f"Not Found: {request.url.path}. See / for the feeds and pages.")


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
    None: the address the server binds to, once `crawler.server.run` starts it (until then,
    or under another ASGI server, `service.DEFAULT_BASE_URL`). Never the Host header.
    `default_limit` entries per feed unless `?limit=` asks for up to `max_limit`. A change
    in the database is served at most `cache_ttl` seconds later; until then requests are
    answered from memory. `hub_url`: the WebSub hub the feeds declare (crawler.feeds.websub).
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

    routes = [route for module in ROUTE_MODULES for route in module.routes()]
    routes.append(Route("/healthz", healthz_endpoint, methods=["GET"]))
    # The calendar, the JSON API and CSV (crawler.server.data).
    routes += data_routes(respond=document_response, make=Document.make, error=error)
    app = Starlette(
        routes=routes,
        middleware=[Middleware(GZipMiddleware, minimum_size=GZIP_MIN_SIZE, compresslevel=6)],
        exception_handlers={404: not_found, HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.service = service
    return app

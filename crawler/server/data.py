"""Data out over HTTP: the calendar, a read-only JSON API with its OpenAPI description, and CSV.

    GET /calendar.ics                  coming events named in cooperation releases (iCalendar);
                                       also /feeds/calendar.ics, where `stnews feed` writes it
    GET /api/releases                  releases as JSON, newest first, with paging
    GET /api/releases.csv              the same selection as CSV (a spreadsheet opens it)
    GET /api/events                    events (one occurrence, its releases), newest first
    GET /api/openapi.json              OpenAPI 3.1 description of the API

Filters are the feeds' own (``partner source topic type language``), validated by
``crawler.server.filters`` (a bad value is a 400 with a message); the API adds
``cooperation=true|any`` (default true, like the filtered feeds), ``limit`` and ``offset``.
Every answer goes through the server's document cache and conditional GET like the feeds.

The application's response helpers are passed in by ``create_app`` (``data_routes``), so this
module needs nothing from ``crawler.server.app`` and no import cycle arises.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode, urljoin

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crawler.feeds.catalog import CALENDAR_NAME, SITE_TITLE, content_type, value_label
from crawler.feeds.export import event_record, release_record, to_csv
from crawler.feeds.ical import calendar_entries, to_ical
from crawler.server.filters import FILTER_PARAMS, VALIDATORS, BadRequest, Catalog
from storage.events import list_events
from storage.models import EventMember
from storage.queries import count_releases, feed_releases

#: Rows one CSV export may hold (a year of every source is a few thousand).
CSV_MAX_ROWS = 10_000
#: How far `offset` may page: deep offsets cost a scan; a crawl's history is far smaller.
MAX_OFFSET = 100_000
API_VERSION = "1"

Respond = Callable[[Request, Any, float], Response]
Make = Callable[[bytes, str, Any], Any]
Error = Callable[..., Response]


def data_routes(*, respond: Respond, make: Make, error: Error) -> list[Route]:
    """The routes, bound to the application's `respond` (conditional GET of a cached
    document), `make` (Document.make) and `error` (a plain-text error response)."""

    def service(request: Request) -> Any:
        return request.app.state.service

    async def serve(request: Request, key: tuple[Any, ...], build: Callable[[], Any]) -> Response:
        svc = service(request)
        document = await svc.cached(key, lambda: svc._built(build))
        return respond(request, document, svc.cache_ttl)

    async def calendar_endpoint(request: Request) -> Response:
        svc = service(request)
        catalog = await svc.catalog()
        try:
            filters = parse_filters(catalog, request.query_params.multi_items(), ())
        except BadRequest as exc:
            return error(400, f"Bad Request: {exc}")
        base = svc.base(request)

        def build() -> Any:
            title = f"{SITE_TITLE}: coming cooperation events"
            if filters:
                title += " (" + ", ".join(_words(k, v, catalog) for k, v in filters.items()) + ")"
            with svc.database.session(readonly=True) as session:
                entries = calendar_entries(session, **filters)
            body = to_ical(entries, title=title, url=base)
            return make(body, content_type("ics"), None)

        return await serve(request, ("calendar", tuple(sorted(filters.items())), base), build)

    async def releases_endpoint(request: Request) -> Response:
        return await _releases(request, csv=False)

    async def releases_csv_endpoint(request: Request) -> Response:
        return await _releases(request, csv=True)

    async def _releases(request: Request, *, csv: bool) -> Response:
        svc = service(request)
        catalog = await svc.catalog()
        query = request.query_params.multi_items()
        try:
            filters = parse_filters(catalog, query, ("cooperation", "limit", "offset"))
            extra = dict(query)
            cooperation = _cooperation(extra.get("cooperation", "true"))
            top = CSV_MAX_ROWS if csv else svc.max_limit
            limit = _integer(extra, "limit", svc.default_limit if not csv else top, 1, top)
            offset = _integer(extra, "offset", 0, 0, MAX_OFFSET)
        except BadRequest as exc:
            return error(400, f"Bad Request: {exc}")
        base = svc.base(request)
        selection = {"cooperation_only": cooperation, **filters}

        def build() -> Any:
            with svc.database.session(readonly=True) as session:
                rows = feed_releases(session, limit=limit, offset=offset, **selection)
                events = _events_of(session, [r.id for r in rows])
                records = [release_record(r, events.get(r.id)) for r in rows]
                total = None if csv else count_releases(session, **selection)
            if csv:
                return make(to_csv(records).encode("utf-8"), content_type("csv"), None)
            params = {**{_param(k): v for k, v in filters.items()}}
            if not cooperation:
                params["cooperation"] = "any"
            page = {
                "items": records,
                "total": total,
                "limit": limit,
                "offset": offset,
                "next": _page_url(base, params, limit, offset + limit)
                if total is not None and offset + limit < total
                else None,
                "previous": _page_url(base, params, limit, max(0, offset - limit))
                if offset
                else None,
            }
            return make(_json(page), content_type("api"), None)

        key = ("api-releases", csv, tuple(sorted(selection.items())), limit, offset, base)
        return await serve(request, key, build)

    async def events_endpoint(request: Request) -> Response:
        svc = service(request)
        catalog = await svc.catalog()
        query = request.query_params.multi_items()
        try:
            allowed = ("partner", "limit", "offset")
            unknown = sorted({p for p, _ in query} - set(allowed))
            if unknown:
                raise BadRequest(
                    f"unknown query parameter {unknown[0]!r}; allowed: {', '.join(allowed)}"
                )
            filters = parse_filters(catalog, query, ("limit", "offset"))
            extra = dict(query)
            limit = _integer(extra, "limit", svc.default_limit, 1, svc.max_limit)
            offset = _integer(extra, "offset", 0, 0, MAX_OFFSET)
        except BadRequest as exc:
            return error(400, f"Bad Request: {exc}")
        partner = filters.get("partner")

        def build() -> Any:
            with svc.database.session(readonly=True) as session:
                views = list_events(session, partner=partner, limit=offset + limit + 1)
            page = views[offset : offset + limit]
            more = len(views) > offset + limit
            params = {"partner": partner} if partner else {}
            base = urljoin(svc.base(request), "api/events")
            body = {
                "items": [event_record(view) for view in page],
                "limit": limit,
                "offset": offset,
                "next": f"{base}?{urlencode({**params, 'limit': limit, 'offset': offset + limit})}"
                if more
                else None,
            }
            return make(_json(body), content_type("api"), None)

        return await serve(
            request, ("api-events", partner, limit, offset, svc.base(request)), build
        )

    async def openapi_endpoint(request: Request) -> Response:
        svc = service(request)
        base = svc.base(request)
        return await serve(
            request,
            ("openapi", base),
            lambda: make(_json(openapi(base, svc.max_limit)), content_type("api"), None),
        )

    return [
        Route(f"/{CALENDAR_NAME}", calendar_endpoint, methods=["GET"]),
        Route(f"/feeds/{CALENDAR_NAME}", calendar_endpoint, methods=["GET"]),
        Route("/api/releases", releases_endpoint, methods=["GET"]),
        Route("/api/releases.csv", releases_csv_endpoint, methods=["GET"]),
        Route("/api/events", events_endpoint, methods=["GET"]),
        Route("/api/openapi.json", openapi_endpoint, methods=["GET"]),
    ]


def parse_filters(
    catalog: Catalog, query: Sequence[tuple[str, str]], extra: Sequence[str]
) -> dict[str, str]:
    """The feeds' filters of a query, as storage.queries keywords; parameters in `extra` are
    left to the caller. Raises BadRequest as the feeds do."""
    allowed = (*FILTER_PARAMS, *extra)
    seen: dict[str, str] = {}
    for param, value in query:
        if param not in allowed:
            raise BadRequest(f"unknown query parameter {param!r}; allowed: {', '.join(allowed)}")
        if param in seen:
            raise BadRequest(f"query parameter {param!r} given more than once")
        if not value.strip():
            raise BadRequest(f"query parameter {param!r} is empty")
        seen[param] = value.strip()
    return {
        FILTER_PARAMS[param]: VALIDATORS[param](catalog, value)
        for param, value in seen.items()
        if param in FILTER_PARAMS
    }


def _param(keyword: str) -> str:
    return next(param for param, kw in FILTER_PARAMS.items() if kw == keyword)


def _words(keyword: str, value: str, catalog: Catalog) -> str:
    kind = {"partner": "partner", "language": "language", "source": "source"}.get(keyword)
    if kind == "source":
        return f"source {catalog.agencies.get(value) or value}"
    return f"{_param(keyword)} {value_label(kind or keyword, value)}"


def _cooperation(raw: str) -> bool:
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("any", "all", "false", "0", "no"):
        return False  # "false" asks for no filter, not for non-cooperation releases only
    raise BadRequest(f"cooperation takes true or any, got {raw!r}")


def _integer(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    if name not in query:
        return default
    try:
        value = int(query[name])
    except ValueError:
        raise BadRequest(f"{name} must be a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be from {low} to {high}, got {value}")
    return value


def _page_url(base: str, params: dict[str, str], limit: int, offset: int) -> str:
    query = urlencode({**params, "limit": limit, "offset": offset})
    return f"{urljoin(base, 'api/releases')}?{query}"


def _events_of(session: Any, ids: list[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        query = select(EventMember.release_id, EventMember.event_id).where(
            EventMember.release_id.in_(ids[start : start + 500])
        )
        found.update(session.execute(query).all())
    return found


def _json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def openapi(base: str, max_limit: int) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the read-only API (and the calendar)."""
    filters = [
        ("partner", "Partner: ISO 3166-1 alpha-2 country (FR, JP) or organisation code (EU)."),
        ("source", "Source name, as `stnews sources` lists them (nstc, msit_ko, ...)."),
        ("topic", "Topic value: ai, 5g, net-zero, semiconductors, ..."),
        ("type", "Cooperation type: agreement, joint-committee, joint-call, ..."),
        ("language", "Language: zh, ko, en, ja (every tag under it) or a full tag (zh-Hant)."),
    ]
    parameters = {
        name: {
            "name": name,
            "in": "query",
            "required": False,
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text in filters
    }
    parameters["cooperation"] = {
        "name": "cooperation",
        "in": "query",
        "description": "true (default): cooperation announcements only; any: every release.",
        "schema": {"type": "string", "enum": ["true", "any"], "default": "true"},
    }
    parameters["limit"] = {
        "name": "limit",
        "in": "query",
        "description": "Items per page.",
        "schema": {"type": "integer", "minimum": 1, "maximum": max_limit},
    }
    parameters["offset"] = {
        "name": "offset",
        "in": "query",
        "description": "Items to skip (see `next` and `previous`).",
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
    }
    ref = {name: {"$ref": f"#/components/parameters/{name}"} for name in parameters}
    release_filters = [ref[n] for n, _ in filters] + [ref["cooperation"]]
    bad = {"description": "A parameter is unknown, repeated or invalid (plain-text message)."}
    string_or_null = {"type": ["string", "null"]}
    release = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "description": "Permanent tag: URI, as in the feeds."},
            "source": {"type": "string"},
            "native_id": string_or_null,
            "url": string_or_null,
            "title": {"type": "string"},
            "published": {"type": "string", "format": "date-time"},
            "modified": string_or_null,
            "updated": {"type": "string", "format": "date-time"},
            "language": {"type": "string"},
            "agency": {"type": "string"},
            "agency_country": {"type": "string"},
            "summary": string_or_null,
            "body": {"type": "string"},
            "image_url": string_or_null,
            "attachments": {"type": "array", "items": {"type": "object"}},
            "is_cooperation": {"type": ["boolean", "null"]},
            "confidence": {"type": ["number", "null"]},
            "partners": {"type": "array", "items": {"type": "string"}},
            "topics": {"type": "array", "items": {"type": "string"}},
            "coop_type": string_or_null,
            "event": {**string_or_null, "description": "The event's tag: URI, if linked."},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{SITE_TITLE} data API",
            "version": API_VERSION,
            "description": "Read-only access to stored S&T cooperation releases and events.",
        },
        "servers": [{"url": base}],
        "paths": {
            "/api/releases": {
                "get": {
                    "summary": "Releases, newest first",
                    "parameters": [*release_filters, ref["limit"], ref["offset"]],
                    "responses": {
                        "200": {
                            "description": "A page of releases.",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/ReleasePage"}
                                }
                            },
                        },
                        "400": bad,
                    },
                }
            },
            "/api/releases.csv": {
                "get": {
                    "summary": "The same selection as CSV",
                    "parameters": [*release_filters, ref["limit"], ref["offset"]],
                    "responses": {
                        "200": {
                            "description": "CSV with a header row.",
                            "content": {"text/csv": {"schema": {"type": "string"}}},
                        },
                        "400": bad,
                    },
                }
            },
            "/api/events": {
                "get": {
                    "summary": "Events (one occurrence and its releases), newest first",
                    "parameters": [ref["partner"], ref["limit"], ref["offset"]],
                    "responses": {
                        "200": {
                            "description": "A page of events.",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        },
                        "400": bad,
                    },
                }
            },
            f"/{CALENDAR_NAME}": {
                "get": {
                    "summary": "Coming events named in releases, as iCalendar",
                    "parameters": [ref[n] for n, _ in filters],
                    "responses": {
                        "200": {
                            "description": "An iCalendar (RFC 5545) file.",
                            "content": {"text/calendar": {"schema": {"type": "string"}}},
                        },
                        "400": bad,
                    },
                }
            },
        },
        "components": {
            "parameters": parameters,
            "schemas": {
                "Release": release,
                "ReleasePage": {
                    "type": "object",
                    "properties": {
                        "items": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/Release"},
                        },
                        "total": {"type": "integer"},
                        "limit": {"type": "integer"},
                        "offset": {"type": "integer"},
                        "next": string_or_null,
                        "previous": string_or_null,
                    },
                },
            },
        },
    }

"""Search and browsing: every release, event and partner has a page; all plain HTML forms and
links, nothing needs JavaScript.

    GET /search?q=&partner=&topic=&type=&source=&language=&since=&until=&scope=all&page=
    GET /releases/{id}      one release: its text, facts, files, and the rest of its event
    GET /events/{id}        one event and its releases (a merged event redirects)
    GET /partners           partners named in cooperation releases
    GET /partners/{code}    one partner: its events and latest releases
"""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any
from urllib.parse import urlencode, urljoin

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from crawler.feeds.catalog import FORMATS
from crawler.feeds.labels import humanize, partner_name
from crawler.server.documents import Document, document_response, error
from crawler.server.filters import VALIDATORS, BadRequest, Catalog
from crawler.server.service import FeedService, service_of
from crawler.server.views import language_name, release_detail, release_row
from storage.browse import (
    Filters,
    browse,
    event_id_of,
    languages_present,
    partner_counts,
    release_by_id,
    releases_by_ids,
    topics_and_types,
)
from storage.events import EventView, events_by_id, list_events, resolve_event_id

PER_PAGE = 20
MAX_PAGE = 500
MAX_QUERY_CHARS = 200
PARTNER_EVENTS = 30
# Form field -> storage.browse.Filters field; validated as the feeds' filters are.
FILTER_FIELDS = {
    "partner": "partner",
    "topic": "topic",
    "type": "coop_type",
    "source": "source",
    "language": "language",
}
_EVENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,40}")


class Problem(ValueError):
    """A search value the page cannot use; shown on the page, with a 400."""


def parse_search(catalog: Catalog, params: Any) -> tuple[dict[str, str], Filters, int]:
    """(the chosen values, as the form shows them; the filters; the page number)."""
    chosen = {
        name: (params.get(name) or "").strip()
        for name in (*FILTER_FIELDS, "since", "until", "scope")
    }
    query = " ".join((params.get("q") or "").split())
    if len(query) > MAX_QUERY_CHARS:
        raise Problem(f"the search words are limited to {MAX_QUERY_CHARS} characters")
    chosen["q"] = query
    values: dict[str, Any] = {}
    for name, keyword in FILTER_FIELDS.items():
        if chosen[name]:
            try:
                values[keyword] = chosen[name] = VALIDATORS[name](catalog, chosen[name])
            except BadRequest as exc:
                raise Problem(str(exc)) from None
    for name in ("since", "until"):
        if chosen[name]:
            try:
                values[name] = date.fromisoformat(chosen[name])
            except ValueError:
                raise Problem(
                    f"{name} must be a date as YYYY-MM-DD, got {chosen[name]!r}"
                ) from None
    if values.get("since") and values.get("until") and values["since"] > values["until"]:
        raise Problem("the start date is after the end date")
    if chosen["scope"] not in ("", "all"):
        raise Problem("scope is 'all' or empty (cooperation only)")
    page_text = (params.get("page") or "1").strip()
    if not page_text.isdigit() or not 1 <= int(page_text) <= MAX_PAGE:
        raise Problem(f"page is a number from 1 to {MAX_PAGE}")
    filters = Filters(query=query, cooperation_only=chosen["scope"] != "all", **values)
    return chosen, filters, int(page_text)


def search_options(service: FeedService, catalog: Catalog) -> dict[str, list[dict[str, str]]]:
    with service.database.session(readonly=True) as session:
        partners = partner_counts(session)
        topics, types = topics_and_types(session)
        languages = languages_present(session)
    return {
        "partners": [{"value": c, "label": f"{partner_name(c)} ({n})"} for c, n in partners],
        "topics": [{"value": t, "label": humanize(t)} for t in topics],
        "types": [{"value": t, "label": humanize(t)} for t in types],
        "sources": [
            {"value": s, "label": f"{s}: {catalog.agencies.get(s) or s}"} for s in catalog.sources
        ],
        "languages": [
            {"value": tag, "label": f"{language_name(tag)} ({tag})"} for tag in languages
        ],
    }


def build_search(
    service: FeedService,
    catalog: Catalog,
    chosen: dict[str, str],
    filters: Filters | None,
    page: int,
    problem: str | None,
) -> Document:
    base = service.base_url
    rows: list[dict[str, Any]] = []
    total = 0
    if filters is not None:
        with service.database.session(readonly=True) as session:
            found = browse(session, filters, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
            rows = [release_row(release) for release in found.releases]
            total = found.total
    pages = max(1, math.ceil(total / PER_PAGE))

    def url(**changes: Any) -> str:
        params = {**chosen, **changes}
        kept = [
            (k, str(v)) for k, v in params.items() if v not in ("", None) and (k, v) != ("page", 1)
        ]
        return urljoin(base, "search") + (f"?{urlencode(kept)}" if kept else "")

    return service.render(
        "search.html",
        query=chosen.get("q", ""),
        chosen=chosen,
        options=search_options(service, catalog),
        releases=rows,
        total=total,
        page=page,
        pages=pages,
        previous_url=url(page=page - 1) if page > 1 else None,
        next_url=url(page=page + 1) if page < pages else None,
        all_url=url(scope="all", page=1),
        problem=problem,
    )


def _event_title(event: EventView) -> str:
    kind = humanize(event.coop_type or "cooperation")
    names = " – ".join(partner_name(code) for code in event.parties) or "partners not named"
    return f"{kind[:1].upper()}{kind[1:]}: {names}"


def _event_dict(event: EventView, releases: list[Any]) -> dict[str, Any]:
    return {
        "id": event.id,
        "title": _event_title(event),
        "parties": [{"code": c, "name": partner_name(c)} for c in event.parties],
        "type": humanize(event.coop_type) if event.coop_type else None,
        "instrument": humanize(event.instrument) if event.instrument else None,
        "ordinal": event.ordinal,
        "date": event.occurred_on.isoformat() if event.occurred_on else None,
        "releases": releases,
    }


def build_release(service: FeedService, release_id: int) -> Document | None:
    with service.database.session(readonly=True) as session:
        release = release_by_id(session, release_id)
        if release is None:
            return None
        detail = release_detail(release)
        event = others = None
        event_id = event_id_of(session, release_id)
        views = events_by_id(session, [event_id]) if event_id else []
        if views:
            ids = [m.release_id for m in views[0].members if m.release_id != release_id]
            others = [release_row(r) for r in releases_by_ids(session, ids)]
            event = _event_dict(views[0], [])
    return service.render("release.html", release=detail, event=event, others=others)


def build_event(service: FeedService, event_id: str) -> Document | None:
    with service.database.session(readonly=True) as session:
        views = events_by_id(session, [event_id])
        if not views:
            return None
        ids = [m.release_id for m in views[0].members]
        releases = [release_row(r) for r in reversed(releases_by_ids(session, ids))]
        event = _event_dict(views[0], releases)
    return service.render("event.html", event=event)


def build_partner(service: FeedService, code: str) -> Document:
    base = service.base_url
    with service.database.session(readonly=True) as session:
        found = browse(session, Filters(partner=code), limit=PER_PAGE)
        events = []
        for view in list_events(session, partner=code, order="occurred", limit=PARTNER_EVENTS):
            events.append(_event_dict(view, list(view.members)))
        releases = [release_row(r) for r in found.releases]
    feed = f"partner-{code.lower()}"
    return service.render(
        "partner.html",
        partner={"code": code, "name": partner_name(code)},
        total=found.total,
        releases=releases,
        events=events,
        search_url=urljoin(base, "search") + "?" + urlencode({"partner": code}),
        feed_links={f.title: urljoin(base, "feeds/" + f.file_name(feed)) for f in FORMATS.values()},
    )


def build_partners(service: FeedService) -> Document:
    with service.database.session(readonly=True) as session:
        counts = partner_counts(session)
    partners = [{"code": c, "name": partner_name(c), "count": n} for c, n in counts]
    partners.sort(key=lambda p: p["name"].casefold())
    return service.render("partners.html", partners=partners)


# --- endpoints -------------------------------------------------------------------------------


async def search_page(request: Request) -> Response:
    service = service_of(request)
    catalog = await service.catalog()
    problem = None
    try:
        chosen, filters, page = parse_search(catalog, request.query_params)
    except Problem as exc:
        problem = f"Cannot search: {exc}."
        chosen = {
            name: (request.query_params.get(name) or "")[:MAX_QUERY_CHARS]
            for name in (*FILTER_FIELDS, "since", "until", "scope", "q")
        }
        filters, page = None, 1
    # Not cached: the queries are endless; rendering is one indexed query and a template.
    document, _ = await run_in_threadpool(
        service.built, build_search, service, catalog, chosen, filters, page, problem
    )
    response = document_response(request, document, service.cache_ttl)
    if problem:
        response.status_code = 400
    return response


async def release_page(request: Request) -> Response:
    service = service_of(request)
    release_id = request.path_params["release_id"]
    document = await service.cached(
        ("release", release_id), lambda: _maybe(service.built, build_release, service, release_id)
    )
    if document is None:
        return error(404, f"Not Found: no release {release_id}. See /search.")
    return document_response(request, document, service.cache_ttl)


async def event_page(request: Request) -> Response:
    service = service_of(request)
    event_id = request.path_params["event_id"]
    if not _EVENT_ID.fullmatch(event_id):
        return error(404, "Not Found: no such event.")

    def live() -> str | None:
        with service.database.session(readonly=True) as session:
            return resolve_event_id(session, event_id)

    current = await run_in_threadpool(live)
    if current is None:
        return error(404, f"Not Found: no event {event_id}. See /ledger.")
    if current != event_id:  # merged into another: that one is the event now
        return RedirectResponse(urljoin(service.base_url, f"events/{current}"), status_code=308)
    document = await service.cached(
        ("event", event_id), lambda: _maybe(service.built, build_event, service, event_id)
    )
    if document is None:
        return error(404, f"Not Found: no event {event_id}. See /ledger.")
    return document_response(request, document, service.cache_ttl)


async def partner_page(request: Request) -> Response:
    service = service_of(request)
    catalog = await service.catalog()
    raw = request.path_params["code"]
    try:
        code = VALIDATORS["partner"](catalog, raw)
    except BadRequest:
        return error(
            404, f"Not Found: {raw!r} is not a partner code (e.g. FR, JP, EU). See /partners."
        )
    if code != raw:
        return RedirectResponse(urljoin(service.base_url, f"partners/{code}"), status_code=308)
    document = await service.document(("partner", code), build_partner, service, code)
    return document_response(request, document, service.cache_ttl)


async def partners_page(request: Request) -> Response:
    service = service_of(request)
    document = await service.document(("partners",), build_partners, service)
    return document_response(request, document, service.cache_ttl)


def _maybe(built: Any, render: Any, *args: Any) -> tuple[Document | None, int]:
    """`service.built` for a page that may not exist (None is cached too, as size 0)."""
    document = render(*args)
    if document is None:
        return None, 0
    return built(lambda: document)


def routes() -> list[Route]:
    return [
        Route("/search", search_page, methods=["GET"]),
        Route("/releases/{release_id:int}", release_page, methods=["GET"]),
        Route("/events/{event_id}", event_page, methods=["GET"]),
        Route("/partners", partners_page, methods=["GET"]),
        Route("/partners/{code}", partner_page, methods=["GET"]),
    ]

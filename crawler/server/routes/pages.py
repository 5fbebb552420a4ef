"""The front page and the ledger.

GET /                   HTML: latest cooperation, partners, subscribe links, source health
GET /ledger?partner=FR  HTML: events chained in time (crawler.events.ledger)
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from sqlalchemy import func, select, true
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crawler.events import ledger
from crawler.feeds.build import MONITOR_TITLES
from crawler.feeds.catalog import FORMATS, OPML_NAME, PAGE_CHANGES
from crawler.feeds.events import event_groups
from crawler.feeds.labels import partner_name
from crawler.server.documents import Document, document_response, error
from crawler.server.filters import Catalog
from crawler.server.service import FeedService, service_of
from crawler.server.views import (
    MAIN_FEEDS,
    SPECIAL_TITLES,
    chain_row,
    release_row,
    status_row,
    utc_minute,
)
from storage.browse import partner_counts
from storage.events import list_events
from storage.health import recent_events
from storage.models import Release, Source
from storage.queries import feed_releases
from storage.status import source_statuses

LATEST_ON_PAGE = 20
EVENTS_ON_PAGE = 20
PARTNERS_ON_PAGE = 40


def build_front_page(service: FeedService, catalog: Catalog) -> Document:
    base = service.base_url
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

    with service.database.session(readonly=True) as session:
        releases = feed_releases(session, cooperation_only=True, limit=LATEST_ON_PAGE)
        groups = event_groups(session, releases)
        rows = [
            {**release_row(group[0]), "also": [release_row(r) for r in group[1:]]}
            for group in groups
        ]
        # In this page's one read-only transaction (crawler.service.status adds the
        # scheduler's next runs, which the page does not show).
        health = [
            status_row(status) for status in source_statuses(session, list(catalog.status_names))
        ]
        events = [
            {
                "id": event.id,
                "title": MONITOR_TITLES.get(event.kind, event.kind),
                "source": event.source,
                "message": event.message,
                "at": utc_minute(event.created_at),
            }
            for event in recent_events(session, limit=EVENTS_ON_PAGE)
        ]
        partners = [
            {"code": code, "name": partner_name(code), "count": count}
            for code, count in partner_counts(session)[:PARTNERS_ON_PAGE]
        ]
        counts = {
            "releases": session.scalar(select(func.count()).select_from(Release)) or 0,
            "cooperation": session.scalar(
                select(func.count()).select_from(Release).where(Release.is_cooperation == true())
            )
            or 0,
            "sources": session.scalar(select(func.count()).select_from(Source)) or 0,
        }
    return service.render(
        "index.html",
        main_feeds=main,
        filtered_feeds=filtered,
        opml_url=urljoin(base, OPML_NAME),
        atom_url=urljoin(feeds_base, "cooperation.atom"),
        releases=rows,
        health=health,
        events=events,
        partners=partners,
        counts=counts,
    )


def build_ledger(service: FeedService, partner: str | None) -> Document:
    with service.database.session(readonly=True) as session:
        events = list_events(session, partner=partner, order="occurred")
    chains = ledger.build(events, partner=partner)
    return service.render(
        "ledger.html",
        partner=partner,
        partner_name=partner_name(partner) if partner else None,
        chains=[chain_row(chain) for chain in chains],
    )


async def front_page(request: Request) -> Response:
    service = service_of(request)
    catalog = await service.catalog()
    document = await service.document(("page",), build_front_page, service, catalog)
    return document_response(request, document, service.cache_ttl)


async def ledger_page(request: Request) -> Response:
    service = service_of(request)
    partner = request.query_params.get("partner") or None
    unknown = set(request.query_params) - {"partner"}
    if unknown:
        return error(400, f"Bad Request: unknown query parameter {sorted(unknown)[0]!r}")
    if partner is not None and not re.fullmatch(r"[A-Za-z]{2,8}", partner):
        return error(400, "Bad Request: partner is a country or organisation code, e.g. FR")
    code = partner.upper() if partner else None
    document = await service.document(("ledger", code), build_ledger, service, code)
    return document_response(request, document, service.cache_ttl)


def routes() -> list[Route]:
    return [
        Route("/", front_page, methods=["GET"]),
        Route("/ledger", ledger_page, methods=["GET"]),
    ]

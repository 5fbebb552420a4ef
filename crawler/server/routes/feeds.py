"""Feeds with query filters and the OPML list.

GET /feeds/{name}.{rss|atom|json}   a feed; filters: partner source topic type language limit;
                                    per=release: one entry per release, not per event
GET /feeds.opml                     every feed file, as `stnews feed` lists them
GET /feeds/                         308 to the front page (the feeds' home link)
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from crawler.feeds.build import (
    EMPTY_FEED_UPDATED,
    TAG_PREFIX,
    FeedItem,
    feed_meta,
    item_from_monitor_event,
    item_from_page_version,
    item_from_release,
)
from crawler.feeds.catalog import FORMATS, MONITOR, OPML_NAME, PAGE_CHANGES
from crawler.feeds.events import collapse
from crawler.feeds.write import render_feeds, render_opml
from crawler.server.documents import MEDIA_TYPES, Document, document_response, error
from crawler.server.filters import BadRequest, Catalog, FeedRequest, describe, parse_feed_request
from crawler.server.service import FeedService, service_of
from crawler.server.views import SPECIAL_TITLES
from storage.health import recent_events
from storage.pages import latest_changes
from storage.queries import feed_releases

_FEED_PATH = re.compile(r"(?P<name>[a-z0-9][a-z0-9-]*)\.(?P<fmt>[a-z]+)")


def build_feed(
    service: FeedService, request: FeedRequest, catalog: Catalog, per_release: bool = False
) -> Document:
    feeds_base = urljoin(service.base_url, "feeds/")
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
    with service.database.session(readonly=True) as session:
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
        hub_url=service.hub_url,
    )
    body = FORMATS[request.fmt].render(meta, items, self_url)
    updated = meta.updated if items else None
    return Document.make(body, MEDIA_TYPES[request.fmt], updated)


def build_opml(service: FeedService) -> Document:
    # The writer's own rendering, so the list is exactly the one `stnews feed` writes.
    feeds_base = urljoin(service.base_url, "feeds/")
    documents = render_feeds(
        service.database, feeds_base, service.default_limit, hub_url=service.hub_url
    )
    updated = max((doc.meta.updated for doc in documents), default=EMPTY_FEED_UPDATED)
    body = render_opml(documents, feeds_base)
    return Document.make(body, MEDIA_TYPES["opml"], updated)


async def feed_endpoint(request: Request) -> Response:
    service = service_of(request)
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
    per_release = per == ["release"]
    document = await service.document(
        (*feed_request.key, per_release), build_feed, service, feed_request, catalog, per_release
    )
    return document_response(request, document, service.cache_ttl)


async def opml_endpoint(request: Request) -> Response:
    service = service_of(request)
    if request.query_params:
        return error(400, "Bad Request: the OPML list takes no query parameters")
    document = await service.document(("opml",), build_opml, service)
    return document_response(request, document, service.cache_ttl)


async def feeds_home_redirect(request: Request) -> Response:
    # The writer links monitor entries to the feeds' home (base + "#event-N"); the front page
    # holds those anchors. The target is the configured address, never the Host header.
    return RedirectResponse(service_of(request).base_url, status_code=308)


def _no_such_feed(request: Request) -> Response:
    return error(
        404,
        f"Not Found: no feed at {request.url.path}. Feeds are /feeds/NAME.rss, .atom or .json; "
        "the front page (/) and /feeds.opml list them.",
    )


def routes() -> list[Route]:
    return [
        Route(f"/{OPML_NAME}", opml_endpoint, methods=["GET"]),
        # Where `stnews feed` puts the list, so the server is a drop-in for the files.
        Route(f"/feeds/{OPML_NAME}", opml_endpoint, methods=["GET"]),
        Route("/feeds/{filename}", feed_endpoint, methods=["GET"]),
        Route("/feeds/", feeds_home_redirect, methods=["GET"]),
    ]

"""Incremental re-crawls: poll a source at a cost that does not grow with its archive.

Spiders describe what a list page shows of each release (``meta["listing"]``: site id,
title, date) and mark list-page requests (``meta["list_page"]``). Two components use that:

- ``IncrementalListMiddleware`` (spider middleware) drops detail requests for releases the
  database already holds as listed, unless their re-check interval has passed, and stops
  paging once the oldest release on a list page is already known: lists are newest first,
  so every later page holds older, known releases. Pinned entries sit at the top of a page,
  so they do not stop the walk.
- ``ConditionalListMiddleware`` (downloader middleware) sends list-page requests with the
  ETag / Last-Modified of their last full fetch; a 304 means nothing on the page changed.
  Validators are saved only when the crawl finished having stored everything it listed (no
  release dropped, no page request failed), so a 304 can never hide a release that is not
  stored.

Both shortcuts trust the crawl before: stopping at a known release assumes the earlier
crawls walked everything after it. When the previous run of the source did not finish
completely (killed, interrupted, failed, or "incomplete": read releases it could not store),
or was answered with login, maintenance or error pages in place of releases
(``crawler/interstitial.py``), this crawl walks every list page and sends no validators
(stat ``incremental/untrusted``); known releases are still not fetched again.
"""

from __future__ import annotations

import hashlib
import logging
import weakref
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from w3lib.url import canonicalize_url

from crawler.config import setting
from crawler.database import database_for
from crawler.extensions import run_outcome
from crawler.health import failure_count
from crawler.interstitial import REASONS as INTERSTITIAL_REASONS
from crawler.items import ReleaseItem
from crawler.normalize import clean_line
from crawler.pipelines import DROPPED
from storage.releases import known_releases
from storage.runs import previous_run
from storage.validators import get_validators, save_validators

logger = logging.getLogger(__name__)

# Per crawl: may it trust the runs before it (decided once, at its first list page)?
_trusted: weakref.WeakKeyDictionary[Crawler, bool] = weakref.WeakKeyDictionary()


def shortcuts_trusted(crawler: Crawler) -> bool:
    """Whether the previous run of this crawl's source finished completely."""
    if setting(crawler.settings, "STNEWS_TRIGGER") == "worker":
        # Workers share a round through Redis: a worker's run row stays "running" while the
        # others work, and requests a killed worker held stay queued for them.
        return True
    if crawler not in _trusted:
        database = database_for(crawler.settings["DATABASE_URL"])
        with database.session(readonly=True) as session:
            run = previous_run(session, crawler.spider.name)
            status = run.status if run is not None else None
            served = _served_no_release(run.dropped if run is not None else None)
        trusted = status in (None, "finished") and not served
        if not trusted:
            # A run that was answered with login or maintenance pages did not read the
            # releases behind them: stopping at a known release could skip them for good.
            why = f"previous run {served or f'was {status}'}"
            crawler.stats.set_value("incremental/untrusted", why)
            logger.warning(
                "%s: %s: walking every list page, without validators", crawler.spider.name, why
            )  # fmt: skip
        _trusted[crawler] = trusted
    return _trusted[crawler]


def _served_no_release(dropped: dict[str, int] | None) -> str | None:
    """What the run's drops say of pages served in place of releases, if any."""
    served = {r: n for r, n in (dropped or {}).items() if r in INTERSTITIAL_REASONS and n}
    if not served:
        return None
    kinds = ", ".join(f"{reason} ×{count}" for reason, count in sorted(served.items()))
    return f"answered by {kinds}"


def complete(crawler: Crawler, reason: str) -> bool:
    """Whether this crawl stored everything it listed: it finished, dropped no release and no
    page request failed (a release dropped today, e.g. a login page served for it, must be
    fetched again tomorrow, not hidden behind a 304)."""
    stats = crawler.stats.get_stats()
    dropped = sum(v for k, v in stats.items() if k.startswith(f"{DROPPED}/"))
    return run_outcome(reason, stats)[0] == "finished" and not dropped and not failure_count(
        stats
    )


def listing_hash(listing: dict[str, Any]) -> str:
    """Hash of how a list page shows a release: changes when its title or date changes."""
    shown = f"{clean_line(listing.get('title'))}\n{clean_line(listing.get('date'))}"
    return hashlib.sha256(shown.encode("utf-8")).hexdigest()


class IncrementalListMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.recheck_after = timedelta(days=setting(crawler.settings, "RECHECK_AFTER_DAYS"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IncrementalListMiddleware:
        if not setting(crawler.settings, "INCREMENTAL_ENABLED"):
            raise NotConfigured
        return cls(crawler)

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        yield from self._filter(response, list(result))

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        for output in self._filter(response, [output async for output in result]):
            yield output

    def _filter(self, response: Response, outputs: list[Any]) -> list[Any]:
        listing = response.meta.get("listing")
        if listing:  # a detail page: remember how the list showed it
            for output in outputs:
                if isinstance(output, ReleaseItem):
                    output["listing_hash"] = listing_hash(listing)
            return outputs
        details = [
            o for o in outputs if isinstance(o, Request) and o.meta.get("listing", {}).get("id")
        ]
        if not details:
            return outputs
        known = self._known(details)
        skip = {id(request) for request in details if known[id(request)]}
        stats = self.crawler.stats
        keep = [output for output in outputs if id(output) not in skip]
        stats.inc_value("incremental/detail_skipped", len(skip))
        if id(details[-1]) in skip and shortcuts_trusted(self.crawler):
            paging = {id(o) for o in keep if isinstance(o, Request) and o.meta.get("list_page")}
            if paging:
                stats.inc_value("incremental/paging_stopped")
            keep = [output for output in keep if id(output) not in paging]
        return keep

    def _known(self, details: list[Request]) -> dict[int, bool]:
        """For each detail request: is the release stored, as listed, and recently checked?"""
        spider = self.crawler.spider
        database = database_for(self.crawler.settings["DATABASE_URL"])
        ids = [str(r.meta["listing"]["id"]) for r in details]
        # Read-only (on SQLite a deferred BEGIN): a look-up per list page need not take the
        # write lock the store step's batches queue on.
        with database.session(readonly=True) as session:
            stored = known_releases(session, spider.name, ids)
        now = datetime.now(UTC)
        verdict = {}
        for request, native_id in zip(details, ids, strict=True):
            found = stored.get(native_id)
            verdict[id(request)] = bool(
                found
                and found.listing_hash == listing_hash(request.meta["listing"])
                and now - found.last_seen_at < self.recheck_after
            )
        return verdict


class ConditionalListMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.database = database_for(crawler.settings["DATABASE_URL"])
        self.pending: dict[str, tuple[str | None, str | None]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalListMiddleware:
        if not setting(crawler.settings, "INCREMENTAL_ENABLED"):
            raise NotConfigured
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_request(self, request: Request) -> None:
        if not request.meta.get("list_page") or not shortcuts_trusted(self.crawler):
            return
        with self.database.session(readonly=True) as session:
            found = get_validators(session, canonicalize_url(request.url))
            etag, last_modified = (found.etag, found.last_modified) if found else (None, None)
        if etag:
            request.headers.setdefault("If-None-Match", etag)
        if last_modified:
            request.headers.setdefault("If-Modified-Since", last_modified)

    def process_response(self, request: Request, response: Response) -> Response:
        if not request.meta.get("list_page"):
            return response
        if response.status == 304:
            self.crawler.stats.inc_value("incremental/not_modified")
        elif response.status == 200:
            etag = response.headers.get("ETag")
            modified = response.headers.get("Last-Modified")
            if etag or modified:
                self.pending[canonicalize_url(request.url)] = (
                    etag.decode("latin-1") if etag else None,
                    modified.decode("latin-1") if modified else None,
                )
        return response

    def spider_closed(self, reason: str) -> None:
        if not self.pending or not complete(self.crawler, reason):
            return
        with self.database.session() as session:
            save_validators(session, self.pending)

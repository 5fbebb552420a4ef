"""Item pipelines, in order: normalize, validate, (enrich), deduplicate, store.

Each is one small class that knows ReleaseItems and nothing about any site. Every release
that does not reach the database leaves a counted stat (``releases/dropped/<reason>``) and a
log line with its URL.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from crawler.classify import classify
from crawler.classify.engine import warm_up
from crawler.classify.model import load as load_model
from crawler.config import setting
from crawler.database import database_for
from crawler.interstitial import (
    BOILERPLATE,
    SHORT_TEXT,
    Interstitial,
    has_password_field,
    layout_stage,
    page_stage,
    recognise,
    visible_text,
)
from crawler.items import ReleaseItem
from crawler.normalize import clean_line, clean_text, fingerprint, first_paragraph, parse_date
from crawler.store_writers import ReactorBatches
from crawler.urls import canonical_url
from storage import ReleaseRecord, SaveOutcome
from storage.limits import ValueTooLong, fit_release
from storage.links import link_problem, web_link
from storage.releases import RawPage

DROPPED = "releases/dropped"
logger = logging.getLogger(__name__)


class ReleasePipeline:
    """Shared plumbing: access to the crawler's stats and counted drops."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReleasePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        # Releases only: other items (page snapshots) pass through to their own pipelines.
        return self.process_release(item) if isinstance(item, ReleaseItem) else item

    def process_release(self, item: ReleaseItem) -> ReleaseItem:
        raise NotImplementedError

    def allowed_domains(self) -> tuple[str, ...]:
        """The crawling spider's domains: a release's link must be on one of them."""
        spider = getattr(self.crawler, "spider", None)
        return tuple(getattr(spider, "allowed_domains", None) or ())

    def drop(self, reason: str, item: ReleaseItem, log_level: str = "WARNING") -> DropItem:
        self.stats.inc_value(f"{DROPPED}/{reason}")
        return DropItem(f"{reason}: {item.get('url')}", log_level=log_level)


class NormalizePipeline(ReleasePipeline):
    """Clean text (NFC, whitespace, soft hyphens, line-break hyphenation), canonical URLs,
    timezone-aware UTC dates, a summary, and the content fingerprint."""

    def process_release(self, item: ReleaseItem) -> ReleaseItem:
        item["url"] = self._release_link(item)
        self._web_links_only(item)
        item["title"] = clean_line(item.get("title"))
        item["body"] = clean_text(item.get("body"))
        item["summary"] = clean_line(item.get("summary")) or first_paragraph(item["body"])
        item["contact_org"] = clean_line(item.get("contact_org")) or None
        item["attachments"] = [
            {
                "name": clean_line(a.get("name")) or a["url"],
                "url": a["url"],
                # Size and type, where the attachment middleware downloaded the file.
                **{k: a[k] for k in ("length", "type") if a.get(k)},
            }
            for a in item.get("attachments") or []
            if a.get("url")
        ]
        zone, language = item.get("timezone") or "UTC", item.get("language") or "en"
        item["published"] = parse_date(item.get("published_raw"), zone, language)
        item["modified"] = parse_date(item.get("modified_raw"), zone, language)
        item["fingerprint"] = fingerprint(item["title"], item["body"])
        return item

    def _release_link(self, item: ReleaseItem) -> str:
        """The canonical link, or a counted drop when it is not an http(s) page on the
        spider's domains (a feed entry's ``javascript:`` or phishing link; issue 18).
        No link at all is left for validation to count as missing."""
        url = item.get("url") or ""
        if not url:
            return ""
        try:
            url = canonical_url(url)
        except ValueError:
            raise self.drop("unsafe-link/malformed", item) from None
        if reason := link_problem(url, self.allowed_domains()):
            raise self.drop(f"unsafe-link/{reason}", item)
        return url

    def _web_links_only(self, item: ReleaseItem) -> None:
        """An image or attachment that is not an http(s) link goes; the release stays."""
        if item.get("image_url") and not web_link(item["image_url"]):
            self.stats.inc_value("releases/removed/unsafe-image")
            item["image_url"] = None
        attachments = item.get("attachments") or []
        kept = [a for a in attachments if web_link(a.get("url"))]
        if len(kept) != len(attachments):
            self.stats.inc_value("releases/removed/unsafe-attachment", len(attachments) - len(kept))
            item["attachments"] = kept


class InterstitialPipeline(ReleasePipeline):
    """Drop pages served in place of a release: login walls, maintenance notices, error
    pages, and one boilerplate text served for several releases (``crawler/interstitial.py``
    says how they are told). Each is counted as
    ``releases/dropped/<kind>-page`` and logged with its evidence; the source is then
    reported degraded (``crawler/health.py``), and since the release is not stored and the
    crawl dropped something, the list's validators do not advance: the release is fetched
    again by the next crawl, when the site may have recovered."""

    def open_spider(self) -> None:
        # Undated texts seen in this crawl: text hash -> (url, title) of the first page.
        self.texts: dict[str, tuple[str, str]] = {}

    def process_release(self, item: ReleaseItem) -> ReleaseItem:
        stages = item.get("field_stages") or {}
        dated = layout_stage(stages.get("published_raw"))
        body = item.get("body") or ""
        # Text from the feed entry or an attachment is no page's: only the page is judged.
        not_page = stages.get("body") in ("feed", "list") or item.get("extraction") == "attachment"
        page_body = "" if not_page else body
        text = page_body
        if not dated and len(page_body) <= SHORT_TEXT:
            # Little text read: judge the whole page as a reader sees it, if it is short too
            # (a login form's labels are no text to an extractor).
            shown = visible_text(item.get("raw_body"), item.get("raw_encoding"))
            if len(shown) <= SHORT_TEXT:
                text = shown
        found = recognise(
            title=item.get("title") or "",
            title_from_page=page_stage(stages.get("title")),
            body=text,
            dated_by_layout=dated,
            password_field=lambda: has_password_field(item.get("raw_body")),
            requested_url=item.get("requested_url"),
            final_url=item.get("final_url") or item.get("url") or "",
        )
        if found is None and not dated and page_body.strip():
            key = hashlib.sha256(page_body.encode("utf-8", "surrogatepass")).hexdigest()
            first_url, first_title = self.texts.setdefault(key, (item["url"], item["title"]))
            if first_url != item["url"] and first_title != item["title"]:
                found = Interstitial(BOILERPLATE, f"the same text as {first_url}")
        if found is None:
            return item
        self.stats.inc_value(f"{DROPPED}/{found.reason}")
        raise DropItem(f"{found.reason}: {item.get('url')}: {found.evidence}")


class ValidatePipeline(ReleasePipeline):
    """Drop releases missing what every reader needs: a URL, a title, a text and a plausible
    date. A page none of the page object's stages could read is dropped here, counted by
    what it lacked: an empty release is never stored."""

    #: How far ahead of now a publication date may be (clock skew, time zones).
    FUTURE_TOLERANCE = timedelta(days=2)
    EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)

    def process_release(self, item: ReleaseItem) -> ReleaseItem:
        if not item.get("url"):
            raise self.drop("missing-url", item)
        if not item.get("title"):
            raise self.drop("missing-title", item)
        if not (item.get("body") or "").strip():
            raise self.drop("missing-body", item)
        published = item.get("published")
        if published is None:
            reason = "unparseable-date" if item.get("published_raw") else "missing-date"
            raise self.drop(reason, item)
        if not self.EARLIEST <= published <= datetime.now(UTC) + self.FUTURE_TOLERANCE:
            raise self.drop("implausible-date", item)
        return item


class EnrichPipeline(ReleasePipeline):
    """Classify: international cooperation or not, partners, topics, kind, with evidence.
    The home side is the source's ``home`` (the EU for the Commission), else its country."""

    def open_spider(self) -> None:
        # Load the classifier's tables and model now, before any request is in flight: done
        # lazily by the first release, it blocked the reactor for seconds on a busy machine,
        # so pending downloads timed out late (a slow answer beat its timeout) or before
        # their request was even sent.
        warm_up()
        load_model()
        # Then frozen for the crawl with the rest of start-up (crawler.extensions.CollectorPolicy).

    def process_release(self, item: ReleaseItem) -> ReleaseItem:
        home = item.get("home") or item["agency_country"]
        verdict = classify(item["title"], item.get("body") or "", home, item["language"])
        item.update(verdict.to_dict())
        if verdict.is_cooperation:
            self.stats.inc_value("releases/cooperation")
        return item


class DeduplicatePipeline(ReleasePipeline):
    """Drop second sightings of a release within one crawl.

    The same release is often listed twice (pinned rows, URL variants, two hosts); it is
    recognized by its site id, its canonical URL or its content. Against releases stored by
    earlier crawls, the store step decides new / updated / unchanged.
    """

    def open_spider(self) -> None:
        self.seen: set[bytes] = set()

    def process_release(self, item: ReleaseItem) -> ReleaseItem:
        source = item["source"]
        keys = {
            _seen_key("url", source, item["url"]),
            _seen_key("content", source, item["fingerprint"]),
        }
        if item.get("native_id"):
            keys.add(_seen_key("id", source, str(item["native_id"])))
        if keys & self.seen:
            self.stats.inc_value("releases/duplicate")
            raise DropItem(f"duplicate: {item['url']}", log_level="DEBUG")
        self.seen |= keys
        return item


def _seen_key(kind: str, source: str, value: str) -> bytes:
    """A 16-byte digest of a deduplication key. A crawl keeps three keys for every release
    it reads; as tuples of strings (URL, site id, fingerprint) they held 630 bytes a release
    for the whole crawl, as digests 250 (tracemalloc; issue 19: 7.5 MB less in a 20,000-release
    backfill).
    128 bits: no collision in practice."""
    text = f"{kind}\0{source}\0{value}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(text, digest_size=16).digest()


class StorePipeline(ReleasePipeline):
    """Store each release: all of it (row, tags, raw page) or nothing.

    Releases are stored in batches, one transaction each, in the reactor thread
    (``crawler/store_writers.py`` ``ReactorBatches``). ``process_item`` returns an awaitable
    that yields the item once its transaction has committed: the ``releases/<outcome>``
    stats, ``item_scraped`` and so the crawl-run record count only what is stored, and Scrapy
    does not close the spider before every release is written.
    """

    def open_spider(self) -> None:
        settings = self.crawler.settings
        self.database = database_for(settings["DATABASE_URL"])  # migrates before any writer
        self._idle_check: Any = None
        self._submitted = self._flushed = 0  # releases handed to the writer; at the last flush
        linger = setting(settings, "STORE_BATCH_SECONDS")
        self.writer: ReactorBatches | None = ReactorBatches(
            self.database, setting(settings, "STORE_BATCH_SIZE"), linger
        )
        if linger > IDLE_CHECK_SECONDS:
            from twisted.internet.task import LoopingCall

            self._idle_check = LoopingCall(self._flush_when_idle)
            self._idle_check.start(IDLE_CHECK_SECONDS, now=False)
        self._in_flight = 0
        self._idle_waiters: list[Deferred[None]] = []
        # Outcomes reported by the writer, handled at the reactor's next turn (not inside the
        # process_item that filled the batch); one call takes everything reported meanwhile.
        self._reported: list[tuple[Deferred[ReleaseItem], ReleaseItem, Any, Any]] = []

    def process_release(self, item: ReleaseItem) -> ReleaseItem | Awaitable[ReleaseItem]:
        # Fitted to the columns here, with counted reasons, so that both backends store the
        # same (storage/limits.py; the store fits again whatever reaches it another way).
        try:
            record, adjustments = fit_release(to_record(item, self.allowed_domains()))
        except ValueTooLong as exc:
            raise self.drop(f"{exc.field}-too-long", item) from exc
        for adjustment in adjustments:
            self.stats.inc_value(f"releases/capped/{adjustment.field}")
            logger.warning("%s: %s", record.url, adjustment)
        return self._submit(item, record)

    def _submit(self, item: ReleaseItem, record: ReleaseRecord) -> Awaitable[ReleaseItem]:
        from twisted.internet import reactor

        assert self.writer is not None
        stored: Deferred[ReleaseItem] = Deferred()

        def on_done(outcome: SaveOutcome | None, error: BaseException | None) -> None:
            self._reported.append((stored, item, outcome, error))
            if len(self._reported) == 1:
                reactor.callLater(0, self._take_reports)  # type: ignore[attr-defined]

        self.writer.submit(record, on_done)
        self._in_flight += 1
        self._submitted += 1
        return maybe_deferred_to_future(stored)

    def _flush_when_idle(self) -> None:
        """With nothing being downloaded or waiting to be, no release is coming to fill the
        writer's batch: have it write what it holds instead of waiting out its linger (the
        end of a crawl, or a pause in one). Likewise when Scrapy has stopped taking
        responses because those of the releases held are over its scraper's memory bound
        (``needs_backout``: 5 MB, about 24 of the bench's 210 KB pages): the crawl waits for
        the batch, and waiting out the linger would stall it."""
        if self.writer is None or self._submitted == self._flushed:
            return
        engine = self.crawler.engine
        if engine is None:
            return
        slot = getattr(getattr(engine, "scraper", None), "slot", None)
        if not (slot is not None and slot.needs_backout()):
            if engine.downloader.active:
                return
            stats = self.stats
            if (stats.get_value("scheduler/enqueued") or 0) > (
                stats.get_value("scheduler/dequeued") or 0
            ):
                return
        self._flushed = self._submitted
        self.writer.flush()

    def _take_reports(self) -> None:
        reported, self._reported = self._reported, []
        for report in reported:
            self._stored(*report)

    def _stored(
        self,
        stored: Deferred[ReleaseItem],
        item: ReleaseItem,
        outcome: SaveOutcome | None,
        error: BaseException | None,
    ) -> None:
        self._in_flight -= 1
        if outcome is not None:
            self.stats.inc_value(f"releases/{outcome.value}")
            stored.callback(item)
        else:
            stored.errback(self._storage_error(item, error))
        if not self._in_flight:
            waiters, self._idle_waiters = self._idle_waiters, []
            for waiter in waiters:
                waiter.callback(None)

    def _storage_error(self, item: ReleaseItem, error: BaseException | None) -> DropItem:
        if "unsafe-link (" in str(error):
            # The store's own link check (storage.releases.check_links): not a storage fault.
            return self.drop("unsafe-link/store", item)
        self.stats.inc_value(f"{DROPPED}/storage-error")
        return DropItem(f"storage-error: {item['url']}: {error}", log_level="ERROR")

    async def close_spider(self) -> None:
        """Wait until every submitted release is written and reported, then close the writer."""
        if self.writer is not None:
            self.writer.flush()
        if self._in_flight:
            waiter: Deferred[None] = Deferred()
            self._idle_waiters.append(waiter)
            await maybe_deferred_to_future(waiter)
        if self._idle_check is not None and self._idle_check.running:
            self._idle_check.stop()
        batches, self.writer = self.writer, None
        if batches is not None:
            batches.close()  # nothing is in flight: returns at once
            for name, value in batches.figures.items():
                self.stats.set_value(f"release_writer/{name}", value)


#: How often the store step checks whether the crawl has gone idle (``_flush_when_idle``).
IDLE_CHECK_SECONDS = 0.1


def to_record(item: ReleaseItem, allowed_domains: tuple[str, ...] = ()) -> ReleaseRecord:
    raw = None
    if item.get("raw_body") is not None:
        raw = RawPage(
            body=item["raw_body"],
            fetched_at=item.get("fetched_at") or datetime.now(UTC),
            final_url=item.get("final_url") or item["url"],
            status=int(item.get("http_status") or 200),
            encoding=item.get("raw_encoding"),
            extractor_version=item.get("extractor_version") or "",
        )
    optional: dict[str, Any] = {
        name: item.get(name)
        for name in ("is_cooperation", "confidence", "coop_type")
        if item.get(name) is not None
    }
    for name in ("evidence", "partners", "topics"):
        optional[name] = list(item.get(name) or [])
    return ReleaseRecord(
        source=item["source"],
        native_id=str(item["native_id"]) if item.get("native_id") else None,
        url=item["url"],
        title=item["title"],
        published_at=item["published"],
        modified_at=item.get("modified"),
        body=item.get("body") or "",
        summary=item.get("summary") or None,
        image_url=item.get("image_url") or None,
        attachments=list(item.get("attachments") or []),
        language=item["language"],
        agency=item["agency"],
        agency_country=item["agency_country"],
        contact_org=item.get("contact_org"),
        fingerprint=item["fingerprint"],
        listing_hash=item.get("listing_hash"),
        extraction=item.get("extraction") or "selectors",
        field_stages=dict(item.get("field_stages") or {}),
        timezone=item.get("timezone") or "UTC",
        raw=raw,
        allowed_domains=allowed_domains,
        **optional,
    )

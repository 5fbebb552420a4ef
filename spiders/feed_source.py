"""Sources read from RSS/Atom feeds (``kind = "feed"`` in sources.toml).

One class serves every feed source: the source registry (``crawler.source_registry``) makes
a subclass per ``kind = "feed"`` source, carrying its ``SourceConfig``. A site that needs
code (a list page written by scripts, entries told apart by their page's breadcrumb) names a
subclass of ``FeedSourceSpider`` with ``spider = "module:Class"``, which the registry uses
as the base instead; the others are configuration only.

Each poll:

1. The feed is requested as a list page (conditional: an unchanged feed answers 304), with
   ``[source.feed]``'s ``max_bytes`` and ``timeout`` as its download limits.
2. Its bytes are checked, then parsed with feedparser. Entries kept by ``include_links`` /
   ``exclude_links`` are followed to their detail pages (``follow_links``) and read with the
   ``[source.detail]`` selectors, then generic extraction, then the entry's own title,
   summary and date; without following, a release is made from the entry alone.
3. Feed first, page as check: on every ``check_every``-th poll (or with ``-a check_page=1``)
   the feed is fetched unconditionally and the HTML list page ``check_page`` is read too. A
   release on the page that the feed lacks is fetched like a feed entry and reported: stat
   ``feed/missing_from_feed`` and a warning naming it (feeds silently drop items). Page
   releases older than the feed's oldest entry are fetched too, but not reported: the feed
   never promised them (stat ``feed/check/older_than_feed``).

Parsing untrusted XML safely:

- feedparser is handed a stream, never the bytes: given bytes, feedparser 6 first tries them
  as a file *name* and parses that file, so a body reading ``/etc/passwd`` (or ``/dev/zero``,
  which never ends) would be opened.
- External entities are never resolved: feedparser parses with expat through ``xml.sax``
  with ``feature_external_ges`` off (external parameter entities are off by default), and
  rewrites the DOCTYPE keeping only internal entities with literal values.
- Internal entities are refused before any parser runs. feedparser keeps those "safe"
  entities, and when expat rejects a document (expat >= 2.4 stops billion-laughs
  amplification) it re-parses it with its loose parser, which expands them without limit: a
  300 KB feed declaring one 100 KB entity and using it 2,000 times became a 200 MB string
  after 10 s. A feed whose bytes declare an internal DTD subset or an ``<!ENTITY`` is
  refused (``feed/problem/internal-dtd``). Real RSS/Atom needs neither (RSS 0.91's external
  DTD reference, never fetched, still passes); the scan is linear, independent of the
  parser, and decodes UTF-16/32 first so the markers cannot hide in a wide encoding.

Stats: ``feed/entries``, ``feed/excluded/link`` and ``feed/excluded/page`` (kept apart by
the source's filters), ``feed/bozo`` (an ill-formed feed used anyway, with a warning),
``feed/entry_without_link``, ``feed/problem/<reason>`` (a feed that gave nothing:
``internal-dtd``, ``too-large``, ``timeout``, ``download-failed``, ``http-<status>``,
``not-a-feed``, ``no-entries``, or the rule of a ``crawler.safety`` refusal),
``feed/check_pages``, ``feed/missing_from_feed``, ``feed/check/older_than_feed``,
``feed/check/empty``, ``feed/check/failed``, ``feed/check/skipped``.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode, urljoin
from zoneinfo import ZoneInfo

import feedparser
from parsel import Selector
from scrapy import Request
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from sqlalchemy.exc import SQLAlchemyError
from twisted.internet.defer import CancelledError
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure
from w3lib.url import url_query_parameter

from crawler.database import database_for
from crawler.extract import paragraphs, text_of
from crawler.feed_health import NEWEST_ENTRY_STAT, newest_entry, note_missing
from crawler.items import ReleaseItem
from crawler.normalize import parse_date
from crawler.release_spider import LIST_PAGE, ReleaseSpider, listing
from crawler.sources import DetailSelectors, FeedOptions, SourceConfig
from crawler.urls import canonical_url
from spiders.configured import (
    apply_date_formats,
    list_entries,
    pattern_value,
    release_id,
    selected_link,
    selected_paragraphs,
    selected_text,
)
from spiders.msit import _DOWNLOAD_CALL, parse_list_script
from storage.feed_polls import finished_runs

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
#: Longest site id stored (the database column's width); a longer one identifies nothing.
MAX_ID_CHARS = 128
#: A feed summary longer than this is the text itself, not a summary of it.
MAX_SUMMARY_CHARS = 500
#: The body of a release made from a feed entry alone is stored as this JSON, so that
#: re-extraction (``parse_detail`` on the stored raw response) can rebuild it.
ENTRY_RAW_KEY = "stnews_feed_entry"

# --- Reading a feed --------------------------------------------------------------------------

# XML spec, appendix F: encodings that are not ASCII-compatible, told by their first bytes.
_WIDE_ENCODINGS = (
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\xfe\xff", "utf-16-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\x00<", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[", re.IGNORECASE)


@dataclass(frozen=True)
class Listed:
    """A release as a feed entry or a list page shows it; feed entries carry more."""

    url: str
    native_id: str | None = None
    title: str | None = None
    date: str | None = None  # as written: RFC 822 / RFC 3339 in feeds
    modified: str | None = None
    guid: str | None = None
    summary: str | None = None  # plain text
    body: str | None = None  # plain text, paragraphs joined by a blank line


@dataclass
class FeedReading:
    """What a feed body gave: its entries, or why it gave none."""

    entries: list[Listed]
    problem: str | None = None  # the feed is unusable: a feed/problem/<reason> stat
    detail: str = ""  # for the log
    warning: str | None = None  # ill-formed but used (feedparser's "bozo")
    without_link: int = 0  # entries that point nowhere: skipped


def unsafe_dtd(body: bytes) -> bool:
    """Whether the document declares entities or an internal DTD subset (see module doc)."""
    text = body
    for mark, encoding in _WIDE_ENCODINGS:
        if body.startswith(mark):
            # Re-encoded as UTF-8, the markers become plain ASCII bytes again.
            text = body.decode(encoding, errors="replace").encode("utf-8")
            break
    return bool(_ENTITY_DECLARATION.search(text) or _INTERNAL_SUBSET.search(text))


def read_feed(body: bytes, url: str, content_type: str | None = None) -> FeedReading:
    """Parse an RSS/Atom body with feedparser, refusing what is unsafe or not a feed."""
    if unsafe_dtd(body):
        return FeedReading([], "internal-dtd", "declares entities or an internal DTD subset")
    headers = {"content-location": url}  # the base for relative links
    if content_type:
        headers["content-type"] = content_type  # its charset, as feedparser expects
    # A stream, never bytes: feedparser opens bytes that name a file (see module doc).
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    bozo = str(parsed.get("bozo_exception") or "ill-formed") if parsed.get("bozo") else None
    if not parsed.entries:
        problem = "no-entries" if parsed.get("version") else "not-a-feed"
        return FeedReading([], problem, bozo or "")
    entries = [entry for entry in map(_entry, parsed.entries) if entry is not None]
    return FeedReading(entries, warning=bozo, without_link=len(parsed.entries) - len(entries))


def _entry(entry: Any) -> Listed | None:
    link = entry.get("link") or next(
        (ln.get("href") for ln in entry.get("links", []) if ln.get("href")), None
    )
    guid = entry.get("id") or None
    if not link and guid and guid.startswith(("http://", "https://")):
        link = guid  # an RSS guid with isPermaLink
    if not link:
        return None
    published = entry.get("published") or entry.get("updated") or None
    updated = entry.get("updated") or None
    content = next((c.get("value") for c in entry.get("content", []) if c.get("value")), None)
    summary = _html_paragraphs(entry.get("summary"))
    body = _html_paragraphs(content) or summary
    short = len(summary) == 1 and len(summary[0]) <= MAX_SUMMARY_CHARS
    return Listed(
        url=link.strip(),
        title=" ".join((entry.get("title") or "").split()) or None,
        date=published,
        modified=updated if updated != published else None,
        guid=guid,
        summary=summary[0] if short else None,
        body="\n\n".join(body) or None,
    )


def _html_paragraphs(fragment: str | None) -> list[str]:
    """Paragraphs of an entry's (feedparser-sanitized) HTML or plain text."""
    if not fragment or not fragment.strip():
        return []
    holder = Selector(text=f"<div>{fragment}</div>").css("body > div")
    return paragraphs(holder[0]) if holder else []


# --- Helpers ------------------------------------------------------------------------------


def _local_day(text: str | None, zone: str, language: str) -> date | None:
    parsed = parse_date(text, zone, language)
    return parsed.astimezone(ZoneInfo(zone)).date() if parsed else None


_CLOCK = re.compile(r"\d{1,2}:\d{2}")
_ZONE_ABBREVIATION = re.compile(r"\s([A-Z]{2,5})\s*$")


def own_zone_offset(text: str | None, zone: str) -> str | None:
    """A trailing zone abbreviation that the agency's own zone uses, as a numeric offset.

    Feeds written by Java servers in Taipei end their dates with "CST" (China Standard
    Time, +0800), which dateparser reads as US Central Time (-0600): 14 hours off. An
    abbreviation the agency's zone itself uses ("CST" for Asia/Taipei, "KST" for Asia/Seoul)
    means that zone; any other is left to the date parser.
    """
    match = _ZONE_ABBREVIATION.search(text or "")
    if not text or not match:
        return text
    info = ZoneInfo(zone)
    year = datetime.now(info).year
    for month in (1, 7):  # standard and summer time
        probe = datetime(year, month, 15, 12, tzinfo=info)
        if probe.tzname() == match.group(1):
            return text[: match.start(1)] + probe.strftime("%z")
    return text


def _usable_id(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if value and len(value) <= MAX_ID_CHARS else None


def _flag(value: str | bool | None) -> bool | None:
    """A spider argument as a yes/no (``-a check_page=1``), or None when not given."""
    if value is None or isinstance(value, bool):
        return value
    return value.strip().lower() in ("1", "true", "yes", "on")


class FeedSourceSpider(ReleaseSpider):
    """Releases of one source from its RSS/Atom feed; see the module docstring."""

    def __init__(self, *args: Any, check_page: str | bool | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config = self.source_config
        if config is None:
            raise ValueError(
                f"{type(self).__name__} needs a feed source: use the class the registry builds "
                "for it (crawler.source_registry.spider_classes)"
            )
        self.config: SourceConfig = config
        self.options: FeedOptions = config.feed or FeedOptions()
        self.detail: DetailSelectors = config.detail or DetailSelectors()
        self.check_forced = _flag(check_page)
        self.id_pattern = config.listing.id_pattern if config.listing else None
        self.include = (
            re.compile(self.options.include_links) if self.options.include_links else None
        )
        self.exclude = (
            re.compile(self.options.exclude_links) if self.options.exclude_links else None
        )
        # Filled while the feeds are read, for the check page.
        self.feed_ids: set[str] = set()
        self.feed_urls: set[str] = set()
        self.feed_dates: list[str] = []
        self.checking = False
        self.feeds_pending = 0
        self.feeds_read = 0

    # --- Hooks for sites that need code ----------------------------------------------------

    def native_id(self, url: str) -> str | None:
        """The site's own id in a release URL (``[source.list] id_pattern``), or None."""
        if not self.id_pattern or not re.search(self.id_pattern, url):
            return None
        return _usable_id(release_id(url, self.id_pattern))

    def check_page_entries(self, response: Response) -> Iterator[Listed]:
        """The releases the check page lists, read with the ``[source.list]`` selectors."""
        selectors = self.config.listing
        if selectors is None:
            self.logger.warning(
                "%s: no [source.list] selectors to read %s", self.name, response.url
            )
            return
        for url, title, date_text in list_entries(response, selectors):
            yield Listed(url=url, native_id=self.native_id(url), title=title, date=date_text)

    def page_excluded(self, response: Response) -> str | None:
        """Why a followed page is not a release of this source (None: it is one)."""
        return None

    def attachment_url(self, link: Selector, response: Response) -> str | None:
        """Where an attachment link downloads from; sites with script links override."""
        href = (link.attrib.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "#")):
            return None
        return response.urljoin(href)

    # --- Polling -----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        self.checking = self._check_due()
        self.feeds_pending = len(self.start_urls)
        for url in self.start_urls:
            yield self.feed_request(url)

    def _check_due(self) -> bool:
        if not self.options.check_page:
            return False
        if self.check_forced is not None:
            return self.check_forced
        try:
            database = database_for(self.settings["DATABASE_URL"])
            with database.session(readonly=True) as session:
                polls = finished_runs(session, self.name)
        except SQLAlchemyError as exc:  # when in doubt, check: it costs one page
            self.logger.warning(
                "%s: poll count unavailable (%s); checking the page", self.name, exc
            )
            return True
        return polls % self.options.check_every == 0

    def feed_request(self, url: str) -> Request:
        meta: dict[str, Any] = {
            "download_maxsize": self.options.max_bytes,
            "download_timeout": self.options.timeout,
        }
        if not self.checking:
            # A list page: sent with the validators of its last fetch, so an unchanged feed
            # costs a 304. A check needs the whole feed to compare, so it goes unconditional.
            meta.update(LIST_PAGE)
        return Request(
            url,
            callback=self.parse,
            errback=self.feed_failed,
            dont_filter=True,
            meta=meta,
            headers={"Accept": FEED_ACCEPT},
        )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Request | ReleaseItem]:
        """One feed: detail requests (or releases) for its entries, then maybe the check."""
        # An unconditional check fetch is still this source's list page for health, which
        # reads the flag after this callback has run.
        response.meta.update(LIST_PAGE)
        stats = self.crawler.stats
        content_type = response.headers.get("Content-Type")
        if len(response.body) > self.options.max_bytes:
            # Downloads stop at download_maxsize; this also covers replayed and file responses.
            reading = FeedReading([], "too-large", f"{len(response.body)} bytes")
        else:
            reading = read_feed(
                response.body,
                response.url,
                content_type.decode("latin-1") if content_type else None,
            )
        if reading.problem:
            self._problem(reading.problem, response.url, reading.detail)
        if reading.without_link:
            stats.inc_value("feed/entry_without_link", reading.without_link)
        if reading.warning and not reading.problem:
            stats.inc_value("feed/bozo")
            self.logger.warning(
                "%s: ill-formed feed %s used: %s", self.name, response.url, reading.warning
            )
        for entry in reading.entries:
            stats.inc_value("feed/entries")
            entry = self._identified(entry, response.url)
            self._remember(entry)
            if self._link_excluded(entry.url):
                stats.inc_value("feed/excluded/link")
                continue
            if self.options.follow_links:
                yield self.detail_request(entry)
            else:
                yield self.entry_item(response, entry)
        if newest := newest_entry(self.feed_dates, self.timezone, self.language):
            stats.set_value(NEWEST_ENTRY_STAT, newest.isoformat())  # for crawler.feed_health
        yield from self._feed_done(read=reading.problem is None)

    def feed_failed(self, failure: Failure) -> Iterable[Request] | Failure:
        """A feed that could not be downloaded: counted, and the check goes on without it."""
        request = failure.request  # type: ignore[attr-defined]
        if failure.check(HttpError):
            status = failure.value.response.status
            if status == 304:  # an unchanged feed: nothing to do, nothing to check against
                return failure
            reason = f"http-{status}"
        elif failure.check(DownloadCancelledError, CancelledError):
            reason = "too-large"  # download_maxsize cancels the download
        elif failure.check(IgnoreRequest):
            # crawler.safety refusals name their rule ("too-large", "empty-body", ...).
            reason = getattr(failure.value, "reason", None) or "refused"
        elif failure.check(DownloadTimeoutError, TwistedTimeoutError):
            reason = "timeout"
        else:
            reason = "download-failed"
        self._problem(reason, request.url, failure.getErrorMessage())
        if failure.check(HttpError) and not self.checking:
            return failure  # let HttpErrorMiddleware log and count it as usual
        return list(self._feed_done(read=False))

    def _feed_done(self, read: bool) -> Iterator[Request]:
        self.feeds_pending -= 1
        self.feeds_read += read
        if self.feeds_pending or not self.checking:
            return
        if not self.feeds_read:  # every page release would look missing
            self.crawler.stats.inc_value("feed/check/skipped")
            self.logger.warning("%s: no feed could be read; page check skipped", self.name)
            return
        yield Request(
            str(self.options.check_page),
            callback=self.parse_check_page,
            errback=self.check_failed,
            dont_filter=True,
            meta={"download_timeout": self.options.timeout},
        )

    def _problem(self, reason: str, url: str, detail: str) -> None:
        self.crawler.stats.inc_value(f"feed/problem/{reason}")
        self.logger.error("%s: feed %s unusable (%s): %s", self.name, url, reason, detail)

    # --- Entries and the check page ---------------------------------------------------------

    def _identified(self, entry: Listed, base_url: str) -> Listed:
        url = urljoin(base_url, entry.url)
        # The site's id in the link, else the entry's guid, else the link itself.
        native_id = self.native_id(url) or _usable_id(entry.guid) or release_id(url, None)
        return Listed(
            **{
                **asdict(entry),
                "url": url,
                "native_id": native_id,
                "date": own_zone_offset(entry.date, self.timezone),
                "modified": own_zone_offset(entry.modified, self.timezone),
            }
        )

    def _remember(self, entry: Listed) -> None:
        # Every entry counts as in the feed, excluded ones too: the check is about the feed.
        if entry.native_id:
            self.feed_ids.add(entry.native_id)
        self.feed_urls.add(canonical_url(entry.url))
        if entry.date:
            self.feed_dates.append(entry.date)

    def _in_feed(self, entry: Listed) -> bool:
        return bool(
            (entry.native_id and entry.native_id in self.feed_ids)
            or canonical_url(entry.url) in self.feed_urls
        )

    def _link_excluded(self, url: str) -> bool:
        if self.include and not self.include.search(url):
            return True
        return bool(self.exclude and self.exclude.search(url))

    def detail_request(self, entry: Listed) -> Request:
        return Request(
            entry.url,
            callback=self.parse_detail,
            cb_kwargs={"entry": asdict(entry)},
            meta=listing(entry.native_id, entry.title, entry.date),
        )

    def parse_check_page(self, response: Response) -> Iterator[Request]:
        """The HTML list: every release on it that the feed lacks is fetched."""
        stats = self.crawler.stats
        stats.inc_value("feed/check_pages")
        days = [_local_day(d, self.timezone, self.language) for d in self.feed_dates]
        oldest = min((day for day in days if day), default=None)
        listed = list(self.check_page_entries(response))
        if not listed:
            stats.inc_value("feed/check/empty")
            self.logger.warning("%s: check page %s lists no releases", self.name, response.url)
        for entry in (self._identified(found, response.url) for found in listed):
            if self._in_feed(entry) or self._link_excluded(entry.url):
                continue
            day = _local_day(entry.date, self.timezone, self.language)
            if oldest and day and day < oldest:
                stats.inc_value("feed/check/older_than_feed")
            else:
                stats.inc_value("feed/missing_from_feed")
                note_missing(stats, entry.date, self.timezone, self.language)
                self.logger.warning(
                    "%s: release missing from the feed, listed on %s: %s (%s)",
                    self.name, response.url, entry.url, entry.title or "untitled",
                )  # fmt: skip
            yield self.detail_request(entry)

    def check_failed(self, failure: Failure) -> None:
        self.crawler.stats.inc_value("feed/check/failed")
        request = failure.request  # type: ignore[attr-defined]
        self.logger.warning(
            "%s: check page %s failed: %s", self.name, request.url, failure.getErrorMessage()
        )

    # --- Releases ----------------------------------------------------------------------------

    def parse_detail(
        self, response: Response, entry: dict[str, Any] | None = None, **kwargs: Any
    ) -> Iterator[ReleaseItem]:
        """One release from its page, the feed entry filling what the page lacks."""
        if response.body.startswith(b'{"' + ENTRY_RAW_KEY.encode()):
            # A release made from its feed entry alone, being re-extracted.
            stored = json.loads(response.body)[ENTRY_RAW_KEY]
            yield self.entry_item(response, Listed(**stored))
            return
        listed = Listed(**entry) if entry else Listed(url=response.url)
        if not isinstance(response, TextResponse):  # not a page: validation counts it
            yield self._item(response, listed, {})
            return
        if reason := self.page_excluded(response):
            self.crawler.stats.inc_value("feed/excluded/page")
            self.logger.info(
                "%s: %s is %s, not a release; skipped", self.name, response.url, reason
            )
            return
        yield self._item(response, listed, self.page_fields(response))

    def page_fields(self, response: TextResponse) -> dict[str, Any]:
        """What the ``[source.detail]`` selectors find on a detail page, read as the
        configured html spider reads them (spiders/configured.py)."""
        d = self.detail
        title = selected_text(response, d.title) or None
        body = selected_paragraphs(response, d.body, d.remove)
        while body and title and body[0] == title:  # the title repeated atop the text
            body.pop(0)
        image = selected_link(response, d.image)
        return {
            "title": title,
            "published_raw": pattern_value(selected_text(response, d.date), d.date_pattern),
            "modified_raw": pattern_value(selected_text(response, d.modified), d.modified_pattern),
            "body": "\n\n".join(body) or None,
            "summary": selected_text(response, d.summary) or None,
            "image_url": response.urljoin(image) if image else None,
            "attachments": self._attachments(response) if d.attachments else [],
            "contact_org": selected_text(response, d.contact_org) or None,
        }

    def _attachments(self, response: Response) -> list[dict[str, str]]:
        found: dict[str, str] = {}
        for link in response.css(str(self.detail.attachments)):
            if isinstance(link.root, str):  # an ::attr(href) selector
                url = response.urljoin(link.root.strip())
                name = url.rsplit("/", 1)[-1]
            else:
                url = self.attachment_url(link, response) or ""
                name = text_of(link) or link.attrib.get("title", "").strip()
            if url and url not in found:
                found[url] = name or url.rstrip("/").rsplit("/", 1)[-1]
        return [{"name": name, "url": url} for url, name in found.items()]

    def _item(self, response: Response, entry: Listed, page: dict[str, Any]) -> ReleaseItem:
        """The page's fields, completed by generic extraction and the feed entry.

        Body: selectors, then generic extraction, then the entry's content or summary. Title
        and dates: selectors, then the entry (structured data the agency wrote for this very
        release), then what generic extraction guesses.
        """
        values = dict(page)
        values["title"] = values.get("title") or entry.title
        values["published_raw"] = self._timed(values.get("published_raw"), entry.date)
        values["modified_raw"] = values.get("modified_raw") or entry.modified
        extraction = "selectors"
        incomplete = not all(values.get(name) for name in ("title", "published_raw", "body"))
        if incomplete and self.detail.generic_fallback and isinstance(response, TextResponse):
            # Imported here: trafilatura is heavy, and most pages never need it.
            from crawler.generic import generic_extract

            generic = generic_extract(response)
            if not values.get("body") and generic.body:
                values["body"] = generic.body
                extraction = "generic"
                # The page's description and image belong with a generic body.
                values["summary"] = values.get("summary") or generic.summary
                values["image_url"] = values.get("image_url") or generic.image_url
            values["title"] = values.get("title") or generic.title
            values["published_raw"] = values.get("published_raw") or generic.published_raw
        if not values.get("body") and entry.body:
            values["body"] = entry.body
            extraction = "feed"
        if not values.get("summary") and extraction != "feed":
            values["summary"] = entry.summary
        formats = self.config.date_formats
        for name in ("published_raw", "modified_raw"):
            values[name] = apply_date_formats(values.get(name), formats)
        native_id = self.native_id(response.url) or entry.native_id
        return self.release_item(response, native_id=native_id, extraction=extraction, **values)

    def _timed(self, shown: str | None, fed: str | None) -> str | None:
        """The page's date, or the feed's when the page shows only the day and the feed
        times the release on that very day (a time keeps same-day releases in order)."""
        if not shown or not fed or _CLOCK.search(shown) or not _CLOCK.search(fed):
            return shown or fed
        same_day = _local_day(shown, self.timezone, self.language) == _local_day(
            fed, self.timezone, self.language
        )
        return fed if same_day else shown

    def entry_item(self, response: Response, entry: Listed) -> ReleaseItem:
        """A release from its feed entry alone (``follow_links = false``)."""
        raw = json.dumps({ENTRY_RAW_KEY: asdict(entry)}, ensure_ascii=False).encode("utf-8")
        item = self.release_item(
            response,
            native_id=entry.native_id,
            title=entry.title,
            published_raw=entry.date,
            modified_raw=entry.modified,
            body=entry.body,
            summary=entry.summary,
            extraction="feed",
        )
        # The entry, not the whole feed, is what this release was read from.
        item.update(url=entry.url, raw_body=raw, raw_encoding="utf-8")
        return item


# --- Sites that need code --------------------------------------------------------------------

MSIT_KO_BOARD = {"sCode": "user", "mId": "307", "mPid": "208", "bbsSeqNo": "94"}


class MsitKoreanFeedSpider(FeedSourceSpider):
    """MSIT's 보도자료 (press releases, board 94) feed.

    Its list page, the check page, writes its rows with inline scripts like the English one
    (see ``spiders/msit.py``); releases are identified by ``nttSeqNo``; attachment links
    call ``fn_download('<atchFileNo>','<fileOrd>','<ext>')`` and are downloaded by a POST to
    ``/ssm/file/fileDown.do``, whose GET form with the same fields identifies them.
    """

    def native_id(self, url: str) -> str | None:
        value = (url_query_parameter(url, "nttSeqNo") or "").strip()
        return value if value.isdigit() else super().native_id(url)

    def check_page_entries(self, response: Response) -> Iterator[Listed]:
        board = {
            name: response.css(f"input#{name}::attr(value)").get("").strip()
            or url_query_parameter(response.url, name)
            or default
            for name, default in MSIT_KO_BOARD.items()
        }
        for row in parse_list_script(response.text):
            if not row.ntt_seq_no:
                continue
            query = urlencode({**board, "nttSeqNo": row.ntt_seq_no})
            yield Listed(
                url=response.urljoin(f"/bbs/view.do?{query}"),
                native_id=row.ntt_seq_no,
                title=row.title,
                date=row.date,
            )

    def attachment_url(self, link: Selector, response: Response) -> str | None:
        call = _DOWNLOAD_CALL.search(link.attrib.get("onclick", ""))
        if not call:
            return super().attachment_url(link, response)
        number, order = call.groups()
        query = urlencode({"atchFileNo": number, "fileOrd": order, "fileBtn": "A"})
        return response.urljoin(f"/ssm/file/fileDown.do?{query}")


class IdaFeedSpider(FeedSourceSpider):
    """IDA's news feed (``rss.RSSView&t=1``), which mixes 新聞發布 (press releases) with
    產業大小事 (industry insights: features about companies, not releases of the agency).

    Insights whose link carries ``type=insights`` are left out by the source's
    ``exclude_links`` before any fetch; the others are known by the breadcrumb of their page
    (``div.idbBreadcrumbArea span.idbBreadcrumb``), which names 產業大小事 or links to it.
    """

    INSIGHTS_LABEL = "產業大小事"

    def page_excluded(self, response: Response) -> str | None:
        crumb = response.css("div.idbBreadcrumbArea span.idbBreadcrumb")
        hrefs = crumb.css("a::attr(href)").getall()
        if self.INSIGHTS_LABEL in text_of(crumb[0] if crumb else None) or any(
            "type=insights" in href.lower() for href in hrefs
        ):
            return "an industry insight (產業大小事)"
        return None

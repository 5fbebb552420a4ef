"""Sources read from RSS/Atom feeds (``kind = "feed"`` in sources.toml).

One class serves every feed source: the source registry (``crawler.source_registry``) makes
a subclass per ``kind = "feed"`` source, carrying its ``SourceConfig``. What the followed pages
and the check page say is read by the source's page objects (``crawler.pages``); a site that
needs code (a list page written by scripts, pages told apart by their breadcrumb) names a
subclass with its own page objects (``spiders/msit.py``, ``spiders/ida.py``) with
``spider = "module:Class"``; the others are configuration only.

Each poll:

1. The feed is requested as a list page (conditional: an unchanged feed answers 304), with
   ``[source.feed]``'s ``max_bytes`` and ``timeout`` as its download limits.
2. Its bytes are checked, then parsed with feedparser. Entries kept by ``include_links`` /
   ``exclude_links`` are followed to their detail pages (``follow_links``) and read by the
   detail page object, the entry's title, dates, text and summary standing in (stage
   ``feed``) for what the page lacks; without following, a release is made from the entry
   alone.
3. Feed first, page as check: when the spider argument ``check_page`` says so, the feed is
   fetched unconditionally and the HTML list page ``check_page`` is read too. ``stnews crawl``
   (``crawler.service.runner.feed_check``) passes it on every ``check_every``-th poll, counted
   from the stored runs; ``-a check_page=1`` or ``0`` decides by hand, and a spider started
   without it (``scrapy crawl``) checks. The spider itself reads no database. A
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
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import feedparser
from feedparser.encodings import convert_to_utf8
from parsel import Selector
from scrapy import Request
from scrapy.exceptions import DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import CancelledError
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.python.failure import Failure

from crawler.charset import mostly_utf8, repair_utf8
from crawler.extract import paragraphs
from crawler.feed_health import NEWEST_ENTRY_STAT, newest_entry, note_missing
from crawler.items import ENTRY_VERSION, ReleaseItem
from crawler.normalize import parse_date
from crawler.pages import ListEntry
from crawler.pages.page import is_page
from crawler.pages.selectors import absolute_link, release_id
from crawler.release_spider import LIST_PAGE, ReleaseSpider
from crawler.safety import without_control_characters
from crawler.sources import FeedOptions, SourceConfig
from crawler.urls import canonical_url
from spiders.configured import entry_dict, entry_of, entry_request

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
#: Longest site id stored (the database column's width); a longer one identifies nothing.
MAX_ID_CHARS = 128
#: A feed summary longer than this is the text itself, not a summary of it.
MAX_SUMMARY_CHARS = 500
#: The raw page of a release made from a feed entry alone is the entry as this JSON, and its
#: extractor version ends with ENTRY_VERSION (crawler.items): that version, which no
#: response can set, is what lets re-extraction read the JSON back (``stored_entry_item``).
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


@dataclass
class FeedReading:
    """What a feed body gave: its entries, or why it gave none."""

    entries: list[ListEntry]
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


_ENCODING_DECLARATION = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)["'][^"']*["']""")


def as_utf8(body: bytes, headers: dict[str, str]) -> bytes:
    """The feed re-encoded as UTF-8 by feedparser's own decoder (its declaration rewritten
    to say so); the bytes as they are when no encoding decodes them.

    Invalid sequences lose only themselves, as in pages (``crawler.charset``): given one bad
    byte, feedparser would re-decode a whole UTF-8 feed as windows-1252, or a UTF-16 one
    with a lone surrogate in another charset."""
    for mark, encoding in _WIDE_ENCODINGS:
        if body.startswith(mark):
            text = body.decode(encoding, errors="replace").lstrip("\ufeff")
            return _ENCODING_DECLARATION.sub(r'\1"utf-8"', text, count=1).encode("utf-8")
    undecodable = body.decode("utf-8", errors="replace").count("\ufffd") - body.count(
        "\ufffd".encode()
    )
    if undecodable and mostly_utf8(body, undecodable):
        body = repair_utf8(body, [])[0]
    try:
        return bytes(convert_to_utf8(dict(headers), body, {}))
    except (LookupError, UnicodeError, ValueError):
        return body


def read_feed(body: bytes, url: str, content_type: str | None = None) -> FeedReading:
    """Parse an RSS/Atom body with feedparser, refusing what is unsafe or not a feed."""
    headers = {"content-location": url}  # the base for relative links
    if content_type:
        headers["content-type"] = content_type  # its charset, as feedparser expects
    # The text as feedparser would decode it (its own charset rules: BOM, header, XML
    # declaration, UTF-7, EBCDIC...), re-encoded as UTF-8: the entity check reads that, so
    # no encoding hides a "<!ENTITY" from it (issue 18: a UTF-7 DOCTYPE slipped past).
    text = as_utf8(body, headers)
    if unsafe_dtd(body) or unsafe_dtd(text):
        return FeedReading([], "internal-dtd", "declares entities or an internal DTD subset")
    # Lone surrogates and other non-characters written as references (``&#xD800;``, zero
    # padded or not) make feedparser raise: only those references go, the feed stays.
    text = without_control_characters(text, "utf-8")
    mime = (content_type or "application/xml").split(";", 1)[0].strip()
    headers["content-type"] = f"{mime}; charset=utf-8"
    # A stream, never bytes: feedparser opens bytes that name a file (see module doc).
    parsed = feedparser.parse(io.BytesIO(text), response_headers=headers)
    bozo = str(parsed.get("bozo_exception") or "ill-formed") if parsed.get("bozo") else None
    if not parsed.entries:
        problem = "no-entries" if parsed.get("version") else "not-a-feed"
        return FeedReading([], problem, bozo or "")
    entries = [entry for entry in map(_entry, parsed.entries) if entry is not None]
    return FeedReading(entries, warning=bozo, without_link=len(parsed.entries) - len(entries))


def _entry(entry: Any) -> ListEntry | None:
    link = entry.get("link") or next(
        (ln.get("href") for ln in entry.get("links", []) if ln.get("href")), None
    )
    guid = entry.get("id") or None
    if not link and guid and guid.startswith(("http://", "https://")):
        link = guid  # an RSS guid with isPermaLink
    if not link:
        return None
    # Only an `updated` the entry has: `entry.get("updated")` falls back to `published`, a
    # mapping feedparser deprecates (with a DeprecationWarning).
    updated = dict.get(entry, "updated") or None  # the plain dict's get: no mapping
    published = entry.get("published") or updated
    content = next((c.get("value") for c in entry.get("content", []) if c.get("value")), None)
    summary = _html_paragraphs(entry.get("summary"))
    body = _html_paragraphs(content) or summary
    short = len(summary) == 1 and len(summary[0]) <= MAX_SUMMARY_CHARS
    return ListEntry(
        url=link.strip(),
        title=" ".join((entry.get("title") or "").split()) or None,
        date=published,
        modified=updated if updated != published else None,
        guid=guid,
        summary=summary[0] if short else None,
        body="\n\n".join(body) or None,
        origin="feed",
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
        self.list_page, self.detail_page = self.page_objects(config)
        self.check_forced = _flag(check_page)
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

    def native_id(self, url: str) -> str | None:
        """The site's own id in a release URL, or None."""
        return _usable_id(self.detail_page.native_id(url))

    # --- Polling -----------------------------------------------------------------------------

    def start_points(self) -> list[str]:
        return list(self.start_urls)

    def start_request_for(self, url: str) -> Request:
        return self.feed_request(url)

    async def start(self) -> AsyncIterator[Request]:
        self.checking = self._check_due()
        self.feeds_pending = len(self.start_urls)
        for url in self.start_points():
            yield self.start_request_for(url)

    def _check_due(self) -> bool:
        if not self.options.check_page:
            return False
        # Not told (a bare `scrapy crawl`): check, it costs one page.
        return True if self.check_forced is None else self.check_forced

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
        stats = self.stats
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
            if absolute_link(response.url, entry.url) is None:
                # mailto:, tel:, javascript:, malformed: that entry only (issue 18).
                stats.inc_value("feed/bad_link")
                self.logger.warning("%s: feed entry links to no web page: %r",
                                    self.name, entry.url[:200])  # fmt: skip
                continue
            entry = self._identified(entry, response.url)
            self._remember(entry)
            if self._link_excluded(entry.url):
                stats.inc_value("feed/excluded/link")
                continue
            if self.options.follow_links:
                if (request := self.detail_request(entry)) is not None:
                    yield request
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
            self.stats.inc_value("feed/check/skipped")
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
        self.stats.inc_value(f"feed/problem/{reason}")
        self.logger.error("%s: feed %s unusable (%s): %s", self.name, url, reason, detail)

    # --- Entries and the check page ---------------------------------------------------------

    def _identified(self, entry: ListEntry, base_url: str) -> ListEntry:
        url = urljoin(base_url, entry.url)
        # The site's id in the link, else the entry's guid, else the link itself.
        native_id = self.native_id(url) or _usable_id(entry.guid) or release_id(url, None)
        return replace(
            entry,
            url=url,
            native_id=native_id,
            date=own_zone_offset(entry.date, self.timezone),
            modified=own_zone_offset(entry.modified, self.timezone),
        )

    def _remember(self, entry: ListEntry) -> None:
        # Every entry counts as in the feed, excluded ones too: the check is about the feed.
        if entry.native_id:
            self.feed_ids.add(entry.native_id)
        self.feed_urls.add(canonical_url(entry.url))
        if entry.date:
            self.feed_dates.append(entry.date)

    def _in_feed(self, entry: ListEntry) -> bool:
        return bool(
            (entry.native_id and entry.native_id in self.feed_ids)
            or canonical_url(entry.url) in self.feed_urls
        )

    def _link_excluded(self, url: str) -> bool:
        if self.include and not self.include.search(url):
            return True
        return bool(self.exclude and self.exclude.search(url))

    def detail_request(self, entry: ListEntry) -> Request | None:
        request = entry_request(entry, self.parse_detail)
        if request is None:
            self.stats.inc_value("feed/bad_link")
            self.logger.warning("%s: unusable release link %r", self.name, entry.url)
        return request

    def parse_check_page(self, response: Response) -> Iterator[Request]:
        """The HTML list: every release on it that the feed lacks is fetched."""
        stats = self.stats
        stats.inc_value("feed/check_pages")
        days = [_local_day(d, self.timezone, self.language) for d in self.feed_dates]
        oldest = min((day for day in days if day), default=None)
        reading = self.list_page.read(response) if is_page(response) else None
        if reading is not None:
            self.note_list_reading(reading, response.url)
        listed = reading.entries if reading else []
        if not listed and not (reading and reading.other_publishers):
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
            if (request := self.detail_request(entry)) is not None:
                yield request

    def check_failed(self, failure: Failure) -> None:
        self.stats.inc_value("feed/check/failed")
        request = failure.request  # type: ignore[attr-defined]
        self.logger.warning(
            "%s: check page %s failed: %s", self.name, request.url, failure.getErrorMessage()
        )

    # --- Releases ----------------------------------------------------------------------------

    def parse_detail(
        self, response: Response, entry: dict[str, Any] | None = None, **kwargs: Any
    ) -> Iterator[ReleaseItem]:
        """One release from its page, the feed entry filling what the page lacks."""
        listed = entry_of(entry) or ListEntry(url=response.url, origin="feed")
        if not is_page(response):  # not a page: validation counts it
            yield self.release_item(
                response, native_id=listed.native_id, title=listed.title,
                published_raw=listed.date,
            )  # fmt: skip
            return
        context = self.detail_page.context(response)
        if reason := self.detail_page.excluded(context):
            self.stats.inc_value("feed/excluded/page")
            self.logger.info(
                "%s: %s is %s, not a release; skipped", self.name, response.url, reason
            )
            return
        fields = self.detail_page.read(response, listed, context)
        fields.published_raw = self._timed(fields.published_raw, listed.date)
        yield self.fields_item(response, fields)

    def _timed(self, shown: str | None, fed: str | None) -> str | None:
        """The page's date, or the feed's when the page shows only the day and the feed
        times the release on that very day (a time keeps same-day releases in order)."""
        if not shown or not fed or _CLOCK.search(shown) or not _CLOCK.search(fed):
            return shown or fed
        same_day = _local_day(shown, self.timezone, self.language) == _local_day(
            fed, self.timezone, self.language
        )
        return fed if same_day else shown

    def entry_item(self, response: Response, entry: ListEntry) -> ReleaseItem:
        """A release from its feed entry alone (``follow_links = false``)."""
        raw = json.dumps({ENTRY_RAW_KEY: entry_dict(entry)}, ensure_ascii=False).encode("utf-8")
        item = self.release_item(
            response,
            native_id=entry.native_id,
            title=entry.title,
            published_raw=entry.date,
            modified_raw=entry.modified,
            body=entry.body,
            summary=entry.summary,
            extraction="feed",
            field_stages={name: "feed" for name, value in (
                ("title", entry.title), ("published_raw", entry.date),
                ("modified_raw", entry.modified), ("body", entry.body),
                ("summary", entry.summary)) if value},
        )  # fmt: skip
        # The entry, not the whole feed, is what this release was read from.
        item.update(url=entry.url, raw_body=raw, raw_encoding="utf-8")
        item["extractor_version"] = f"{item['extractor_version']}/{ENTRY_VERSION}"
        return item

    def stored_entry_item(self, response: Response) -> ReleaseItem:
        """Re-extraction of a release stored by ``entry_item``: its raw page is the entry's
        JSON. Only called for releases whose stored extractor version says so."""
        stored = json.loads(response.body)[ENTRY_RAW_KEY]
        return self.entry_item(response, ListEntry(**stored))

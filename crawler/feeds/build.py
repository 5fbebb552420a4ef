"""Feed items from releases, page changes and monitor events (rendered by ``crawler.feeds.render``).

Nothing here queries the database. A release (or a changed version of a monitored page) is
turned once into a `FeedItem` (plain, sanitized data); the renderers take items and a
`FeedMeta` and return the file's bytes. The same input always gives the same bytes: no clock
is read anywhere. Which renderer writes which format, and under which media type, is the
table of ``crawler.feeds.catalog``.

What a reader gets in every format: the title as plain text (never markup, see
``sanitize.plain_text``), the full text as sanitized HTML paragraphs (Atom ``content``, RSS
``content:encoded``, JSON Feed ``content_html``) after a short summary, attachments as
enclosures with their media type and, when the crawl measured it, their length, readable
category labels, and the entry's language (Atom ``xml:lang``, RSS ``dc:language``, JSON Feed
``language``).
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any
from urllib.parse import quote, urlsplit

from crawler.feeds.labels import humanize, partner_label
from crawler.feeds.sanitize import (
    html_to_text,
    looks_like_html,
    plain_text,
    sanitize_html,
    text_to_html,
    web_url,
    xml_safe,
)
from storage.health import MonitorEvent
from storage.models import Release
from storage.pages import PageVersion

logger = logging.getLogger(__name__)


# Authority and date of every tag: URI stnews mints (RFC 4151). Frozen: changing either
# would give every entry a new id and make every reader show the whole feed again as unread.
TAG_PREFIX = "tag:stnews.github.io,2024:"
SCHEMES = {
    "partner": f"{TAG_PREFIX}scheme/partner",
    "topic": f"{TAG_PREFIX}scheme/topic",
    "coop_type": f"{TAG_PREFIX}scheme/coop-type",
    "health": f"{TAG_PREFIX}scheme/health",
}
# The `updated` time of a feed with no entries: a fixed instant keeps the file stable. The
# project's tag-URI date, not the Unix epoch, which the W3C validator flags as implausible.
EMPTY_FEED_UPDATED = datetime(2024, 1, 1, tzinfo=UTC)
SUMMARY_FALLBACK_CHARS = 500
#: The full text in a feed entry is cut (with a note and the link) past this many characters:
#: a feed of 50 entries stays a few hundred KB even when a page's text ran wild.
CONTENT_MAX_CHARS = 30_000
#: The language of an entry whose release names none (feeds must give every entry one).
DEFAULT_LANGUAGE = "und"


# Attachment types Python's table does not know. HWPX declares application/hwp+zip in its
# own `mimetype` entry (it is a zip container like ODF); HWP 5 files are commonly served as
# application/x-hwp.
_EXTRA_TYPES = {".hwpx": "application/hwp+zip", ".hwp": "application/x-hwp"}


def release_entry_id(source: str, native_id: str | None, url: str) -> str:
    """The permanent id of a release's feed entry: a tag: URI that never changes.

    Readers decide "new or already seen" by this id alone, so it must survive everything that
    can happen to a stored release: a re-crawl, a re-classification, an edit of its text, and
    the agency moving to another host (moeaidb did), which rewrites the URL. The site's own
    id within its source is all of that; the database row id is not (it changes when the
    database is rebuilt from a fresh crawl), nor is the current URL.

    Without a native id the release's URL is the only stable handle. It is its first URL:
    storage matches a release without native id by URL or by an equal fingerprint, and only
    copies a record's URL onto the row when it matched by URL, so that URL never changes.
    """
    if native_id:
        return f"{TAG_PREFIX}release/{_pct(source)}/{_pct(native_id)}"
    return f"{TAG_PREFIX}release/{_pct(source)}/url/{_pct(url)}"


def _pct(value: str) -> str:
    # Everything outside the unreserved set is percent-encoded, control characters and even
    # lone surrogates included, so any stored id gives a valid, distinct tag: URI.
    return quote(value, safe="", errors="surrogatepass")


@dataclass(frozen=True, slots=True)
class Category:
    term: str  # machine value: "FR", "ai", "mou"
    label: str  # what a reader sees: "France (FR)"
    scheme: str


@dataclass(frozen=True, slots=True)
class Enclosure:
    """An attached file: a PDF, an HWPX, an ODT ... offered with the release."""

    url: str
    media_type: str
    length: int | None  # bytes, when a crawl downloaded the file; never a made-up 0
    title: str


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One release as it appears in every feed format; all text already safe for XML."""

    id: str
    url: str
    title: str
    published: datetime
    updated: datetime
    summary_text: str
    summary_html: str | None  # set only when the summary was HTML (then sanitized)
    author: str
    language: str
    source: str
    categories: tuple[Category, ...]
    image_url: str | None
    image_type: str
    partners: tuple[str, ...]
    topics: tuple[str, ...]
    coop_type: str | None
    # The full text as sanitized HTML paragraphs (None: the entry has only its summary).
    content_html: str | None = None
    enclosures: tuple[Enclosure, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedMeta:
    id: str
    title: str
    description: str
    home_url: str
    language: str | None
    updated: datetime
    hub_url: str | None = None  # WebSub hub announced by the feed (crawler.feeds.websub)


def item_from_release(release: Release) -> FeedItem:
    """The feed view of a stored release (needs `release.source` loaded)."""
    source = release.source
    raw_summary = xml_safe(release.summary).strip()
    summary_html: str | None = None
    if raw_summary and looks_like_html(raw_summary):
        summary_html = sanitize_html(raw_summary) or None
        summary_text = html_to_text(raw_summary)
    elif raw_summary:
        summary_text = plain_text(raw_summary, keep_paragraphs=True)
    else:
        summary_text = _first_paragraph(release.body)
    title = plain_text(release.title) or plain_text(summary_text[:80]) or "(untitled)"
    image_url = web_url(release.image_url)
    enclosures = _enclosures(release.attachments)
    return FeedItem(
        id=release_entry_id(source.name, release.native_id, release.url),
        url=xml_safe(release.url).strip(),
        title=title,
        published=release.published_at.astimezone(UTC),
        updated=release.updated_at.astimezone(UTC),
        summary_text=summary_text,
        summary_html=summary_html,
        author=plain_text(release.agency) or plain_text(source.agency) or source.name,
        language=_language(release.language or source.language),
        source=source.name,
        categories=_categories(release),
        image_url=image_url,
        image_type=_image_type(image_url),
        partners=tuple(plain_text(p) for p in release.partners or [] if plain_text(p)),
        topics=tuple(plain_text(t) for t in release.topics or [] if plain_text(t)),
        coop_type=plain_text(release.coop_type) or None,
        content_html=_content_html(release.body, image_url, enclosures, release.url),
        enclosures=enclosures,
    )


def page_change_entry_id(page_id: int, version_id: int) -> str:
    """The permanent id of a page change's feed entry.

    A version exists only as a row of this database (a rebuilt database has a history of its
    own), so its row ids are its identity: one entry per version, never reused.
    """
    return f"{TAG_PREFIX}page/{page_id}/{version_id}"


def item_from_page_version(version: PageVersion, agency: str | None = None) -> FeedItem:
    """The feed view of a changed page version (needs `version.page` loaded); `agency` is
    the publisher's name when the page row does not carry one."""
    page = version.page
    title = plain_text(page.title) or plain_text(page.url) or "(untitled)"
    when = version.fetched_at.astimezone(UTC)
    return FeedItem(
        id=page_change_entry_id(page.id, version.id),
        url=xml_safe(page.url).strip(),
        title=f"Updated page: {title}",
        published=when,
        updated=when,
        summary_text=plain_text(version.change_summary),
        summary_html=None,
        author=plain_text(page.agency) or plain_text(agency) or page.source,
        language=_language(page.language),
        source=page.source,
        categories=(),
        image_url=None,
        image_type=_image_type(None),
        partners=(),
        topics=(),
        coop_type=None,
    )


def monitor_entry_id(event_id: int) -> str:
    """The permanent id of a monitor event's entry (events are rows, never rewritten)."""
    return f"{TAG_PREFIX}monitor/{event_id}"


MONITOR_TITLES = {
    "broken": "Source broken",
    "degraded": "Source degraded",
    "recovered": "Source recovered",
    "stale": "Source quiet for longer than usual",
    "notify-failed": "Alert or digest not delivered",
}


def item_from_monitor_event(event: MonitorEvent, home_url: str) -> FeedItem:
    """The feed view of a source-health event, for operators."""
    when = event.created_at.astimezone(UTC)
    heading = MONITOR_TITLES.get(event.kind, event.kind)
    return FeedItem(
        id=monitor_entry_id(event.id),
        # The status page, anchored per event: entries must not share a link.
        url=f"{xml_safe(home_url).strip()}#event-{event.id}",
        title=f"{heading}: {plain_text(event.source)}",
        published=when,
        updated=when,
        summary_text=plain_text(event.message),
        summary_html=None,
        author="stnews",
        language="en",
        source=event.source,
        categories=(Category(event.kind, heading, SCHEMES["health"]),),
        image_url=None,
        image_type=_image_type(None),
        partners=(),
        topics=(),
        coop_type=None,
    )


def feed_meta(
    *,
    id: str,
    title: str,
    description: str,
    home_url: str,
    items: Sequence[FeedItem],
    language: str | None = None,
    hub_url: str | None = None,
) -> FeedMeta:
    """Feed-level data. `updated` is the newest entry's update time, never "now", so a feed
    whose entries did not change is byte-identical to the last one written."""
    updated = max((item.updated for item in items), default=EMPTY_FEED_UPDATED)
    if language is None:
        languages = {i.language for i in items if i.language and i.language != DEFAULT_LANGUAGE}
        # "mul" (BCP 47: multiple languages) rather than guessing one for a mixed feed.
        language = languages.pop() if len(languages) == 1 else ("mul" if languages else None)
    return FeedMeta(
        id=id,
        title=plain_text(title),
        description=plain_text(description) or plain_text(title),
        home_url=home_url,
        language=language,
        updated=updated,
        hub_url=web_url(hub_url),
    )


# --- helpers ---------------------------------------------------------------------------------


def _categories(release: Release) -> tuple[Category, ...]:
    categories: list[Category] = []
    for code in release.partners or []:
        code = plain_text(code)
        if code:
            categories.append(Category(code, partner_label(code), SCHEMES["partner"]))
    for topic in release.topics or []:
        topic = plain_text(topic)
        if topic:
            categories.append(Category(topic, humanize(topic), SCHEMES["topic"]))
    coop_type = plain_text(release.coop_type)
    if coop_type:
        categories.append(Category(coop_type, humanize(coop_type), SCHEMES["coop_type"]))
    return tuple(categories)


def _image_type(url: str | None) -> str:
    if not url:
        return "image/jpeg"
    guessed, _ = mimetypes.guess_type(urlsplit(url).path)
    return guessed if guessed and guessed.startswith("image/") else "image/jpeg"


def _first_paragraph(body: str | None) -> str:
    text = plain_text(body, keep_paragraphs=True)
    first = text.split("\n\n", 1)[0]
    if len(first) <= SUMMARY_FALLBACK_CHARS:
        return first
    cut = first[:SUMMARY_FALLBACK_CHARS].rsplit(" ", 1)[0]
    return cut + "…"


def _language(tag: str | None) -> str:
    """An entry's language tag: the stored one when it is a plausible BCP 47 tag."""
    tag = plain_text(tag).replace("_", "-")
    if tag and all(part.isascii() and part.isalnum() and len(part) <= 8 for part in tag.split("-")):
        return tag
    return DEFAULT_LANGUAGE


def media_type_of(name: str | None, url: str) -> str:
    """An attachment's media type from its file name, else its URL; octet-stream when
    neither says (a reader then offers a download, which is what such a file is)."""
    for candidate in (name or "", urlsplit(url).path):
        suffix = "." + candidate.rsplit(".", 1)[-1].lower() if "." in candidate else ""
        if suffix in _EXTRA_TYPES:
            return _EXTRA_TYPES[suffix]
        guessed, _ = mimetypes.guess_type("file" + suffix) if suffix else (None, None)
        if guessed:
            return guessed
    return "application/octet-stream"


def _enclosures(attachments: Sequence[Any] | None) -> tuple[Enclosure, ...]:
    """The release's attachments that are web files, each once."""
    found: dict[str, Enclosure] = {}
    for attachment in attachments or []:
        if not isinstance(attachment, dict):
            continue
        url = web_url(attachment.get("url"))
        if url is None or url in found:
            continue
        name = plain_text(attachment.get("name"))
        stored_type = plain_text(attachment.get("type")).split(";")[0].strip().lower()
        media_type = (
            stored_type
            if "/" in stored_type and stored_type not in ("application/octet-stream", "text/html")
            else media_type_of(name, url)
        )
        length = attachment.get("length")
        valid_length = length if isinstance(length, int) and length > 0 else None
        found[url] = Enclosure(url, media_type, valid_length, name if name != url else "")
    return tuple(found.values())


def _content_html(
    body: str | None, image_url: str | None, enclosures: Sequence[Enclosure], url: str
) -> str | None:
    """The release's full text as HTML paragraphs, its picture first and its files last."""
    text = xml_safe(body).strip()
    if not text and not enclosures:
        return None
    cut = len(text) > CONTENT_MAX_CHARS
    if cut:
        logger.info("feed content of %s cut at %d characters", url, CONTENT_MAX_CHARS)
        text = text[:CONTENT_MAX_CHARS].rsplit(" ", 1)[0] + " …"
    parts = []
    if image_url:
        parts.append(f'<p><img src="{escape(image_url)}" alt=""></p>')
    parts.append(text_to_html(text))
    if cut:
        link = web_url(xml_safe(url).strip())
        if link:
            parts.append(f'<p><a href="{escape(link)}">Read the whole release</a></p>')
    if enclosures:
        items = "".join(
            f'<li><a href="{escape(e.url)}">{escape(e.title or e.url, quote=False)}</a></li>'
            for e in enclosures
        )
        parts.append(f"<p>Attachments:</p><ul>{items}</ul>")
    return sanitize_html("".join(parts)) or None

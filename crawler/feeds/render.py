"""The renderers: feed documents from `FeedItem`s and a `FeedMeta` (``crawler.feeds.build``),
RSS 2.0 and Atom 1.0 through feedgen, JSON Feed 1.1 by hand (feedgen writes no JSON Feed).
The same input always gives the same bytes: no clock is read."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from crawler.feeds.build import Enclosure, FeedItem, FeedMeta

GENERATOR = "stnews"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
_DC_NS = "http://purl.org/dc/elements/1.1/"
_ATOM_NS = "http://www.w3.org/2005/Atom"
_MEDIA_NS = "http://search.yahoo.com/mrss/"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


# --- Atom and RSS ---------------------------------------------------------------------------


def render_atom(
    meta: FeedMeta, items: Sequence[FeedItem], self_url: str, media_type: str
) -> bytes:
    fg = _generator(meta, self_url, media_type)
    fg.register_extension("stnews", BaseExtension, _AtomEntryExtension, atom=True, rss=False)
    for item in items:
        entry = fg.add_entry(order="append")
        _common_entry(entry, item)
        # feedgen 1.0 drops rel/type/length from entry links (it reads them from the new
        # element instead of the link data), so enclosure links and xml:lang are written here.
        entry.stnews.item = item
        if item.summary_html:
            entry.summary(item.summary_html, type="html")
        elif item.summary_text:
            entry.summary(item.summary_text, type="text")
        if item.content_html:
            entry.content(item.content_html, type="html")
        entry.author(name=item.author)
    return fg.atom_str(pretty=True)


def render_rss(
    meta: FeedMeta, items: Sequence[FeedItem], self_url: str, media_type: str
) -> bytes:
    fg = _generator(meta, self_url, media_type)
    fg.register_extension("stnews", _RssFeedExtension, _RssEntryExtension, atom=False, rss=True)
    fg.stnews.hub = meta.hub_url
    for item in items:
        entry = fg.add_entry(order="append")
        _common_entry(entry, item)
        # An RSS description is read as HTML by every reader, so plain text goes in escaped.
        description = item.summary_html or _text_as_html(item.summary_text)
        if item.content_html:
            # feedgen writes content:encoded when both a description and content are set.
            entry.content(item.content_html)
        if description:
            entry.description(description)
        # RSS <author> must be an e-mail address; an agency is a dc:creator. RSS items have no
        # update time or language of their own: atom:updated and dc:language carry them.
        # RSS's <enclosure> needs a length, so files of unknown size go only into Media RSS.
        entry.stnews.item = item
    return fg.rss_str(pretty=True)


def _generator(meta: FeedMeta, self_url: str, media_type: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(meta.id)
    fg.title(meta.title)
    fg.description(meta.description)
    # feedgen takes the RSS <link> from the last link given: self first, alternate last.
    fg.link(href=self_url, rel="self", type=media_type)
    if meta.hub_url:
        fg.link(href=meta.hub_url, rel="hub")  # WebSub: subscribers may wait for pushes
    fg.link(href=meta.home_url, rel="alternate")
    if meta.language:
        fg.language(meta.language)
    fg.updated(meta.updated)
    fg.lastBuildDate(meta.updated)
    fg.generator(GENERATOR)
    return fg


def _common_entry(entry: Any, item: FeedItem) -> None:
    entry.id(item.id)
    entry.title(item.title)
    entry.link(href=item.url, rel="alternate")
    entry.published(item.published)
    entry.updated(item.updated)
    if item.categories:
        entry.category(
            [{"term": c.term, "label": c.label, "scheme": c.scheme} for c in item.categories]
        )


class _AtomEntryExtension(BaseEntryExtension):
    def __init__(self) -> None:
        self.item: FeedItem | None = None

    def extend_atom(self, entry: Any) -> Any:
        item = self.item
        if item is None:
            return entry
        entry.set(_XML_LANG, item.language)
        for enclosure in item.enclosures:
            # Unqualified like feedgen's own elements: the Atom namespace is the default one.
            # RFC 4287 makes length optional: it is left out rather than guessed.
            attributes = {"rel": "enclosure", "href": enclosure.url, "type": enclosure.media_type}
            if enclosure.length is not None:
                attributes["length"] = str(enclosure.length)
            if enclosure.title:
                attributes["title"] = enclosure.title
            xml_elem("link", entry, **attributes)
        return entry


class _RssFeedExtension(BaseExtension):
    def __init__(self) -> None:
        self.hub: str | None = None

    def extend_ns(self) -> dict[str, str]:
        return {"dc": _DC_NS, "media": _MEDIA_NS}

    def extend_rss(self, feed: Any) -> Any:
        # feedgen writes only the self atom:link into RSS; WebSub wants the hub's too.
        if self.hub:
            channel = feed[0]
            xml_elem(f"{{{_ATOM_NS}}}link", channel, href=self.hub, rel="hub")
        return feed


class _RssEntryExtension(BaseEntryExtension):
    def __init__(self) -> None:
        self.item: FeedItem | None = None

    def extend_rss(self, element: Any) -> Any:
        item = self.item
        if item is None:
            return element
        xml_elem(f"{{{_DC_NS}}}creator", element).text = item.author
        xml_elem(f"{{{_DC_NS}}}language", element).text = item.language
        xml_elem(f"{{{_ATOM_NS}}}updated", element).text = item.updated.isoformat()
        # One <enclosure> (readers take the first; the RSS board advises one per item), and
        # only with a measured length, which RSS requires; every file is a media:content.
        sized = next((e for e in item.enclosures if e.length is not None), None)
        if sized is not None:
            xml_elem(
                "enclosure",
                element,
                url=sized.url,
                length=str(sized.length),
                type=sized.media_type,
            )
        for enclosure in item.enclosures:
            media = xml_elem(
                f"{{{_MEDIA_NS}}}content", element, url=enclosure.url, type=enclosure.media_type
            )
            if enclosure.length is not None:
                media.set("fileSize", str(enclosure.length))
            if enclosure.title:
                xml_elem(f"{{{_MEDIA_NS}}}title", media, type="plain").text = enclosure.title
        if item.image_url:
            xml_elem(f"{{{_MEDIA_NS}}}thumbnail", element, url=item.image_url)
        return element


# --- JSON Feed -------------------------------------------------------------------------------


def render_json(
    meta: FeedMeta, items: Sequence[FeedItem], self_url: str, media_type: str = ""
) -> bytes:
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/)."""
    feed: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": meta.title,
        "home_page_url": meta.home_url,
        "feed_url": self_url,
        "description": meta.description,
    }
    if meta.language:
        feed["language"] = meta.language
    if meta.hub_url:
        feed["hubs"] = [{"type": "WebSub", "url": meta.hub_url}]
    # JSON Feed has no feed-level update time; keep it for parity with Atom and RSS.
    feed["_stnews"] = {"id": meta.id, "updated": _iso(meta.updated), "generator": GENERATOR}
    feed["items"] = [_json_item(item) for item in items]
    return (json.dumps(feed, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def _json_item(item: FeedItem) -> dict[str, Any]:
    data: dict[str, Any] = {"id": item.id, "url": item.url, "title": item.title}
    if item.content_html or item.summary_html:
        data["content_html"] = item.content_html or item.summary_html
    else:
        data["content_text"] = item.summary_text or item.title
    if item.summary_text:
        data["summary"] = item.summary_text
    if item.image_url:
        data["image"] = item.image_url
    data["date_published"] = _iso(item.published)
    data["date_modified"] = _iso(item.updated)
    data["authors"] = [{"name": item.author}]
    if item.categories:
        data["tags"] = [c.label for c in item.categories]
    data["language"] = item.language
    if item.enclosures:
        data["attachments"] = [_json_attachment(e) for e in item.enclosures]
    data["_stnews"] = {
        "source": item.source,
        "partners": list(item.partners),
        "topics": list(item.topics),
        "coop_type": item.coop_type,
    }
    return data


def _json_attachment(enclosure: Enclosure) -> dict[str, Any]:
    data: dict[str, Any] = {"url": enclosure.url, "mime_type": enclosure.media_type}
    if enclosure.title:
        data["title"] = enclosure.title
    if enclosure.length is not None:
        data["size_in_bytes"] = enclosure.length
    return data




def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def _text_as_html(text: str) -> str:
    return "".join(f"<p>{escape(p, quote=False)}</p>" for p in text.split("\n\n") if p)

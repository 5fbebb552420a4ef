"""Spiders driven by a source's selectors in the sources file: no Python per site.

``ConfiguredSpider`` reads an ``html`` source: ``[source.list]`` finds the releases on a list
page and the next page, ``[source.detail]`` reads each release page. ``ConfiguredPageSpider``
reads a ``page`` source: one snapshot of each start URL's main text.

Selectors are parsel CSS: one ending in ``::text`` or ``::attr(name)`` gives strings, any
other gives elements, read as their text (a link or image element: its ``href``/``src``).
Where the body or date selectors are missing or match nothing, generic extraction
(``crawler.generic``) fills in, and the release records it (``extraction = "generic"``).

The registry (``crawler.source_registry``) makes one subclass per source, carrying its
``source_config``; these classes have no name of their own, so Scrapy does not list them.
They have no Scrapy contracts (their pages differ per source): ``stnews check SOURCE`` runs
a configured source against its fixtures instead.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime, time
from typing import Any

from parsel import Selector, SelectorList
from scrapy import Request
from scrapy.http import Response, TextResponse

from crawler.extract import paragraphs, text_of
from crawler.items import PageSnapshotItem, ReleaseItem
from crawler.release_spider import LIST_PAGE, ReleaseSpider, SourceSpider, listing
from crawler.sources import DetailSelectors, ListSelectors, SourceConfig
from crawler.urls import canonical_url

# native_id is stored in 128 characters; a longer URL standing in for it is hashed.
MAX_ID_LENGTH = 128
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%p", "%X", "%c", "%z")
_SPACES = re.compile(r"\s+")


# --- Reading selections ---------------------------------------------------------------------


def _is_strings(selection: SelectorList) -> bool:
    """Whether a selection holds strings (``::text``, ``::attr()``) rather than elements."""
    return bool(selection) and all(isinstance(found.root, str) for found in selection)


def selected_text(scope: Selector | SelectorList | Response, css: str | None) -> str:
    """The text a selector picks out on one line: its strings joined, or its first element's
    text ("" when it matches nothing)."""
    if not css:
        return ""
    selection = scope.css(css)
    if not selection:
        return ""
    if _is_strings(selection):
        return _SPACES.sub(" ", " ".join(selection.getall())).strip()
    return text_of(selection[0])


def selected_link(scope: Selector | SelectorList | Response, css: str | None) -> str | None:
    """The URL a selector picks out: the string, or the element's ``href``/``src``."""
    if not css:
        return None
    for found in scope.css(css):
        value = found.get() if isinstance(found.root, str) else _link_attribute(found)
        value = (value or "").strip()
        if value and not value.startswith(("javascript:", "#", "mailto:")):
            return value
    return None


def _link_attribute(element: Selector) -> str | None:
    attrib = element.attrib
    return attrib.get("href") or attrib.get("src") or attrib.get("data-src")


def selected_paragraphs(
    scope: Selector | SelectorList | Response, css: str | None, drop: Iterable[str] = ()
) -> list[str]:
    """Paragraphs of every element a selector matches (``div.text p`` gives each ``p``),
    minus the parts ``drop`` names; an element inside one already read is not read twice."""
    if not css:
        return []
    selection = scope.css(css)
    if _is_strings(selection):
        return [text for text in (_SPACES.sub(" ", s).strip() for s in selection.getall()) if text]
    found: list[str] = []
    taken: set[Any] = set()
    for element in selection:
        root = element.root
        if any(ancestor in taken for ancestor in root.iterancestors()):
            continue
        taken.add(root)
        found.extend(paragraphs(element, drop=drop))
    return found


# --- Values -------------------------------------------------------------------------------------


def pattern_value(text: str, pattern: str | None) -> str | None:
    """``text`` through a pattern's first group (its whole match without groups); the text
    itself without a pattern; None when the pattern does not match."""
    if not pattern:
        return text or None
    match = re.search(pattern, text)
    if match is None:
        return None
    value = match.group(1) if match.re.groups else match.group(0)
    return value.strip() or None


def apply_date_formats(text: str | None, formats: Iterable[str]) -> str | None:
    """A date in an unambiguous form when one of the source's strptime formats reads it
    (``05/04/2026`` with ``%d/%m/%Y`` → ``2026-04-05``); else the text as the page shows it,
    for the normalize step's parser."""
    if not text:
        return text
    for form in formats:
        try:
            parsed = datetime.strptime(text.strip(), form)
        except ValueError:
            continue
        if parsed.tzinfo is not None:
            return parsed.isoformat()
        if parsed.time() == time() and not any(d in form for d in _TIME_DIRECTIVES):
            return parsed.strftime("%Y-%m-%d")
        return parsed.strftime("%Y-%m-%d %H:%M:%S")
    return text


def release_id(url: str, pattern: str | None) -> str:
    """The site's id of a release: ``pattern``'s group on its URL, else the canonical URL
    (hashed when too long to store)."""
    if pattern and (match := re.search(pattern, url)):
        return match.group(1) if match.re.groups else match.group(0)
    canonical = canonical_url(url)
    if len(canonical) <= MAX_ID_LENGTH:
        return canonical
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def selectors_digest(config: SourceConfig) -> str:
    """Short hash of what decides a configured source's extraction."""
    reading = {
        "list": config.listing.model_dump() if config.listing else None,
        "detail": config.detail.model_dump() if config.detail else None,
        "date_formats": config.date_formats,
    }
    encoded = json.dumps(reading, sort_keys=True).encode("utf-8")
    return hashlib.sha256(encoded).hexdigest()[:8]


def generic_extraction(response: Response) -> Any | None:
    """Generic extraction of a page, or None where ``crawler.generic`` is not installed."""
    try:
        from crawler.generic import generic_extract
    except ImportError:
        return None
    return generic_extract(response)


# --- Spiders ------------------------------------------------------------------------------------


def list_entries(
    response: TextResponse, selectors: ListSelectors
) -> Iterator[tuple[str, str | None, str | None]]:
    """(absolute URL, title, date) of each release a list page shows, read with the
    ``[source.list]`` selectors; links outside ``link_pattern`` and fixed notices skipped."""
    for entry in response.css(selectors.item):
        href = selected_link(entry, selectors.link)
        if not href:
            continue
        url = response.urljoin(href)
        if selectors.link_pattern and not re.search(selectors.link_pattern, url):
            continue
        title = selected_text(entry, selectors.title) or None
        if any(marker in (title or text_of(entry)) for marker in selectors.skip_titles):
            continue
        yield url, title, selected_text(entry, selectors.date) or None


class ConfiguredSpider(ReleaseSpider):
    """An ``html`` source read through its ``[source.list]`` and ``[source.detail]`` tables."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config = self.source_config
        if config is None or config.listing is None:
            raise ValueError(
                f"{type(self).__name__} needs a source with a [source.list] table: use the "
                "class the registry builds for it (crawler.source_registry.spider_classes)"
            )
        self.config: SourceConfig = config
        self.list_selectors: ListSelectors = config.listing
        self.detail_selectors: DetailSelectors = config.detail or DetailSelectors()
        # The selectors are this spider's extraction: editing them changes the version, so
        # releases read with the old ones can be found and re-extracted.
        self.extractor_version = f"configured-1.{selectors_digest(config)}"
        self._warned_no_generic = False

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        """A list page: one request per release, then the next list page."""
        if not isinstance(response, TextResponse):
            return
        selectors = self.list_selectors
        followed = 0
        for url, title, date in list_entries(response, selectors):
            followed += 1
            yield Request(
                url,
                callback=self.parse_detail,
                cb_kwargs={"list_title": title, "list_date": date},
                meta=listing(release_id(url, selectors.id_pattern), title, date),
            )
        # A page past the end may still show the pager; stop where the releases stop.
        next_page = selected_link(response, selectors.next_page) if followed else None
        if next_page:
            yield Request(response.urljoin(next_page), callback=self.parse, meta=LIST_PAGE)

    def parse_detail(
        self,
        response: Response,
        list_title: str | None = None,
        list_date: str | None = None,
        **kwargs: Any,
    ) -> Iterator[ReleaseItem]:
        """One release page: always one item; validation drops incomplete ones."""
        listed = response.meta.get("listing") or {}
        native_id = listed.get("id") or release_id(response.url, self.list_selectors.id_pattern)
        formats = self.config.date_formats
        if not isinstance(response, TextResponse):  # not a page at all: let validation count it
            yield self.release_item(
                response,
                native_id=native_id,
                title=list_title,
                published_raw=apply_date_formats(list_date, formats),
            )
            return
        selectors = self.detail_selectors
        title = selected_text(response, selectors.title) or list_title
        published = pattern_value(
            selected_text(response, selectors.date), selectors.date_pattern
        ) or (list_date or None)
        modified = pattern_value(
            selected_text(response, selectors.modified), selectors.modified_pattern
        )
        body = "\n\n".join(selected_paragraphs(response, selectors.body, selectors.remove))
        summary = selected_text(response, selectors.summary) or None
        image = selected_link(response, selectors.image)
        extraction = "selectors"
        if (not body or not published or not title) and selectors.generic_fallback:
            found = self._generic(response)
            if found is not None:
                if not body and found.body:
                    body, extraction = found.body, "generic"
                    # The page's description and image go with a generic body.
                    summary = summary or found.summary
                    image = image or found.image_url
                published = published or found.published_raw
                title = title or found.title
        yield self.release_item(
            response,
            native_id=native_id,
            title=title or None,
            published_raw=apply_date_formats(published, formats),
            modified_raw=apply_date_formats(modified, formats),
            body=body,
            summary=summary,
            image_url=response.urljoin(image) if image else None,
            attachments=self._attachments(response),
            contact_org=selected_text(response, selectors.contact_org) or None,
            extraction=extraction,
        )

    def _attachments(self, response: TextResponse) -> list[dict[str, str]]:
        css = self.detail_selectors.attachments
        if not css:
            return []
        files: dict[str, str] = {}
        for found in response.css(css):
            if isinstance(found.root, str):
                href, name = found.get().strip(), ""
            else:
                href = (_link_attribute(found) or "").strip()
                name = text_of(found) or found.attrib.get("title", "").strip()
            if not href or href.startswith(("javascript:", "#", "mailto:")):
                continue
            url = response.urljoin(href)
            files.setdefault(url, name or url.rstrip("/").rsplit("/", 1)[-1])
        return [{"name": name, "url": url} for url, name in files.items()]

    def _generic(self, response: Response) -> Any | None:
        found = generic_extraction(response)
        if found is None and not self._warned_no_generic:
            self._warned_no_generic = True
            self.logger.warning(
                "%s: selectors found no body or date on %s and generic extraction "
                "(crawler.generic) is not available",
                self.name,
                response.url,
            )
        return found


class ConfiguredPageSpider(SourceSpider):
    """A ``page`` source: each start URL, fetched in full on every crawl, gives one snapshot
    of its main text (``[source.detail]`` title, body and remove)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        config = self.source_config
        if config is None:
            raise ValueError(
                f"{type(self).__name__} needs a source: use the class the registry builds"
            )
        self.detail_selectors: DetailSelectors = config.detail or DetailSelectors()

    async def start(self) -> AsyncIterator[Request]:
        # No conditional requests: a changed visit counter alone changes a page's ETag.
        for url in self.start_urls:
            yield Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[PageSnapshotItem]:
        """One snapshot of a monitored page."""
        if not isinstance(response, TextResponse):
            return
        selectors = self.detail_selectors
        text = "\n\n".join(selected_paragraphs(response, selectors.body, selectors.remove))
        title = selected_text(response, selectors.title)
        if (not text or not title) and selectors.generic_fallback:
            found = generic_extraction(response)
            if found is not None:
                text = text or found.body or ""
                title = title or found.title or ""
        yield PageSnapshotItem(
            source=self.name,
            url=response.url,
            title=title or _page_title(response),
            text=text,
            language=self.language,
            agency=self.agency,
            agency_country=self.agency_country,
            fetched_at=datetime.now(UTC),
            raw_body=response.body,
        )


def _page_title(response: TextResponse) -> str:
    return (
        selected_text(response, 'meta[property="og:title"]::attr(content)')
        or selected_text(response, "title")
        or response.url
    )

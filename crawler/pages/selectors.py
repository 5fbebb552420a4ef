"""Reading CSS selections (parsel syntax, ``::text`` and ``::attr()`` allowed) as text,
links and paragraphs, and the small value rules of the sources file (patterns, date formats,
ids). Shared by every page object."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime, time
from typing import Any
from urllib.parse import urljoin

from parsel import Selector, SelectorList
from scrapy.http import TextResponse

from crawler.extract import paragraphs, text_of
from crawler.urls import canonical_url
from storage.links import web_link

Scope = Selector | SelectorList | TextResponse

#: native_id is stored in 128 characters; a longer URL standing in for it is hashed.
MAX_ID_LENGTH = 128
#: Link targets that lead nowhere a crawler can follow.
DEAD_LINK = ("javascript:", "#", "mailto:", "tel:", "data:")
_TIME_DIRECTIVES = ("%H", "%I", "%M", "%S", "%p", "%X", "%c", "%z")
_SPACES = re.compile(r"\s+")


def is_strings(selection: SelectorList) -> bool:
    """Whether a selection holds strings (``::text``, ``::attr()``) rather than elements."""
    return bool(selection) and all(isinstance(found.root, str) for found in selection)


def selected_text(scope: Scope, css: str | None) -> str:
    """The text a selector picks out on one line: its strings joined, or its first element's
    text ("" when it matches nothing)."""
    if not css:
        return ""
    selection = scope.css(css)
    if not selection:
        return ""
    if is_strings(selection):
        return _SPACES.sub(" ", " ".join(selection.getall())).strip()
    return text_of(selection[0])


def link_attribute(element: Selector) -> str | None:
    attrib = element.attrib
    return attrib.get("href") or attrib.get("src") or attrib.get("data-src")


def usable_link(value: str | None) -> str | None:
    """A link worth following: not empty, not a script, mail, phone or in-page link."""
    value = (value or "").strip()
    if not value or value.lower().startswith(DEAD_LINK):
        return None
    return value


def absolute_link(base: TextResponse | str, href: str | None) -> str | None:
    """``href`` made absolute against a page (its ``<base>`` too) or a URL, if it is an
    http(s) link: None for ``mailto:``, ``tel:``, ``javascript:``, ``data:`` and for what
    urllib cannot parse (``http://[host``, a port out of range). One bad link costs only
    its own item, never the page it is on (issue 18)."""
    href = usable_link(href)
    if not href:
        return None
    try:
        url = base.urljoin(href) if isinstance(base, TextResponse) else urljoin(base, href)
    except ValueError:
        return None
    return url if web_link(url) else None


def selected_link(scope: Scope, css: str | None) -> str | None:
    """The URL a selector picks out: the string, or the element's ``href``/``src``."""
    if not css:
        return None
    for found in scope.css(css):
        value = found.get() if isinstance(found.root, str) else link_attribute(found)
        if link := usable_link(value):
            return link
    return None


def selected_paragraphs(scope: Scope, css: str | None, drop: Iterable[str] = ()) -> list[str]:
    """Paragraphs of every element a selector matches (``div.text p`` gives each ``p``),
    minus the parts ``drop`` names; an element inside one already read is not read twice."""
    if not css:
        return []
    selection = scope.css(css)
    if is_strings(selection):
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

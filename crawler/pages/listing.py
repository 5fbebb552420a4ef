"""List pages: the releases a page lists and the next page, with discovery as the fallback.

The source's ``[source.list]`` selectors (or its site code) come first. When they match
nothing (the site changed its markup) the page is searched for links matching the source's
detail-URL pattern (``link_pattern``, else ``id_pattern``) in its content, chrome left out:
menus and footers link pages of the same shape (NSTC's footer links three ``/folksonomy/
detail/`` policy pages). Such a reading says so (``stage = "discovery"``, with the reason), and
the crawl reports the source degraded.

The next page is found whatever the pager looks like (``next_page_url``):

- the source's ``next_page`` selector;
- a link to the same list with the page parameter one higher (``?page=``, ``pageNum=``,
  ``pageIndex=``, ``pageNo=``, ``currentPage=``);
- a script pager calling ``fn_paging(N)``, ``fn_egov_link_page(N)``, ``pageLink(N)`` and the
  like: the page's own hidden page field (``#pageIndex``) names the parameter to send;
- a pager form (NSTC's ``#change_page`` with ``pageNum`` and ``pageSize``), submitted as a GET
  with the page number one higher, unless the page says it is the last ("第 1/1 頁",
  "Page 3 of 3").

A spider stops paging when a page lists nothing new, so a pager that keeps answering past the
end costs one request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from parsel import Selector
from scrapy.http import TextResponse
from w3lib.url import add_or_replace_parameter

from crawler.extract import text_of
from crawler.pages.chrome import strip_chrome
from crawler.pages.fields import ListEntry, ListReading
from crawler.pages.selectors import (
    absolute_link,
    link_attribute,
    release_id,
    selected_link,
    selected_text,
)
from crawler.sources import DiscoverOptions, ListSelectors, SourceConfig
from crawler.urls import canonical_url

#: Query parameters that number list pages (compared case-insensitively).
PAGE_PARAMS = ("page", "pagenum", "pageindex", "pageno", "currentpage", "cpage")
_JS_PAGER = re.compile(
    r"\b(?:fn_paging|fn_egov_link_page|fn_link_page|fn_linkPage|linkPage|pageLink|goPage"
    r"|fn_goPage|movePage|goToPage|fnGoPage|fn_search_page)\s*\(\s*['\"]?(\d+)",
    re.IGNORECASE,
)
_LAST_PAGE = re.compile(
    r"第\s*(\d+)\s*/\s*(\d+)\s*頁|page\s+(\d+)\s*(?:of|/)\s*(\d+)"
    r"|(\d+)\s*/\s*(\d+)\s*(?:pages?|페이지|頁)",
    re.IGNORECASE,
)
# Dates as lists write them: 2026-01-07, 2026.01.07, 2026. 1. 7, 2026/01/07, 115-04-29 (ROC),
# Jan 22, 2026, 22 January 2026, 2026年1月7日, 2026년 1월 7일.
_DATE = re.compile(
    r"\b\d{4}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2}\b|\b\d{2,3}[-/.]\d{1,2}[-/.]\d{1,2}\b"
    r"|\b[A-Z][a-z]{2,8}\.?\s+\d{1,2},\s*\d{4}\b|\b\d{1,2}\s+[A-Z][a-z]{2,8}\s+\d{4}\b"
    r"|\d{2,4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}\s*년\s*\d{1,2}\s*월\s*\d{1,2}\s*일"
)


class ListPage:
    """The list pages of one source, read with ``[source.list]`` (sites with code override
    ``entries``)."""

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.selectors: ListSelectors | None = config.listing

    # --- Hooks ------------------------------------------------------------------------------

    def native_id(self, url: str) -> str | None:
        pattern = self.selectors.id_pattern if self.selectors else None
        if pattern and re.search(pattern, url):
            return release_id(url, pattern)
        return release_id(url, None)

    def link_pattern(self) -> str | None:
        """What a detail URL looks like, for discovery."""
        if self.selectors is None:
            return None
        return self.selectors.link_pattern or self.selectors.id_pattern

    def entries(self, response: TextResponse) -> tuple[list[ListEntry], int, int]:
        """(entries, items matched, fixed notices skipped) as the list selectors read them."""
        selectors = self.selectors
        if selectors is None:
            return [], 0, 0
        found: list[ListEntry] = []
        items = response.css(selectors.item)
        skipped = bad_links = 0
        for item in items:
            href = selected_link(item, selectors.link)
            url = absolute_link(response, href) if href else None
            if url is None:
                # A mail, phone, script or data link, or one urllib cannot parse, that names
                # a release (the link pattern is in it) is a bad entry, counted; a menu's
                # "javascript:void(0)" in a broad item selector is no entry at all.
                bad_links += _names_a_release(_raw_link(item, selectors.link),
                                              selectors.link_pattern)  # fmt: skip
                continue
            if selectors.link_pattern and not re.search(selectors.link_pattern, url):
                continue
            title = selected_text(item, selectors.title) or None
            if _is_notice(title or text_of(item), selectors.skip_titles):
                skipped += 1
                continue
            date = selected_text(item, selectors.date) or None
            publisher = selected_text(item, selectors.publisher) or None
            found.append(ListEntry(url, self.native_id(url), title, date, publisher=publisher))
        self.bad_links = bad_links  # read by read(): entries() keeps its three values
        return found, len(items), skipped

    # --- Reading ----------------------------------------------------------------------------

    def read(self, response: TextResponse) -> ListReading:
        entries, matched, skipped = self.entries(response)
        kept = self.selectors.publishers if self.selectors else []
        if kept:
            own = [entry for entry in entries if entry.publisher in kept]
            others = len(entries) - len(own)
        else:
            own, others = entries, 0
        reading = ListReading(
            entries=own, matched=matched, skipped_notices=skipped, other_publishers=others,
            bad_links=getattr(self, "bad_links", 0),
        )
        pattern = self.link_pattern()
        if not entries and pattern and not skipped:
            notices = self.selectors.skip_titles if self.selectors else []
            discovered = discover_entries(response, pattern, self.native_id, notices)
            if discovered:
                reading.entries = discovered
                reading.stage = "discovery"
                reading.problem = (
                    f"list selectors matched no release on {response.url}; "
                    f"{len(discovered)} found by the detail-URL pattern"
                )
        if reading.entries or reading.other_publishers:
            configured = self.selectors.next_page if self.selectors else None
            next_url = next_page_url(response, configured)
            reading.next_pages = [next_url] if next_url else []
        return reading


def _is_notice(text: str, markers: Iterable[str]) -> bool:
    return any(marker in text for marker in markers)


# --- Discovery --------------------------------------------------------------------------------


def _row(link: Selector, is_release: Any) -> Selector:
    """The list row of a link: its highest ancestor (up to a few levels) that holds no other
    release link, so a date found there is this release's, not a neighbour's."""
    row = link
    for ancestor in reversed(link.xpath("ancestor::*[position() <= 4]")):
        hrefs = {h for h in ancestor.css("a::attr(href)").getall() if is_release(h)}
        if len(hrefs) > 1 or ancestor.root.tag in ("body", "html"):
            break
        row = ancestor
    return row


def _row_date(link: Selector, row: Selector) -> str | None:
    """A date shown in the link's list row, outside the title."""
    dated = row.css("[class*=date], [class*=Date], time")
    if dated:
        return text_of(dated[0]) or None
    title = text_of(link.css("h1, h2, h3, h4, h5, h6, strong")) if link is not row else ""
    text = text_of(row).replace(title, " ") if title else text_of(row)
    match = _DATE.search(text)
    return match.group(0) if match else None


def _link_title(link: Selector) -> str | None:
    """A discovered link's title: a heading inside it, its title attribute, or its text
    without the date a list row often writes beside the title."""
    heading = link.css("h1, h2, h3, h4, h5, h6, strong")
    if heading and (text := text_of(heading[0])):
        return text
    if text := " ".join(link.attrib.get("title", "").split()):
        return text
    return " ".join(_DATE.sub(" ", text_of(link)).split()) or None


def discover_entries(
    response: TextResponse,
    pattern: str,
    native_id: Callable[[str], str | None] | None = None,
    notices: Iterable[str] = (),
) -> list[ListEntry]:
    """Links to releases in the page's content (chrome left out), in page order."""
    body = response.selector.root.find("body")
    if body is None:
        return []
    native_id = native_id or (lambda url: release_id(url, None))
    content = Selector(root=strip_chrome(body), type="html")
    compiled = re.compile(pattern)

    def is_release(href: str) -> bool:
        url = absolute_link(response, href)
        return url is not None and bool(compiled.search(url))

    found: dict[str, ListEntry] = {}
    for link in content.css("a[href]"):
        url = absolute_link(response, link.attrib.get("href"))
        if url is None or not compiled.search(url):
            continue
        key = canonical_url(url)
        title = _link_title(link)
        if key in found:
            if title and not found[key].title:
                found[key] = ListEntry(url, found[key].native_id, title, found[key].date)
            continue
        if title and _is_notice(title, notices):
            continue
        found[key] = ListEntry(url, native_id(url), title, _row_date(link, _row(link, is_release)))
    return list(found.values())


def find_list_url(response: TextResponse, options: DiscoverOptions) -> str | None:
    """The list a page's menu links to: the first link whose text matches ``link_text``
    (tried in order) and whose URL matches ``link_pattern``. Menus are chrome, so the whole
    page is searched."""
    links = []
    for link in response.css("a[href]"):
        if url := absolute_link(response, link.attrib.get("href")):
            label = text_of(link) or " ".join(link.attrib.get("title", "").split())
            links.append((label, url))
    for text_pattern in options.link_text:
        wanted = re.compile(text_pattern, re.IGNORECASE)
        for label, url in links:
            if not wanted.search(label):
                continue
            if options.link_pattern and not re.search(options.link_pattern, url):
                continue
            return url
    return None


# --- Pagers -----------------------------------------------------------------------------------


def _page_param(url: str) -> tuple[str, int] | None:
    for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True):
        if name.lower() in PAGE_PARAMS and value.strip().isdigit():
            return name, int(value)
    return None


def current_page(response: TextResponse) -> int:
    found = _page_param(response.url)
    if found:
        return found[1]
    for field in response.css("input[name]"):
        if field.attrib["name"].lower() in PAGE_PARAMS:
            value = (field.attrib.get("value") or "").strip()
            if value.isdigit():
                return int(value)
    return 1


def _says_last_page(response: TextResponse) -> bool:
    for text in response.css("body *::text").getall():
        match = _LAST_PAGE.search(text)
        if match:
            numbers = [int(n) for n in match.groups() if n]
            return numbers[0] >= numbers[1]
    return False


def _names_a_release(raw: str, pattern: str | None) -> bool:
    if not raw or raw.startswith("#"):
        return False
    if pattern:
        return bool(re.search(pattern, raw))
    return raw.lower().startswith(("http", "/"))  # a malformed web link


def _raw_link(item: Selector, css: str | None) -> str:
    """The first link a list selector finds in an item, as written."""
    for found in item.css(css) if css else []:
        value = found.get() if isinstance(found.root, str) else link_attribute(found)
        if value and value.strip():
            return value.strip()
    return ""


def next_page_url(response: TextResponse, configured: str | None = None) -> str | None:
    """The URL of the list page after this one (see the module docstring), or None."""
    if configured and (link := selected_link(response, configured)):
        return absolute_link(response, link)
    wanted = current_page(response) + 1
    path = urlsplit(response.url).path
    for href in response.css("a::attr(href)").getall():
        url = absolute_link(response, href)
        if url is None:
            continue
        found = _page_param(url)
        if found and found[1] == wanted and urlsplit(url).path == path:
            return url
    calls = [*response.css("a::attr(onclick)").getall(), *response.css("a::attr(href)").getall()]
    if any(int(n) == wanted for call in calls for n in _JS_PAGER.findall(call)):
        return add_or_replace_parameter(response.url, _param_name(response), str(wanted))
    if _says_last_page(response):
        return None
    for form in response.css("form"):
        fields = form.css("input[name], select[name]")
        names = [f.attrib["name"] for f in fields]
        page_name = next((n for n in names if n.lower() in PAGE_PARAMS), None)
        if page_name is None:
            continue
        action = absolute_link(response, form.attrib.get("action") or response.url)
        if action is None or urlsplit(action).path != path:
            continue
        return _form_url(action, form, page_name, wanted)
    return None


def _param_name(response: TextResponse) -> str:
    """The page parameter a script pager sends: the page's hidden page field, else the one in
    the URL, else eGovFrame's ``pageIndex``."""
    for field in response.css("input[name]"):
        if field.attrib["name"].lower() in PAGE_PARAMS:
            return field.attrib["name"]
    found = _page_param(response.url)
    return found[0] if found else "pageIndex"


def _form_url(action: str, form: Selector, page_name: str, page: int) -> str:
    parts = urlsplit(action)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for field in form.css("input[name]"):
        kind = (field.attrib.get("type") or "text").lower()
        if kind in ("submit", "button", "image", "reset", "file"):
            continue
        query[field.attrib["name"]] = field.attrib.get("value", "")
    query[page_name] = str(page)
    return urlunsplit(parts._replace(query=urlencode(query)))

"""Selector proposals: where on a page the values a fallback found really are.

When a field came from generic extraction (or a template, or the list), the page still holds
it somewhere: the element whose text is the title, the smallest element holding the body's
paragraphs, the element that writes the date. A proposal is a CSS selector for that element,
built from stable names (ids that do not end in a row number, classes that are not state such
as ``on`` or ``active``), checked on every page it is proposed from: a selector is only
proposed when it reads the same value on all of them.

For lists, the release links discovery found share one repeated block: the proposal is that
block (``item``), its link, title and date.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lxml.html import HtmlElement
from parsel import Selector
from scrapy.http import TextResponse

from crawler.extract import text_of
from crawler.pages.chrome import is_chrome
from crawler.pages.dates import DATE_IN_TEXT, visible_dates
from crawler.pages.fields import ListEntry, ReleaseFields
from crawler.pages.selectors import selected_paragraphs, selected_text

# Names that say what an element is now, not what it is: never part of a proposal.
_STATE_CLASSES = frozenset({
    "on", "active", "selected", "current", "open", "show", "hidden", "clearfix", "fleft",
    "fright", "left", "right", "first", "last",
})  # fmt: skip
_GENERATED = re.compile(r"\d{2,}|_\d+$|-\d+$|^[0-9a-f]{8,}$", re.IGNORECASE)
#: Share of the fallback's body a proposed body element must hold, and most extra text.
BODY_COVERAGE = 0.9
BODY_EXCESS = 0.5


@dataclass
class Proposal:
    field: str  # a [source.detail] or [source.list] key: "title", "body", "date", "item"...
    selector: str
    check: str  # what a person should look at before trusting it
    pages: int = 1  # on how many pages it was checked
    extra: dict[str, str] = field(default_factory=dict)  # e.g. {"date_pattern": ...}


def _stable_classes(element: HtmlElement) -> list[str]:
    return [
        name for name in (element.get("class") or "").split()
        if name.lower() not in _STATE_CLASSES and not _GENERATED.search(name)
    ]  # fmt: skip


def _step(element: HtmlElement) -> str:
    tag = element.tag if isinstance(element.tag, str) else "*"
    identifier = element.get("id")
    if identifier and not _GENERATED.search(identifier) and re.fullmatch(r"[A-Za-z][\w-]*",
                                                                         identifier):  # fmt: skip
        return f"{tag}#{identifier}"
    classes = _stable_classes(element)
    return tag + "".join(f".{name}" for name in classes[:2])


def css_path(element: HtmlElement, document: Selector) -> str:
    """A short CSS selector for ``element``: its own step, then ancestors' steps until the
    selector matches it alone (or an id anchors it)."""
    steps: list[str] = []
    node: HtmlElement | None = element
    while node is not None and isinstance(node.tag, str) and node.tag not in ("html", "body"):
        steps.insert(0, _step(node))
        selector = " ".join(steps)
        matches = document.css(selector)
        if len(matches) == 1 and matches[0].root is element:
            return selector
        if "#" in steps[0]:
            break
        node = node.getparent()
    return " ".join(steps)


def _content_elements(document: Selector) -> Iterable[HtmlElement]:
    for element in document.root.iter():
        if not isinstance(element.tag, str) or element.tag in ("html", "head", "body"):
            continue
        if is_chrome(element) or any(is_chrome(a) for a in element.iterancestors()):
            continue
        yield element


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


# --- Detail pages -----------------------------------------------------------------------------


_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")


def _title_element(response: TextResponse, title: str) -> HtmlElement | None:
    wanted = _norm(title)
    found = [
        element for element in _content_elements(response.selector)
        if _norm(element.text_content()) == wanted
    ]  # fmt: skip
    # The innermost element that holds exactly the title (a heading before a span in it).
    found.sort(key=lambda e: (e.tag not in _HEADINGS, -len(list(e.iterancestors()))))
    return found[0] if found else None


def _body_element(response: TextResponse, body: Sequence[str]) -> HtmlElement | None:
    """The smallest element whose paragraphs hold most of ``body``."""
    wanted = [_norm(p) for p in body if p.strip()]
    total = sum(len(p) for p in wanted)
    if not total:
        return None
    best: tuple[int, HtmlElement] | None = None
    for element in _content_elements(response.selector):
        text = _norm(element.text_content())
        if len(text) < total * BODY_COVERAGE:
            continue
        held = sum(len(p) for p in wanted if p in text)
        if held < total * BODY_COVERAGE or len(text) > total * (1 + BODY_EXCESS) + 200:
            continue
        if best is None or len(text) < best[0]:
            best = (len(text), element)
    return best[1] if best else None


def _date_element(response: TextResponse, day: str) -> tuple[HtmlElement, str] | None:
    """The innermost element writing the date ``day`` (ISO), and the text it writes."""
    candidates = []
    for element in _content_elements(response.selector):
        own = " ".join((element.text or "").split())
        for match in DATE_IN_TEXT.finditer(own):
            if day in visible_dates([match.group(0)]):
                candidates.append((element, own))
    if not candidates:
        return None
    candidates.sort(key=lambda pair: len(pair[1]))
    return candidates[0]


def _label_pattern(text: str, date_text: str) -> str | None:
    """`Label:\\s*(<date>)` when the element writes a label right before the date."""
    before = text[: text.find(date_text)].strip()
    match = re.search(r"(\w[\w ]{0,29}?)\s*[:：]$", before)
    if not match:
        return None
    return re.escape(match.group(1)) + r"\s*[:：]\s*" + _date_shape(date_text)


def propose_detail(
    pages: Sequence[tuple[TextResponse, ReleaseFields]],
) -> list[Proposal]:
    """Selectors for the fields that needed a fallback, checked on every page given."""
    proposals: list[Proposal] = []
    for name, key in (("title", "title"), ("body", "body"), ("published_raw", "date")):
        needing = [(r, f) for r, f in pages if f.stages.get(name, "selectors") != "selectors"
                   and getattr(f, name)]  # fmt: skip
        if not needing:
            continue
        votes: dict[str, int] = {}
        extras: dict[str, dict[str, str]] = {}
        for response, fields in needing:
            found = _propose_one(response, fields, name)
            if found:
                selector, extra = found
                votes[selector] = votes.get(selector, 0) + 1
                extras[selector] = extra
        for selector, _count in sorted(votes.items(), key=lambda kv: -kv[1]):
            agree = sum(1 for r, f in needing if _reads(r, f, name, selector, extras[selector]))
            if agree == len(needing):
                proposals.append(Proposal(key, selector, _CHECKS[name], agree, extras[selector]))
                break
    return proposals


_CHECKS = {
    "title": "open a page and check the selected element is the headline, not a section name",
    "body": "check the body starts and ends where the release does (no share bar, no "
            "contact block); add `remove = [...]` for parts inside it that are not text",
    "published_raw": "check it is the publication date, not a modification or event date",
}


def _propose_one(
    response: TextResponse, fields: ReleaseFields, name: str
) -> tuple[str, dict[str, str]] | None:
    document = response.selector
    if name == "title":
        element = _title_element(response, fields.title or "")
        return (css_path(element, document), {}) if element is not None else None
    if name == "body":
        element = _body_element(response, fields.body)
        return (css_path(element, document), {}) if element is not None else None
    day = _iso_day(fields.published_raw)
    if not day:
        return None
    found = _date_element(response, day)
    if found is None:
        return None
    element, text = found
    date_text = next(
        m.group(0) for m in DATE_IN_TEXT.finditer(text) if day in visible_dates([m.group(0)])
    )
    extra = {}
    if text != date_text:
        extra["date_pattern"] = _label_pattern(text, date_text) or _date_shape(date_text)
    return css_path(element, document), extra


def _date_shape(date_text: str) -> str:
    """A pattern with one group for dates written like ``date_text``."""
    if re.fullmatch(r"\d{4}\D+\d{1,2}\D+\d{1,2}\D*", date_text):
        return r"(\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2})"
    if re.fullmatch(r"[A-Z][a-z]+\.?\s+\d{1,2},\s*\d{4}", date_text):
        return r"([A-Z][a-z]+\.?\s+\d{1,2},\s*\d{4})"
    return r"(\d{1,2}\s+[A-Z][a-z]+\.?\s+\d{4})"


def _iso_day(text: str | None) -> str | None:
    days = visible_dates([text or ""])
    if days:
        return next(iter(days))
    match = re.match(r"\d{4}-\d{2}-\d{2}", text or "")
    return match.group(0) if match else None


def _reads(response: TextResponse, fields: ReleaseFields, name: str, selector: str,
           extra: dict[str, str]) -> bool:  # fmt: skip
    if name == "title":
        return _norm(selected_text(response, selector)) == _norm(fields.title or "")
    if name == "body":
        got = " ".join(_norm(p) for p in selected_paragraphs(response, selector))
        wanted = [_norm(p) for p in fields.body]
        total = sum(len(p) for p in wanted)
        return bool(total) and sum(len(p) for p in wanted if p in got) >= total * BODY_COVERAGE
    text = selected_text(response, selector)
    if extra.get("date_pattern"):
        match = re.search(extra["date_pattern"], text)
        text = match.group(1) if match else ""
    day = _iso_day(fields.published_raw)
    return bool(day) and day in visible_dates([text])


# --- List pages -------------------------------------------------------------------------------


def propose_list(response: TextResponse, entries: Sequence[ListEntry]) -> list[Proposal]:
    """The repeated block holding the discovered release links, as list selectors."""
    urls = {entry.url for entry in entries}
    links = [
        a for a in response.selector.root.iter("a")
        if a.get("href") and response.urljoin(a.get("href")) in urls
        and not any(is_chrome(x) for x in a.iterancestors())
    ]  # fmt: skip
    if len(links) < 2:
        return []
    # The item is the ancestor of each link that is a child of the links' common container.
    container = links[0].getparent()
    while container is not None and not all(container in link.iterancestors() for link in links):
        container = container.getparent()
    if container is None:
        return []
    items = []
    for link in links:
        node = link
        while node.getparent() is not container:
            node = node.getparent()
        items.append(node)
    document = response.selector
    item_step = _step(items[0])
    container_css = css_path(container, document)
    item_css = f"{container_css} > {item_step}"
    if len(document.css(item_css)) < len(set(items)):
        return []
    proposals = [Proposal("item", item_css, "check every release of the page is matched, and "
                          "nothing else (pinned notices can be dropped with skip_titles)",
                          len(items))]  # fmt: skip
    first = items[0]
    link = "::attr(href)" if first is links[0] else "a::attr(href)"
    proposals.append(Proposal("link", link, "relative to the item", len(items)))
    date_holder = next(
        (el for el in first.iter() if isinstance(el.tag, str) and el is not first
         and DATE_IN_TEXT.search(" ".join((el.text or "").split()))), None
    )  # fmt: skip
    if date_holder is not None:
        proposals.append(Proposal("date", _step(date_holder) + "::text", "relative to the item"))
    heading = next(
        (el for el in first.iter("h2", "h3", "h4", "strong") if text_of(Selector(root=el))), None
    )
    if heading is not None:
        proposals.append(Proposal("title", _step(heading), "relative to the item"))
    return proposals


"""Page chrome: the parts of a page around its content (header, menus, breadcrumbs, footer,
skip links, share and print bars). None of it may reach a release body, a monitored-page
snapshot or a list discovery.

Government CMSs rarely use ``<header>``/``<nav>``/``<footer>``: NSTC's chrome is
``div.header``, ``.left_menu``, ``div.path`` and ``div.footer``; the Executive Yuan's is
``section`` navigation, ``ul.breadcrumb`` and ``aside``. So chrome is recognised by element
name, by ARIA role, and by class/id *tokens* naming a role (``left_menu`` → ``menu``), and
skip links by their ``:::`` text or ``accesskey``. Matching whole tokens, not substrings, keeps
``menu_title`` inside an article but drops ``left_menu``; ``top_control`` (EY's title bar) is
not chrome.
"""

from __future__ import annotations

import copy
import re

from lxml import etree
from lxml.html import HtmlElement

#: Elements that are chrome wherever they stand.
CHROME_TAGS = frozenset({"header", "nav", "footer", "aside", "script", "style", "noscript",
                         "template", "iframe", "svg", "dialog"})  # fmt: skip
#: Structural elements whose class names say nothing of their role (``body.menu-open``).
NEVER_CHROME = frozenset({"html", "head", "body", "main", "article", "title", "meta", "h1"})
CHROME_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "menubar", "menu"})
# Words of class and id names that name a chrome role. A class is split into words at
# `-`, `_` and case changes (`leftBtns` → left, btns).
CHROME_WORDS = frozenset({
    "header", "footer", "nav", "navbar", "navigation", "menu", "menus", "submenu", "sitemap",
    "breadcrumb", "breadcrumbs", "path", "accesskey", "accessible", "skip", "gotop", "share",
    "social", "print", "sidebar", "topbar", "toolbar", "cookie", "banner", "copyright",
    "search", "fatfooter", "megamenu",
})  # fmt: skip
# Multi-word names, matched on the whole (lower-cased) class or id.
CHROME_NAMES = frozenset({"go-top", "go_top", "top_control2", "leftbtns", "sub_nav", "subnav",
                          "top-area", "bottom-area", "fp-auto-height"})  # fmt: skip
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
#: Lines that are navigation however they are marked up.
CHROME_LINE = re.compile(
    r"^(?::::+|go to (?:the )?(?:content|navigation)(?: anchor)?(?:\s+go to navigation)?"
    r"|move to the top of (?:the )?page|back to top|skip to (?:main )?content"
    r"|回到最上方|跳到主要內容(?:區塊)?|본문 바로가기|맨 ?위로)$",
    re.IGNORECASE,
)


def _words(value: str) -> set[str]:
    return {word.lower() for word in _WORD.findall(value)}


def is_chrome(element: HtmlElement) -> bool:
    """Whether an element is page chrome (see the module docstring)."""
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    if tag in CHROME_TAGS:
        # Structured data (JSON-LD) is how many pages state their dates: not chrome.
        return not (tag == "script" and "ld+json" in (element.get("type") or ""))
    if tag in NEVER_CHROME:
        return False
    if (element.get("role") or "").lower() in CHROME_ROLES:
        return True
    for attribute in ("class", "id"):
        value = element.get(attribute)
        if not value:
            continue
        for name in value.split():
            if name.lower() in CHROME_NAMES or _words(name) & CHROME_WORDS:
                return True
    # Skip links: "Go to the content" anchors, shown as ":::".
    skip_link = element.get("accesskey") or (element.text_content() or "").strip() == ":::"
    return tag == "a" and bool(skip_link)


def strip_chrome(root: HtmlElement, keep: HtmlElement | None = None) -> HtmlElement:
    """A copy of ``root`` without its chrome. ``keep`` (an element of ``root``) and its
    ancestors are never removed: a content region that sits inside a chrome-named wrapper
    (``div.share`` holding EY's date) stays."""
    kept: set[int] = set()
    if keep is not None:
        kept = {id(node) for node in (keep, *keep.iterancestors())}
    root_copy = copy.deepcopy(root)
    # Map original → copy positions by walking both trees in the same order.
    originals = list(root.iter())
    copies = list(root_copy.iter())
    doomed = []
    for original, duplicate in zip(originals, copies, strict=True):
        if not isinstance(original.tag, str) or id(original) in kept:
            continue
        if original is root:
            continue
        if is_chrome(original):
            doomed.append(duplicate)
    for node in doomed:
        _drop(node)
    return root_copy


def _drop(node: HtmlElement) -> None:
    """Remove an element but keep its tail text, which belongs to its parent."""
    parent = node.getparent()
    if parent is None:
        return
    tail = node.tail
    if tail and tail.strip():
        previous = node.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(node)


def without_chrome_lines(paragraphs: list[str]) -> list[str]:
    """Paragraphs minus lines that are navigation wherever they appear."""
    return [p for p in paragraphs if not CHROME_LINE.match(p.strip())]


def serialize(root: HtmlElement) -> str:
    return etree.tostring(root, encoding="unicode", method="html")

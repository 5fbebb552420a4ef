"""Turning an HTML element into clean paragraphs of text.

w3lib's ``remove_tags`` and parsel's ``::text`` flatten block structure, so paragraphs run
together; trafilatura decides for itself what the main text is. Spiders already know their
content region, so this small lxml walk keeps the paragraph breaks of that region instead.
"""

import copy
import re
from collections.abc import Iterable

from lxml import html as lxml_html
from parsel import Selector, SelectorList

# Elements whose boundaries start a new paragraph.
BLOCK_TAGS = frozenset(
    {
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
# Never text, wherever they stand.
INVISIBLE_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "button")

# lxml refuses to assign text holding these (control characters, NUL, lone surrogates),
# though a parsed page may carry them; they are not text, so they go.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u3000]+")
_BREAK = "\n\n"


def paragraphs(element: Selector, drop: Iterable[str] = ()) -> list[str]:
    """Text of ``element`` as a list of paragraphs, without the parts matched by ``drop``.

    ``drop`` holds CSS selectors, relative to ``element``, for things inside the content
    region that are not content (labels, counters, share buttons, contact blocks).
    """
    root = element.root
    if isinstance(root, str):  # a text node or attribute selector
        return [p for p in (_clean(line) for line in root.split("\n")) if p]
    root = copy.deepcopy(root)
    holder = Selector(root=root, type="html")
    for css in drop:
        for node in holder.css(css):
            _remove(node.root)
    for node in root.iter(*INVISIBLE_TAGS):
        _remove(node)
    for node in root.iter():
        if isinstance(node.tag, str) and node.tag.lower() in BLOCK_TAGS:
            node.text = _BREAK + _NOT_XML.sub("", node.text or "")
            node.tail = _BREAK + _NOT_XML.sub("", node.tail or "")
    text = lxml_html.tostring(root, method="text", encoding="unicode", with_tail=False)
    return [p for p in (_clean(chunk) for chunk in text.split(_BREAK)) if p]


#: Text nodes that a browser shows: not inside scripts, styles and other invisible elements.
_VISIBLE_TEXT = ".//text()[not(ancestor::script or ancestor::style or ancestor::noscript " \
    "or ancestor::template)]"


def text_of(element: Selector | SelectorList | None) -> str:
    """All visible text of an element (or of a selection's elements) on one line,
    whitespace collapsed ("" for None)."""
    if element is None:
        return ""
    if isinstance(element, SelectorList):
        return _clean(" ".join(text_of(found) for found in element))
    if isinstance(element.root, str):
        return _clean(element.root)
    return _clean(" ".join(element.xpath(_VISIBLE_TEXT).getall()))


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text.replace("\n", " ")).strip()


def _remove(node) -> None:
    """Remove an lxml element but keep its tail text, which belongs to the parent."""
    parent = node.getparent()
    if parent is None:
        return
    tail = _NOT_XML.sub("", node.tail or "")
    if tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = _NOT_XML.sub("", previous.tail or "") + tail
        else:
            parent.text = _NOT_XML.sub("", parent.text or "") + tail
    parent.remove(node)

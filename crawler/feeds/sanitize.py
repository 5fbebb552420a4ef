"""Making untrusted release text safe to put in a feed.

Releases come from other people's web pages. Whatever they hold, a feed build must neither
crash (lxml refuses strings that XML cannot carry) nor hand a reader markup that runs.
"""

from __future__ import annotations

import html
import re

import nh3

from storage.links import web_link

# Characters XML 1.0 cannot carry at all: C0 controls except tab, newline and carriage
# return, the non-characters U+FFFE/U+FFFF, and surrogates (which only occur unpaired in a
# Python str, e.g. from a mis-decoded page).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

# Something that looks like a real tag or an entity: only then is text treated as markup, so
# a plain "AI<Korea" or "R&D" stays as written.
_MARKUP = re.compile(r"<\s*/?\s*[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?\s*>|&(#\d+|#x[0-9a-fA-F]+|\w+);")
# Tags that separate blocks of text: they become spaces when markup is flattened to text.
_BLOCK_TAG = re.compile(
    r"<\s*/?\s*(p|div|br|li|ul|ol|h[1-6]|tr|td|th|table|blockquote|section|article)\b[^>]*>",
    re.IGNORECASE,
)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\s*\n\s*\n\s*")

# What a summary may keep: text structure and links, nothing that runs or restyles a page.
ALLOWED_TAGS = frozenset(
    {"a", "abbr", "b", "blockquote", "br", "code", "em", "i", "img", "li", "ol", "p", "pre",
     "q", "strong", "sub", "sup", "u", "ul"}
)  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "abbr": {"title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def xml_safe(text: str | None) -> str:
    """The text without the characters XML cannot represent."""
    if not text:
        return ""
    return _XML_INVALID.sub("", text)


def looks_like_html(text: str) -> bool:
    return _MARKUP.search(text) is not None


def sanitize_html(fragment: str) -> str:
    """An HTML fragment reduced to harmless markup: no script or style (with their content),
    no event handlers, no `javascript:` or other non-web links."""
    cleaned = nh3.clean(
        xml_safe(fragment),
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
    )
    # nh3 decodes character references, so clean again what they may have produced.
    return xml_safe(cleaned).strip()


def html_to_text(fragment: str) -> str:
    """The readable text of an HTML fragment; script and style content is dropped."""
    spaced = _BLOCK_TAG.sub("\n\n", xml_safe(fragment))
    text = html.unescape(nh3.clean(spaced, tags=set()))
    return normalize_space(xml_safe(text), keep_paragraphs=True)


def plain_text(text: str | None, *, keep_paragraphs: bool = False) -> str:
    """A plain-text field (title, name, label) fit for any feed format and any reader.

    Text that carries real tags or character references is flattened rather than escaped:
    RSS and JSON Feed readers disagree on whether a title is text or HTML, and many put it
    into a page as HTML. So the result holds nothing an HTML parser would take for markup:
    references are decoded (up to three levels, as pages double-escape) and every "<" that
    would open a tag, comment or declaration becomes "‹" (see ``no_tags``).
    """
    text = xml_safe(text)
    for _ in range(3):
        if not looks_like_html(text):
            break
        text = html_to_text(text)
    return no_tags(normalize_space(text, keep_paragraphs=keep_paragraphs))


# "<" followed by what makes an HTML parser start a tag ("<img", "</", "<!", "<?"), even
# without a closing ">" (browsers still eat "<img/src=x onerror=..." as a tag).
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?])")


def no_tags(text: str) -> str:
    """Plain text no HTML parser reads as markup: a "<" that would open a tag is shown as the
    single angle quote "‹" instead. Any other "<" ("a < b") is text to every parser."""
    return _TAG_OPEN.sub("\u2039", text)


def text_to_html(text: str) -> str:
    """Plain text with blank-line paragraphs as escaped HTML paragraphs; a single line break
    inside a paragraph becomes <br>."""
    paragraphs = _BLANK_LINES.split(xml_safe(text).strip())
    out = []
    for paragraph in paragraphs:
        lines = [html.escape(line.strip(), quote=False) for line in paragraph.split("\n")]
        if any(lines):
            out.append("<p>" + "<br>".join(line for line in lines if line) + "</p>")
    return "".join(out)


def normalize_space(text: str, *, keep_paragraphs: bool = False) -> str:
    if not keep_paragraphs:
        return " ".join(text.split())
    paragraphs = _BLANK_LINES.split(text.strip())
    return "\n\n".join(" ".join(_SPACES.sub(" ", p).split()) for p in paragraphs if p.strip())


def web_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) address, else None (e.g. a `javascript:` image):
    the store's own rule (storage.links.web_link), applied again on the way out."""
    url = xml_safe(url).strip()
    return url if web_link(url) else None

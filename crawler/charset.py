"""Trust a valid UTF-8 decoding over an ASCII or Latin-1 declaration.

korea.kr's department feeds (``/rss/dept_msit.xml`` ...) are served declared as us-ascii
but encoded as UTF-8; public scrapers of them force ``encoding = 'utf-8'`` by hand. Taken at
its word, the declaration makes feedparser flag every poll as ill-formed ("declared as
us-ascii, but parsed as utf-8"), and Scrapy decodes pages declared us-ascii or Latin-1 as
windows-1252 (the WHATWG reading of both labels), which turns Hangul into mojibake without
a single decoding error, so ``crawler.safety``'s repair (which waits for undecodable bytes)
never sees it.

The rule, general and small: a body declared us-ascii, Latin-1 or windows-1252 (by header or
meta/XML declaration), or XML served as ``text/xml`` with no charset (RFC 3023's us-ascii
default), that holds non-ASCII bytes and decodes as strict UTF-8, is UTF-8. Real Latin-1 or
windows-1252 text is practically never valid UTF-8: an accented letter would have to be
followed by one or more bytes from 0x80-0xBF, which in those encodings are C1 controls and
rare symbols ("Ã©"-like pairs). ASCII-only bodies are left alone: every reading agrees.

The downloader middleware rewrites the response's Content-Type charset, so that feedparser
(which reads the header) and Scrapy (which picks ``response.encoding`` from it) both decode
UTF-8. The recorder sits above it and keeps the header the server sent.
"""

from __future__ import annotations

import codecs
import logging
import re

from scrapy.crawler import Crawler
from scrapy.http import Request, Response, TextResponse
from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding

logger = logging.getLogger(__name__)

#: Declarations a UTF-8 body is commonly mislabelled with (codec names after lookup).
WEAK_DECLARATIONS = frozenset({"ascii", "latin_1", "iso8859-1", "cp1252"})
_XML_DECLARATION = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_XML_TYPES = ("text/xml", "application/xml", "application/rss+xml", "application/atom+xml")


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def declared_encoding(content_type: str, body: bytes) -> str | None:
    """The charset the response declares: header, else XML or HTML declaration, else the
    ``text/xml`` default (us-ascii). None when nothing declares one."""
    declared = http_content_type_encoding(content_type)
    if declared:
        return declared
    head = body[:1024]
    xml = _XML_DECLARATION.match(head)
    if xml:
        return xml.group(1).decode("ascii")
    html = html_body_declared_encoding(head)
    if html:
        return html
    if content_type.split(";", 1)[0].strip().lower() == "text/xml":
        return "us-ascii"
    return None


def misdeclared_utf8(content_type: str, body: bytes) -> bool:
    """Whether a body declared ASCII/Latin-1/windows-1252 is in fact UTF-8 (see module doc)."""
    if _codec(declared_encoding(content_type, body)) not in WEAK_DECLARATIONS:
        return False
    if body.isascii():
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def with_charset(content_type: str, charset: str) -> str:
    """The Content-Type with its charset parameter set (added or replaced)."""
    parts = [part.strip() for part in content_type.split(";") if part.strip()]
    mime = parts[0] if parts else "text/plain"
    params = [p for p in parts[1:] if not p.lower().startswith("charset=")]
    return "; ".join([mime, *params, f"charset={charset}"])


class Utf8OverDeclarationMiddleware:
    """Downloader middleware: a UTF-8 body declared ASCII or Latin-1 is read as UTF-8."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Utf8OverDeclarationMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status != 200 or not response.body:
            return response
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        is_text = isinstance(response, TextResponse) or content_type.startswith(_XML_TYPES)
        if not is_text or not misdeclared_utf8(content_type, response.body):
            return response
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("charset/utf8_over_declaration")
        logger.info(
            "Decoding %(url)s as utf-8: it is valid UTF-8, not %(declared)s as declared",
            {"url": response.url, "declared": declared_encoding(content_type, response.body)},
        )
        headers = response.headers.copy()
        headers[b"Content-Type"] = with_charset(content_type or "text/xml", "utf-8")
        if isinstance(response, TextResponse):
            return response.replace(headers=headers, encoding="utf-8")
        return response.replace(headers=headers)

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

from charset_normalizer import from_bytes
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


# --- UTF-8 pages with stray or foreign bytes (issue 18, item 9) -------------------------------
#
# A page declared UTF-8 that does not decode was re-decoded whole in whatever charset
# detection named: three stray CP1252 quotes in a UTF-8 page made it mac-iceland ("Taiwan‚ÄìUK"),
# and a template mixing UTF-8 with Big5 paragraphs lost all its text. Now a page that holds
# valid UTF-8 text is kept UTF-8 and repaired piece by piece: markup and lines split it into
# pieces ("<", ">" and newlines are never part of a Big5, CP949 or Shift_JIS character), a
# valid piece stays, an invalid one is decoded in a legacy charset only on strong evidence
# (declared by the page, or detected as a CJK multi-byte charset over enough bytes and
# decoding that piece without error), else its bad bytes become U+FFFD there and only there.
# A page with (almost) no valid UTF-8 text is a wrongly labelled page and is re-decoded
# whole, by declaration or by a detected charset from the trusted list below.

_PIECES = re.compile(rb"[<>\n]")
_UTF8_CHAR = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}"
)
#: Multi-byte legacy charsets of the sources' languages: what a foreign piece may be read as.
CJK_CHARSETS = frozenset({
    "big5", "cp950", "big5hkscs", "cp949", "euc_kr", "gb18030", "gbk", "gb2312",
    "shift_jis", "cp932", "euc_jp", "iso2022_jp", "shift_jis_2004", "euc_jis_2004",
})  # fmt: skip
#: Charsets detection may name for a whole page: CJK, and single-byte ones of real web pages
#: (not mac-*, EBCDIC or DOS code pages, which random stray bytes "decode" as).
TRUSTED_DETECTIONS = CJK_CHARSETS | frozenset({
    "cp1252", "latin_1", "iso8859_15", "cp1250", "cp1251", "koi8_r", "iso8859_2", "cp1253",
    "cp1254", "cp1257", "cp874", "tis_620", "iso8859_5", "iso8859_7", "iso8859_9",
})  # fmt: skip
#: Bytes a piece needs before detection may name its charset.
_MIN_DETECT_BYTES = 8
#: Valid UTF-8 characters per undecodable byte above which a page is UTF-8 with foreign bits.
_UTF8_SHARE = 0.2


def codec_name(name: str | None) -> str | None:
    try:
        return codecs.lookup(name).name.replace("-", "_") if name else None
    except LookupError:
        return None


def _valid_utf8_chars(pieces: list[bytes]) -> int:
    total = 0
    for piece in pieces:
        if not piece.isascii():
            try:
                piece.decode("utf-8")
            except UnicodeDecodeError:
                continue
            total += len(_UTF8_CHAR.findall(piece))
    return total


def mostly_utf8(body: bytes, undecodable: int) -> bool:
    """Whether a page that fails to decode as UTF-8 still holds real UTF-8 text: enough
    valid multi-byte characters in pieces that decode whole (a Big5 page has at most a few,
    by chance)."""
    chars = _valid_utf8_chars(_PIECES.split(body))
    return chars >= 3 and chars >= _UTF8_SHARE * undecodable


def repair_utf8(body: bytes, declared: list[str | None]) -> tuple[bytes, int, int]:
    """The page as valid UTF-8: (body, pieces read in a legacy charset, pieces with U+FFFD).

    ``declared``: the charsets the header and the page name (one may be the legacy one).
    """
    parts = _PIECES.split(body)
    separators = _PIECES.findall(body)
    invalid = []
    for index, part in enumerate(parts):
        try:
            part.decode("utf-8")
        except UnicodeDecodeError:
            invalid.append(index)
    legacy = [c for c in map(codec_name, declared) if c and c != "utf_8" and c in CJK_CHARSETS]
    foreign = b" ".join(parts[i] for i in invalid)
    if not legacy and len(foreign) >= _MIN_DETECT_BYTES:
        best = from_bytes(foreign).best()
        found = codec_name(best.encoding if best else None)
        if found in CJK_CHARSETS:
            legacy.append(found)
    read_legacy = replaced = 0
    for index in invalid:
        part = parts[index]
        for charset in legacy:
            try:
                parts[index] = part.decode(charset).encode("utf-8")
                read_legacy += 1
                break
            except UnicodeDecodeError:
                continue
        else:
            parts[index] = part.decode("utf-8", errors="replace").encode("utf-8")
            replaced += 1
    out = [parts[0]]
    for separator, part in zip(separators, parts[1:], strict=True):
        out += [separator, part]
    return b"".join(out), read_legacy, replaced

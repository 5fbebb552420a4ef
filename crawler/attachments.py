"""Release text from attached files, for releases whose page body is only a stub.

Some releases (MSIT's Korean ones, for one) say little more than "see the attachment" on the
page; the text is in an attached HWPX or PDF file. Two parts:

- ``attachment_text(body, content_type, filename)``: the text of a downloaded file, paragraphs
  separated by a blank line. PDF through pypdf, HWPX (a zip of XML: ``Contents/section*.xml``,
  paragraphs ``hp:p``, text in ``hp:t``) through zipfile and defusedxml, plain text as is;
  ``None`` for anything else (HWP 5 binaries, office files, an HTML error page).
- ``AttachmentBodyMiddleware`` (spider middleware): for a ``ReleaseItem`` whose body is shorter
  than ``ATTACHMENT_STUB_CHARS`` and which lists an HWPX, PDF or text attachment, downloads the
  attachment and, when it yields more text than the page, uses it as the body
  (``extraction = "attachment"``). A failed download or an unreadable file leaves the item as it
  was: the release is never lost.

How an attachment is requested is the spider's to say (``attachment_request(url, referer)``,
e.g. MSIT's form POST in ``spiders/msit.py``); without one it is a GET with ``Referer``.
The download goes through the engine (``engine.download_async``: every downloader middleware,
so cookies, retries, robots.txt and the replay apply) rather than as a scheduled request with
a callback: a scheduled request must name a spider method as its callback to be serialized
(scrapy-redis queues, JOBDIR), and the item would have to travel inside it.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as parse_xml
from scrapy import FormRequest, Request
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future

from crawler.config import setting
from crawler.items import ReleaseItem
from crawler.normalize import clean_text

logger = logging.getLogger(__name__)

Kind = Literal["pdf", "hwpx", "text"]

#: Most bytes read out of one HWPX archive (all sections together): a zip bomb stops here.
MAX_UNCOMPRESSED_BYTES = 20 * 1024 * 1024
#: Most sections read from one HWPX archive, and pages from one PDF.
MAX_SECTIONS = 200
MAX_PDF_PAGES = 300
#: Attachments tried per release (HWPX first, then PDF, then text).
MAX_TRIES = 2

HWPX_MIMETYPE = b"application/hwp+zip"
_HWPX_NAMESPACE = "http://www.hancom.co.kr/hwpml/"
_SECTION = re.compile(r"^Contents/section(\d+)\.xml$", re.IGNORECASE)
_EXTENSION = re.compile(r"\.(pdf|hwpx|txt)\s*$", re.IGNORECASE)
_KIND_BY_EXTENSION: dict[str, Kind] = {"pdf": "pdf", "hwpx": "hwpx", "txt": "text"}
_PREFERENCE: dict[Kind, int] = {"hwpx": 0, "pdf": 1, "text": 2}  # HWPX keeps real paragraphs


class AttachmentRefused(ValueError):
    """A file that is not read: too large when unpacked, too many parts, or malformed."""


# --- Text of a file ----------------------------------------------------------------------------


def attachment_kind(body: bytes, content_type: str | None, filename: str | None) -> Kind | None:
    """What a downloaded file is, from its bytes first: download endpoints often answer
    ``application/octet-stream`` whatever they send, or an HTML error page with status 200."""
    if b"%PDF-" in body[:1024]:  # the header may follow a little junk
        return "pdf"
    if body.startswith(b"PK\x03\x04"):
        return "hwpx" if _is_hwpx(body) else None
    if body.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: HWP 5, .doc, .xls
        return None
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared == "text/plain" or _extension_kind(filename) == "text":
        return "text" if b"\0" not in body[:4096] else None
    return None


def attachment_text(body: bytes, content_type: str | None, filename: str | None) -> str | None:
    """The text of a downloaded attachment (paragraphs joined by a blank line), or None when
    its type is not one this reads or it yields no text."""
    kind = attachment_kind(body, content_type, filename)
    try:
        if kind == "pdf":
            text = pdf_text(body)
        elif kind == "hwpx":
            text = hwpx_text(body)
        elif kind == "text":
            text = plain_text(body, content_type)
        else:
            return None
    except AttachmentRefused as exc:
        logger.warning("attachment %s refused: %s", filename or "(unnamed)", exc)
        return None
    except Exception as exc:
        # pypdf raises many exception types on malformed files; any of them means "no text".
        logger.warning("attachment %s unreadable (%s): %r", filename or "(unnamed)", kind, exc)
        return None
    return text or None


def hwpx_text(body: bytes, max_bytes: int = MAX_UNCOMPRESSED_BYTES) -> str:
    """Paragraphs of an HWPX document, in section order. Table cells and notes are paragraphs
    of their own, after the paragraph that holds them."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(body))
    except zipfile.BadZipFile as exc:
        raise AttachmentRefused(f"not a zip archive: {exc}") from exc
    with archive:
        sections = sorted(
            (info for info in archive.infolist() if _SECTION.match(info.filename)),
            key=lambda info: int(_SECTION.match(info.filename).group(1)),  # type: ignore[union-attr]
        )
        if not sections:
            raise AttachmentRefused("no Contents/section*.xml in the archive")
        if len(sections) > MAX_SECTIONS:
            raise AttachmentRefused(f"{len(sections)} sections (at most {MAX_SECTIONS})")
        declared = sum(info.file_size for info in sections)
        if declared > max_bytes:
            raise AttachmentRefused(f"sections unpack to {declared} bytes (at most {max_bytes})")
        paragraphs: list[str] = []
        budget = max_bytes
        for info in sections:
            # The declared sizes may lie; the read itself stops at the budget.
            data = _read_capped(archive, info, budget)
            budget -= len(data)
            paragraphs.extend(_section_paragraphs(data))
    return "\n\n".join(paragraphs)


def pdf_text(body: bytes, max_pages: int = MAX_PDF_PAGES) -> str:
    """Paragraphs of a PDF's text layer (no OCR: a scanned PDF yields nothing)."""
    from pypdf import PdfReader  # imported on use: most crawls never read a PDF

    reader = PdfReader(io.BytesIO(body))
    if reader.is_encrypted and not reader.decrypt(""):
        raise AttachmentRefused("encrypted PDF")
    if len(reader.pages) > max_pages:
        raise AttachmentRefused(f"{len(reader.pages)} pages (at most {max_pages})")
    paragraphs: list[str] = []
    for page in reader.pages:
        try:
            # Layout mode keeps vertical gaps as blank lines: the only paragraph signal a PDF has.
            text = page.extract_text(extraction_mode="layout")
        except Exception:  # layout mode is stricter about odd fonts; plain mode still reads them
            text = page.extract_text()
        page_paragraphs = _pdf_paragraphs(text)
        if paragraphs and page_paragraphs and _continues(paragraphs[-1], page_paragraphs[0]):
            paragraphs[-1] = _join_lines([paragraphs[-1], page_paragraphs.pop(0)])
        paragraphs.extend(page_paragraphs)
    return "\n\n".join(paragraphs)


def plain_text(body: bytes, content_type: str | None = None) -> str:
    charset = re.search(r"charset=([\w.-]+)", content_type or "", re.IGNORECASE)
    for encoding in (charset.group(1) if charset else "utf-8", "utf-8", "cp949"):
        try:
            text = body.decode(encoding)
            break
        except (UnicodeDecodeError, LookupError):
            continue
    else:
        text = body.decode("latin-1")
    return clean_text(text.replace("\r\n", "\n"))


def _is_hwpx(body: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and archive.getinfo("mimetype").file_size < 100:
                return archive.read("mimetype").strip() == HWPX_MIMETYPE
            return any(_SECTION.match(name) for name in names)
    except (zipfile.BadZipFile, KeyError, RuntimeError, NotImplementedError):
        return False


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise AttachmentRefused(f"{info.filename}: the sections unpack past the size cap")
    return data


def _local(element: Element) -> str:
    """Local name of an HWPML element; "" for elements of other vocabularies."""
    tag = element.tag
    if not isinstance(tag, str) or not tag.startswith("{" + _HWPX_NAMESPACE):
        return ""
    return tag.rsplit("}", 1)[1]


def _section_paragraphs(data: bytes) -> list[str]:
    try:
        # No DTDs, no entities, no network: a document cannot expand itself or fetch anything.
        root = parse_xml(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, SyntaxError) as exc:  # ParseError is a SyntaxError
        raise AttachmentRefused(f"section XML rejected: {exc}") from exc
    paragraphs = []
    for paragraph in root.iter():
        if _local(paragraph) != "p":
            continue
        # Only this paragraph's own runs: a table inside it holds paragraphs of its own,
        # which root.iter() reaches next.
        text = "".join(
            _t_text(t) for run in paragraph if _local(run) == "run" for t in run if _local(t) == "t"
        )
        text = " ".join(text.split())
        if text:
            paragraphs.append(text)
    return paragraphs


def _t_text(element: Element) -> str:
    """Text of an ``hp:t``: its text, tabs and line breaks as spaces, marks' tail text."""
    parts = [element.text or ""]
    for child in element:
        if _local(child) in ("tab", "lineBreak"):
            parts.append(" ")
        parts.append(child.tail or "")
    return "".join(parts)


# --- PDF paragraphs ----------------------------------------------------------------------------

# A line that is only a page number: "3", "- 3 -", "3 / 12", "Page 3 of 12".
_PAGE_NUMBER = re.compile(r"^(?:page\s*)?[-–—]?\s*\d{1,4}\s*(?:[-–—]|(?:/|of)\s*\d{1,4})?$", re.I)
# Line openers that start a new item in Korean and English government documents.
_BULLET = re.compile(r"^(?:[□■○●◦ㅇ◇◆▶▷※•·∙\-–*]|\d{1,2}[.)]\s|\(\d{1,2}\)|[가-하][.)]\s)")
_SENTENCE_END = re.compile(r"[.!?。！？:：”\"')]$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff]")


def _pdf_paragraphs(text: str) -> list[str]:
    """Group layout-mode lines into paragraphs.

    A paragraph ends at a vertical gap wider than the page's usual line pitch, before a
    bullet, or after a short line that ends a sentence (the last line of a paragraph).
    """
    lines: list[tuple[int, str]] = []  # (blank lines before, text)
    blanks = 0
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            blanks += 1
            continue
        if _PAGE_NUMBER.match(line):
            continue
        lines.append((blanks, line))
        blanks = 0
    if not lines:
        return []
    gaps = [gap for gap, _ in lines[1:]]
    # Widely spaced documents leave a blank line between every two lines; only a gap wider
    # than the narrowest one separates paragraphs. Equal gaps everywhere say nothing.
    pitch = min(gaps) if gaps else 0
    widest = max(len(line) for _, line in lines)
    paragraphs: list[list[str]] = []
    previous = ""
    for gap, line in lines:
        new_paragraph = (
            not paragraphs
            or gap > pitch
            or _BULLET.match(line) is not None
            or (len(previous) < 0.6 * widest and _SENTENCE_END.search(previous) is not None)
        )
        if new_paragraph:
            paragraphs.append([line])
        else:
            paragraphs[-1].append(line)
        previous = line
    return [_join_lines(lines_) for lines_ in paragraphs]


def _join_lines(lines: Iterable[str]) -> str:
    """One paragraph from wrapped lines. A hyphen at a line end is kept and joined to the next
    fragment ("Coopera-" + "tion"): normalization decides whether it was a line-break hyphen."""
    out = ""
    for line in lines:
        if not out:
            out = line
        elif (out.endswith("-") and out[-2:-1].isalpha() and line[:1].islower()) or (
            _CJK.match(out[-1]) and _CJK.match(line[0])
        ):
            out += line
        else:
            out += " " + line
    return out


def _continues(last: str, first: str) -> bool:
    """Whether a page's first paragraph continues the previous page's last one."""
    return _SENTENCE_END.search(last) is None and first[:1].islower()


# --- Downloading -------------------------------------------------------------------------------


def _extension_kind(name: str | None) -> Kind | None:
    match = _EXTENSION.search(name or "")
    return _KIND_BY_EXTENSION[match.group(1).lower()] if match else None


def readable_attachments(attachments: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    """Attachments whose name or URL says HWPX, PDF or text, best first."""
    found = []
    for position, attachment in enumerate(attachments):
        url = attachment.get("url") or ""
        kind = _extension_kind(attachment.get("name")) or _extension_kind(urlsplit(url).path)
        if url and kind:
            found.append((_PREFERENCE[kind], position, attachment))
    return [attachment for *_, attachment in sorted(found, key=lambda entry: entry[:2])]


#: Attachment downloads: files often live on another host than the page.
_DOWNLOAD_META = {"allow_offsite": True}


def attachment_request(url: str, referer: str) -> Request:
    """The request that downloads an attachment: a GET with the release page as ``Referer``.

    A site whose downloads work otherwise (a form POST, a token) gives its spider an
    ``attachment_request(url, referer)`` method, which the middleware calls instead
    (``spiders/msit.py``); this module knows no site.
    """
    return Request(url, headers={"Referer": referer}, meta=_DOWNLOAD_META.copy(), dont_filter=True)


def form_download(url: str, referer: str, fields: Sequence[str]) -> Request | None:
    """A form POST of ``fields``, taken from ``url``'s query string, to the bare URL, with
    ``Referer`` and ``Origin`` as a browser sends them; None when the URL lacks a field."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if not fields or not all(name in query for name in fields):
        return None
    return FormRequest(
        urlunsplit(parts._replace(query="", fragment="")),
        formdata={name: query[name] for name in fields},
        headers={"Referer": referer, "Origin": f"{parts.scheme}://{parts.netloc}"},
        meta=_DOWNLOAD_META.copy(),
        dont_filter=True,
    )


def disposition_filename(value: bytes | str | None) -> str | None:
    """The file name of a Content-Disposition header (RFC 6266 ``filename*`` or ``filename``,
    percent-encoded or raw UTF-8/CP949 as Korean servers send it)."""
    if not value:
        return None
    if isinstance(value, bytes):
        for encoding in ("utf-8", "cp949", "latin-1"):
            try:
                value = value.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    assert isinstance(value, str)
    star = re.search(r"filename\*\s*=\s*([\w-]+)'[^']*'([^;]+)", value, re.IGNORECASE)
    if star:
        return unquote(star.group(2).strip(), encoding=star.group(1), errors="replace")
    plain = re.search(r'filename\s*=\s*"?([^";]+)"?', value, re.IGNORECASE)
    return unquote(plain.group(1).strip()) if plain else None


class AttachmentBodyMiddleware:
    """Replace a stub body with the text of the release's HWPX/PDF/text attachment.

    Stats: ``attachments/fetched``, ``attachments/used``, ``attachments/failed`` (download
    error or non-200), ``attachments/unreadable`` (no text in the file).
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stub_chars: int = setting(crawler.settings, "ATTACHMENT_STUB_CHARS")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AttachmentBodyMiddleware:
        return cls(crawler)

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        async for output in result:
            if isinstance(output, ReleaseItem) and self.is_stub(output):
                output = await self.fill_from_attachment(output, response)
            yield output

    def is_stub(self, item: ReleaseItem) -> bool:
        # Cheapest tests first: the body is cleaned only for a release with a readable
        # attachment, and clean_text keeps its last results, so NormalizePipeline's cleaning
        # of the same body is a look-up: each text is cleaned once.
        return (
            item.get("extraction") != "attachment"
            and int(item.get("http_status") or 200) == 200
            and bool(readable_attachments(item.get("attachments") or []))
            and len(clean_text(item.get("body"))) < self.stub_chars
        )

    async def fill_from_attachment(self, item: ReleaseItem, response: Response) -> ReleaseItem:
        """The item with its body from the first readable attachment, or unchanged."""
        stub = clean_text(item.get("body"))
        for attachment in readable_attachments(item.get("attachments") or [])[:MAX_TRIES]:
            text = await self._download_text(attachment, response.url)
            if text and len(text) > len(stub):
                item["body"] = text
                item["extraction"] = "attachment"
                self._inc("attachments/used")
                return item
        return item

    async def _download_text(self, attachment: dict[str, str], referer: str) -> str | None:
        request = self._request_for(attachment["url"], referer)
        try:
            download = await self._download(request)
        except Exception as exc:  # whatever the network does, the release itself is kept
            logger.warning("attachment %s of %s not fetched: %r", request.url, referer, exc)
            self._inc("attachments/failed")
            return None
        self._inc("attachments/fetched")
        if download.status != 200:
            logger.warning("attachment %s of %s: HTTP %s", request.url, referer, download.status)
            self._inc("attachments/failed")
            return None
        filename = disposition_filename(download.headers.get("Content-Disposition"))
        content_type = (download.headers.get("Content-Type") or b"").decode("latin-1")
        # Measured here, so feeds can give the file's enclosure a true length and type.
        attachment["length"] = len(download.body)
        if content_type.strip():
            attachment["type"] = content_type.split(";", 1)[0].strip().lower()[:100]
        text = attachment_text(download.body, content_type, filename or attachment.get("name"))
        if not text:
            self._inc("attachments/unreadable")
        return text

    def _request_for(self, url: str, referer: str) -> Request:
        """The spider's own download request when it has one (a site's form), else a GET."""
        spider = getattr(self.crawler, "spider", None)
        make: Callable[[str, str], Request] = (
            getattr(spider, "attachment_request", None) or attachment_request
        )
        return make(url, referer)

    async def _download(self, request: Request) -> Response:
        engine = self.crawler.engine
        if hasattr(engine, "download_async"):  # Scrapy 2.14+
            return await engine.download_async(request)
        return await maybe_deferred_to_future(engine.download(request))

    def _inc(self, key: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(key)

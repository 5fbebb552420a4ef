"""Rendered documents and the HTTP responses made of them: strong ETags, Last-Modified,
conditional GETs, precompressed gzip, and one-line plain-text errors."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from crawler.feeds.catalog import FORMATS, content_type

# Content types of every feed format and document: crawler.feeds.catalog.
MEDIA_TYPES = {name: content_type(name) for name in (*FORMATS, "opml", "html")}
GZIP_MIN_SIZE = 500
# Scraped text is escaped; this forbids scripts anyway, should escaping ever be missed. Forms
# (the search) may only submit to this site.
PAGE_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@dataclass(frozen=True)
class Document:
    """A rendered response body with everything a conditional GET needs."""

    body: bytes
    gzipped: bytes | None  # precompressed once, not per request; None when too small
    media_type: str
    etag: str  # strong: a hash of `body` (the identity form)
    last_modified: str | None  # HTTP-date of the newest entry's update
    last_modified_at: datetime | None

    @classmethod
    def make(cls, body: bytes, media_type: str, updated: datetime | None) -> Document:
        digest = hashlib.sha256(body).hexdigest()[:32]
        # mtime=0: the same body always gives the same gzip bytes.
        zipped = gzip.compress(body, 6, mtime=0) if len(body) >= GZIP_MIN_SIZE else None
        if updated is not None:
            updated = updated.astimezone(UTC).replace(microsecond=0)
        return cls(
            body=body,
            gzipped=zipped if zipped is not None and len(zipped) < len(body) else None,
            media_type=media_type,
            etag=f'"{digest}"',
            last_modified=format_datetime(updated, usegmt=True) if updated else None,
            last_modified_at=updated,
        )

    @classmethod
    def html(cls, text: str) -> Document:
        return cls.make(text.encode("utf-8"), MEDIA_TYPES["html"], None)

    @property
    def size(self) -> int:
        return len(self.body) + len(self.gzipped or b"")


def document_response(request: Request, document: Document, cache_ttl: float) -> Response:
    headers = {
        "ETag": document.etag,
        "Cache-Control": f"public, max-age={int(cache_ttl)}",
        "Vary": "Accept-Encoding",
        "X-Content-Type-Options": "nosniff",
    }
    if document.last_modified:
        headers["Last-Modified"] = document.last_modified
    if document.media_type.startswith("text/html"):
        headers["Content-Security-Policy"] = PAGE_CSP
    if not_modified(request, document):
        return Response(status_code=304, headers=headers)
    body = document.body
    if document.gzipped is not None and _accepts_gzip(request.headers.get("accept-encoding", "")):
        # Already compressed: GZipMiddleware leaves a response with Content-Encoding alone.
        body = document.gzipped
        headers["Content-Encoding"] = "gzip"
    headers["Content-Type"] = document.media_type
    return Response(body, headers=headers)


def not_modified(request: Request, document: Document) -> bool:
    """RFC 9110 §13.1: If-None-Match wins; If-Modified-Since counts only without it."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
        return "*" in tags or document.etag in tags  # weak comparison, as 13.1.2 asks
    since = request.headers.get("if-modified-since")
    if since is None or document.last_modified_at is None:
        return False
    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False  # an unparseable date is ignored, as the RFC says
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return document.last_modified_at <= when


def _accepts_gzip(header: str) -> bool:
    """Whether Accept-Encoding allows gzip: named (or "*") with a q-value above zero."""
    for part in header.lower().split(","):
        coding, *params = (piece.strip() for piece in part.split(";"))
        if coding in ("gzip", "x-gzip", "*"):
            for param in params:
                name, _, value = param.partition("=")
                if name.strip() == "q":
                    try:
                        return float(value) > 0
                    except ValueError:
                        return False
            return True
    return False


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return PlainTextResponse(
        f"{status} {message}\n",
        status_code=status,
        headers={
            **(headers or {}),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )

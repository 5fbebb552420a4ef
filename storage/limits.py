"""Column limits, read from the models, and values fitted to them before any write.

SQLite ignores the length of a VARCHAR; PostgreSQL refuses a longer value and fails the whole
statement (issue 18, item 8: a 4 KB ``data:`` image URL, a 400-digit site id, a 600-character
ETag lost their release or crashed the crawl's close on PostgreSQL only). So every value with
a limit is fitted here, in one place, the same way on both backends, and each change is
reported so that the caller can count and log it.

The limits are the models' own: ``String(n)`` columns, and for ``Text`` columns that no
reader should get unbounded (titles, contacts) ``info={"max_length": n}`` on the column.
What is done to a value depends on what it is, never on the backend:

- a URL that identifies the release (``url``) cannot be cut: the record is refused
  (``ValueTooLong``) and the caller drops it with a reason;
- a site id is replaced by a stable, unique digest form (same id, same stored value, so
  later sightings still match);
- an optional URL (an image, the final URL of the raw page) is dropped or replaced by the
  release's URL: a cut URL points elsewhere;
- an HTTP validator is not kept (a cut ETag is a wrong ETag; the page is simply fetched);
- text is cut at the limit, on a character boundary, with an ellipsis.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.models import Base, RawResponse, Release

logger = logging.getLogger(__name__)

ELLIPSIS = "…"


# Cached: every release written asks for 16 of them (issue 19: a tenth of ``fit_release``).
@functools.cache
def column_limit(model: type[Base], name: str) -> int | None:
    """The longest value ``model.name`` takes, in characters (None: unbounded)."""
    column = model.__table__.c[name]
    limit = column.info.get("max_length") or getattr(column.type, "length", None)
    return int(limit) if limit else None


@dataclass(frozen=True)
class Adjustment:
    """One value changed to fit its column."""

    field: str
    action: str  # "cut", "digest", "dropped", "replaced"
    length: int
    limit: int

    def __str__(self) -> str:
        return f"{self.field} {self.action} ({self.length} > {self.limit} characters)"


class ValueTooLong(ValueError):
    """A value that identifies a record and so cannot be changed is over its column's limit."""

    def __init__(self, field: str, length: int, limit: int) -> None:
        super().__init__(f"{field} too long ({length} > {limit} characters)")
        self.field, self.length, self.limit = field, length, limit


def cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - len(ELLIPSIS)] + ELLIPSIS


def digest_id(value: str, limit: int) -> str:
    """A long site id as a value of at most ``limit`` characters that stays unique and stable:
    its head, then a SHA-256 digest of the whole."""
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:40]
    head = max(limit - len(digest) - 1, 0)
    return f"{value[:head]}~{digest}"[:limit]


#: Text columns of a release cut at their limit (those with one).
_TEXT_FIELDS = ("title", "summary", "contact_org", "language", "agency", "agency_country",
                "extraction", "coop_type", "fingerprint", "listing_hash")  # fmt: skip


def fit_release(record: Any) -> tuple[Any, list[Adjustment]]:
    """``record`` (a ``ReleaseRecord``) fitted to the release tables, and what was changed.

    Returns the record itself when nothing needed a change. Raises ``ValueTooLong`` when the
    release's URL is over its limit.
    """
    changes: dict[str, Any] = {}
    adjustments: list[Adjustment] = []

    def over(model: type[Base], name: str, value: Any) -> int | None:
        limit = column_limit(model, name)
        if isinstance(value, str) and limit is not None and len(value) > limit:
            return limit
        return None

    if (limit := over(Release, "url", record.url)) is not None:
        raise ValueTooLong("url", len(record.url), limit)
    if (limit := over(Release, "native_id", record.native_id)) is not None:
        changes["native_id"] = digest_id(record.native_id, limit)
        adjustments.append(Adjustment("native_id", "digest", len(record.native_id), limit))
    if (limit := over(Release, "image_url", record.image_url)) is not None:
        changes["image_url"] = None
        adjustments.append(Adjustment("image_url", "dropped", len(record.image_url), limit))
    for name in _TEXT_FIELDS:
        value = getattr(record, name)
        if (limit := over(Release, name, value)) is not None:
            changes[name] = cut(value, limit)
            adjustments.append(Adjustment(name, "cut", len(value), limit))
    raw = record.raw
    if raw is not None:
        raw_changes: dict[str, Any] = {}
        if (limit := over(RawResponse, "final_url", raw.final_url)) is not None:
            raw_changes["final_url"] = record.url
            adjustments.append(Adjustment("final_url", "replaced", len(raw.final_url), limit))
        for name in ("encoding", "extractor_version"):
            value = getattr(raw, name)
            if (limit := over(RawResponse, name, value)) is not None:
                raw_changes[name] = None if name == "encoding" else cut(value, limit)
                action = "dropped" if name == "encoding" else "cut"
                adjustments.append(Adjustment(name, action, len(value), limit))
        if raw_changes:
            changes["raw"] = dataclasses.replace(raw, **raw_changes)
    if not changes:
        return record, []
    return dataclasses.replace(record, **changes), adjustments


def fit_releases(records: Sequence[Any]) -> list[Any]:
    """``fit_release`` for records about to be written, logging what had to change (a crawl
    fits and counts them first: whatever is left here came another way). A record over a
    key's limit is returned as its ``ValueTooLong``, for the caller to report in its place."""
    fitted: list[Any] = []
    for record in records:
        try:
            record, adjustments = fit_release(record)
        except ValueTooLong as exc:
            fitted.append(exc)
            continue
        for adjustment in adjustments:
            logger.warning("%s: %s", record.url, adjustment)
        fitted.append(record)
    return fitted


def fit_text(model: type[Base], name: str, value: str | None) -> str | None:
    """A text value cut to its column's limit (logged when it is)."""
    limit = column_limit(model, name)
    if value is None or limit is None or len(value) <= limit:
        return value
    logger.warning("%s.%s cut (%d > %d characters)", model.__tablename__, name, len(value), limit)
    return cut(value, limit)


def fit_validator(model: type[Base], name: str, value: str | None, url: str) -> str | None:
    """An HTTP validator if it fits its column, else None (logged): a cut ETag is wrong."""
    limit = column_limit(model, name)
    if value is None or limit is None or len(value) <= limit:
        return value
    logger.warning("%s: %s not kept (%d > %d characters)", url, name, len(value), limit)
    return None

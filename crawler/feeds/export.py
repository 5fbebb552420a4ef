"""Releases and events as plain data: the JSON API's records and the CSV export.

One shape for every way data leaves the database as data (the server's ``/api/releases``,
``/api/releases.csv`` and ``stnews releases --csv``), so a column means the same everywhere.
Text fields are the stored text minus characters XML/JSON readers choke on; titles are plain
text as in the feeds.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from crawler.feeds.build import release_entry_id
from crawler.feeds.events import event_entry_id
from crawler.feeds.sanitize import plain_text, web_url, xml_safe
from storage.events import EventView
from storage.models import Release

CSV_COLUMNS = (
    "published", "source", "agency", "language", "title", "url", "is_cooperation", "partners",
    "topics", "coop_type", "summary", "attachments", "event", "id",
)  # fmt: skip


def release_record(release: Release, event_id: str | None = None) -> dict[str, Any]:
    """A stored release as JSON-ready data (needs `release.source` loaded); times in the
    agency's own zone, as `stnews releases --json` shows them."""
    zone = _zone(release.source.timezone)

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(zone).isoformat() if value else None

    return {
        "id": release_entry_id(release.source.name, release.native_id, release.url),
        "source": release.source.name,
        "native_id": release.native_id,
        "url": web_url(xml_safe(release.url).strip()),
        "title": plain_text(release.title),
        "published": iso(release.published_at),
        "modified": iso(release.modified_at),
        "updated": iso(release.updated_at),
        "language": release.language,
        "agency": release.agency,
        "agency_country": release.agency_country,
        "summary": xml_safe(release.summary) or None,
        "body": xml_safe(release.body),
        "image_url": web_url(release.image_url),
        "attachments": [
            {k: a[k] for k in ("name", "url", "type", "length") if k in a}
            for a in release.attachments or []
            if isinstance(a, dict) and web_url(a.get("url"))
        ],
        "is_cooperation": release.is_cooperation,
        "confidence": release.confidence,
        "partners": list(release.partners or []),
        "topics": list(release.topics or []),
        "coop_type": release.coop_type,
        "event": event_entry_id(event_id) if event_id else None,
    }


def event_record(view: EventView) -> dict[str, Any]:
    """An event with its releases (earliest first)."""
    return {
        "id": event_entry_id(view.id),
        "parties": list(view.parties),
        "coop_type": view.coop_type,
        "instrument": view.instrument,
        "ordinal": view.ordinal,
        "occurred_on": view.occurred_on.isoformat() if view.occurred_on else None,
        "created": view.created_at.isoformat(),
        "updated": view.updated_at.isoformat(),
        "releases": [
            {
                "title": plain_text(member.title),
                "url": web_url(xml_safe(member.url).strip()),
                "agency": member.agency,
                "source": member.source,
                "language": member.language,
                "published": member.published_at.isoformat(),
            }
            for member in view.members
        ],
    }


def csv_row(record: dict[str, Any]) -> list[str]:
    """A release record as one CSV row (``CSV_COLUMNS``): lists joined by spaces, the
    attachments' URLs by spaces; a value a spreadsheet would run as a formula is quoted."""
    values = {
        **record,
        "partners": " ".join(record.get("partners") or []),
        "topics": " ".join(record.get("topics") or []),
        "attachments": " ".join(a["url"] for a in record.get("attachments") or []),
        "is_cooperation": "" if record.get("is_cooperation") is None else
        str(bool(record["is_cooperation"])).lower(),
    }  # fmt: skip
    return [_cell(values.get(column)) for column in CSV_COLUMNS]


def to_csv(records: Iterable[dict[str, Any]]) -> str:
    """RFC 4180 CSV with a header row (CRLF line ends, as the RFC and spreadsheets expect)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for record in records:
        writer.writerow(csv_row(record))
    return buffer.getvalue()


def _cell(value: Any) -> str:
    text = "" if value is None else " ".join(str(value).split())
    # CSV injection: a cell starting with = + - @ is a formula to Excel and LibreOffice.
    if text[:1] in ("=", "+", "-", "@"):
        text = "'" + text
    return text


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")

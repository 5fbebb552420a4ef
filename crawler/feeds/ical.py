"""The calendar: coming events named in cooperation releases, as an iCalendar (RFC 5545) file.

``stnews feed`` writes ``calendar.ics`` beside the feeds; the server answers
``/calendar.ics`` with the feeds' filters (``?partner=FR&topic=ai...``). Each entry is an
all-day entry: a day when the release names a day, the whole month when it names only a month
or a vague part of one ("early May 2024" is May 2024, never an invented 1 May). Dates come from
``crawler.feeds.coming``; each entry links back to its release (URL and description). When
several releases of one event (``storage.events``) name the same date, the event gets one
entry, linked to its first release.

Built with the ``icalendar`` library. Nothing here reads the clock: DTSTAMP is the release's
last update, so an unchanged database gives byte-identical files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from hashlib import sha1
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.feeds.build import release_entry_id
from crawler.feeds.catalog import SITE_TITLE
from crawler.feeds.coming import ComingDate, coming_dates
from crawler.feeds.labels import partner_name
from crawler.feeds.sanitize import plain_text, web_url, xml_safe
from storage.db import Database
from storage.models import EventMember, Release
from storage.queries import feed_releases

PRODID = "-//stnews//coming cooperation events//EN"
#: Newest cooperation releases read for coming dates: a year or more of announcements.
CALENDAR_RELEASES = 500
OCCASION_LABELS = {"meeting": "meeting", "deadline": "deadline", "visit": "visit"}


@dataclass(frozen=True)
class CalendarEntry:
    uid: str
    start: date
    end: date  # exclusive, as DTEND of an all-day entry
    period: str  # "day" or "month"
    summary: str
    description: str
    url: str | None
    stamp: datetime
    categories: tuple[str, ...]
    release_id: int
    event_id: str | None


def calendar_entries(
    session: Session, *, limit: int = CALENDAR_RELEASES, **filters: Any
) -> list[CalendarEntry]:
    """Entries for the coming dates named by the newest `limit` cooperation releases matching
    `filters` (storage.queries.feed_releases keywords), ordered by start day."""
    releases = feed_releases(session, cooperation_only=True, limit=limit, **filters)
    event_of = _events_of(session, [r.id for r in releases])
    # Oldest first: an event's date is attributed to the first release that names it.
    entries: dict[tuple[str, date, str, str], CalendarEntry] = {}
    for release in sorted(releases, key=lambda r: (r.published_at, r.id)):
        for coming in release_coming_dates(release):
            owner = event_of.get(release.id) or f"release-{release.id}"
            key = (owner, coming.start, coming.period, coming.occasion)
            if key not in entries:
                entries[key] = _entry(release, coming, event_of.get(release.id))
    return sorted(entries.values(), key=lambda e: (e.start, e.end, e.uid))


def release_coming_dates(release: Release) -> list[ComingDate]:
    """The coming dates a stored release names (needs `release.source` loaded)."""
    zone = _zone(release.source.timezone)
    published = release.published_at.astimezone(zone).date()
    text = f"{xml_safe(release.title)}\n{xml_safe(release.body)}"
    return coming_dates(text, published, release.language or release.source.language)


def render_calendar(
    database: Database,
    *,
    base_url: str = "",
    title: str | None = None,
    limit: int = CALENDAR_RELEASES,
    **filters: Any,
) -> bytes:
    """The iCalendar file of the coming events of the releases matching `filters`."""
    with database.session(readonly=True) as session:
        entries = calendar_entries(session, limit=limit, **filters)
    return to_ical(entries, title=title or f"{SITE_TITLE}: coming cooperation events", url=base_url)


def to_ical(entries: Sequence[CalendarEntry], *, title: str, url: str = "") -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    # Names most calendar applications show (RFC 7986 NAME, and Apple/Google's X-WR-CALNAME).
    calendar.add("name", title)
    calendar.add("x-wr-calname", title)
    if web_url(url):
        calendar.add("url", url)
    for entry in entries:
        event = Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", entry.stamp)
        event.add("dtstart", entry.start)  # a date: an all-day (or month-long) entry
        event.add("dtend", entry.end)
        event.add("summary", entry.summary)
        event.add("description", entry.description)
        if entry.url:
            event.add("url", entry.url)
        if entry.categories:
            event.add("categories", list(entry.categories))
        event.add("transp", "TRANSPARENT")  # informs, does not block the reader's time
        event.add("x-stnews-precision", entry.period)
        calendar.add_component(event)
    return calendar.to_ical()


def _entry(release: Release, coming: ComingDate, event_id: str | None) -> CalendarEntry:
    parties = [release.agency_country, *(release.partners or [])]
    names = []
    for code in parties:
        name = partner_name(plain_text(code)) if plain_text(code) else ""
        if name and name not in names:
            names.append(name)
    occasion = OCCASION_LABELS.get(coming.occasion, coming.occasion)
    who = "–".join(names[:3]) or plain_text(release.agency)
    when = coming.phrase if coming.period == "month" else ""
    summary = f"{who} {occasion}" + (f" ({when})" if when else "")
    url = web_url(xml_safe(release.url).strip())
    title = plain_text(release.title) or "(untitled)"
    description = (
        f"{coming.sentence}\n\nAs the release states it: “{coming.phrase}”."
        f"\n\nAnnounced in: {title} ({plain_text(release.agency)})" + (f"\n{url}" if url else "")
    )
    owner = event_id or release_entry_id(release.source.name, release.native_id, release.url)
    digest = sha1(
        f"{owner}|{coming.start.isoformat()}|{coming.period}|{coming.occasion}".encode(
            "utf-8", "surrogatepass"
        )
    ).hexdigest()[:24]
    return CalendarEntry(
        uid=f"{digest}@stnews",
        start=coming.start,
        end=coming.end,
        period=coming.period,
        summary=plain_text(summary),
        description=plain_text(description, keep_paragraphs=True),
        url=url,
        stamp=release.updated_at,
        categories=(occasion, *names),
        release_id=release.id,
        event_id=event_id,
    )


def _events_of(session: Session, ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        query = select(EventMember.release_id, EventMember.event_id).where(
            EventMember.release_id.in_(list(ids[start : start + 500]))
        )
        found.update(session.execute(query).all())
    return found


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")

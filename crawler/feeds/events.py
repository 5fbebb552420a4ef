"""One feed entry per event: the releases a feed selected, collapsed into their events.

Kept apart from the feed builder so that the per-release feeds stay as they are: the builder
(and the server) pass a feed's releases through ``collapse`` when the feed is of cooperation
announcements. An event's entry:

- id ``tag:stnews.github.io,2024:event/<event id>``: never changes (the event id is fixed
  when the event is founded and kept by rebuilds, see ``crawler.events.linker``);
- link, title and publication time of the event's first release;
- ``updated`` the latest of the event's own update time (it moves when a member joins) and
  its members' (an edited release): a reader that polled before sees an update, not a new item;
- content: the first release's summary, then every release of the event with its agency,
  language and date ("Also announced by …").

A release not (yet) in an event keeps its own entry, so nothing disappears from a feed when
linking is late or failed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from html import escape
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.feeds.build import TAG_PREFIX, FeedItem
from crawler.feeds.sanitize import plain_text, web_url, xml_safe
from storage.events import EventView, events_by_id
from storage.models import EventMember, Release


def event_entry_id(event_id: str) -> str:
    return f"{TAG_PREFIX}event/{event_id}"


def collapse(
    session: Session, releases: Sequence[Release], item_of: Callable[[Release], FeedItem]
) -> list[FeedItem]:
    """Entries for a feed's releases (newest first): one per event, at the place of its newest
    selected release; releases without an event keep their own entry."""
    ids = [r.id for r in releases]
    event_of: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        query = select(EventMember.release_id, EventMember.event_id).where(
            EventMember.release_id.in_(ids[start : start + 500])
        )
        event_of.update(session.execute(query).all())
    views = {v.id: v for v in events_by_id(session, sorted(set(event_of.values())))}
    items: list[FeedItem] = []
    seen: set[str] = set()
    for release in releases:
        event_id = event_of.get(release.id)
        view = views.get(event_id) if event_id else None
        if view is None:
            items.append(item_of(release))
            continue
        if view.id in seen:
            continue
        seen.add(view.id)
        first = (
            release
            if release.id == view.first.release_id
            else session.get(Release, view.first.release_id)
        )
        items.append(item_from_event(view, item_of(first or release), session))
    return items


def item_from_event(view: EventView, first: FeedItem, session: Session | None = None) -> FeedItem:
    """The entry of an event, built on its first release's entry."""
    zones = _zones(session, view) if session is not None else {}
    lines = []
    for member in view.members:
        zone = ZoneInfo(zones.get(member.release_id, "UTC"))
        day = member.published_at.astimezone(zone).date().isoformat()
        lines.append(
            (
                plain_text(member.agency) or member.source,
                plain_text(member.language),
                day,
                plain_text(member.title) or "(untitled)",
                web_url(xml_safe(member.url).strip()) or "",
            )
        )
    others = lines[1:]
    text = first.summary_text
    html = first.summary_html or "".join(
        f"<p>{escape(p, quote=False)}</p>" for p in text.split("\n\n") if p
    )
    if others:
        names = ", ".join(f"{agency} ({language}, {day})" for agency, language, day, _, _ in others)
        text = f"{text}\n\nAlso announced by {names}." if text else f"Also announced by {names}."
    listing = "".join(
        f"<li>{escape(agency)} ({escape(language)}, {day}): "
        + (f'<a href="{escape(url)}">{escape(title)}</a>' if url else escape(title))
        + "</li>"
        for agency, language, day, title, url in lines
    )
    heading = "Also announced by" if others else "Announced by"
    html = f"{html}<p>{heading}:</p><ul>{listing}</ul>"
    updated = max(first.updated, view.updated_at)
    languages = {language for _, language, _, _, _ in lines if language}
    return replace(
        first,
        id=event_entry_id(view.id),
        updated=updated,
        summary_text=text,
        summary_html=html,
        language=first.language if len(languages) <= 1 else "mul",
    )


def _zones(session: Session, view: EventView) -> dict[int, str]:
    from storage.models import Source

    ids = [m.release_id for m in view.members]
    query = (
        select(Release.id, Source.timezone)
        .join(Source, Source.id == Release.source_id)
        .where(Release.id.in_(ids))
    )
    return dict(session.execute(query).all())


__all__ = ["collapse", "event_entry_id", "event_groups", "item_from_event"]


def event_groups(session: Session, releases: Sequence[Release]) -> list[list[Release]]:
    """The releases grouped by event, in the order of each event's newest release; within a
    group the event's first release comes first, then the others by date. Members not among
    ``releases`` are loaded (with their sources)."""
    ids = [r.id for r in releases]
    event_of: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        query = select(EventMember.release_id, EventMember.event_id).where(
            EventMember.release_id.in_(ids[start : start + 500])
        )
        event_of.update(session.execute(query).all())
    views = {v.id: v for v in events_by_id(session, sorted(set(event_of.values())))}
    groups: list[list[Release]] = []
    seen: set[str] = set()
    given = {r.id: r for r in releases}
    for release in releases:
        view = views.get(event_of.get(release.id, ""))
        if view is None:
            groups.append([release])
            continue
        if view.id in seen:
            continue
        seen.add(view.id)
        members = [
            given.get(m.release_id) or session.get(Release, m.release_id) for m in view.members
        ]
        groups.append([m for m in members if m is not None])
    return groups

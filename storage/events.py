"""Events and their members in the database: what the linker reads and writes, and what the
ledger, the feeds and the server list. Plain records in and out; the linking itself lives in
``crawler.events`` (pure) and ``crawler.service.linking`` (which joins the two)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from storage.models import Event, EventMember, Release, Source, utcnow

_LOCK_KEY = 0x5374_4576  # "StEv": PostgreSQL advisory lock id held while linking


def lock_linking(session: Session) -> None:
    """Serialize linkers (two crawls finishing together) for the rest of the transaction.
    SQLite needs nothing: a write transaction holds the database's write lock from BEGIN."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})


def unlinked_cooperation(session: Session, limit: int) -> list[Release]:
    """Cooperation releases not in any event yet, oldest first."""
    query = (
        select(Release)
        .outerjoin(EventMember, EventMember.release_id == Release.id)
        .where(Release.is_cooperation.is_(True), EventMember.release_id.is_(None))
        .order_by(Release.published_at, Release.id)
        .limit(limit)
    )
    return list(session.scalars(query))


@dataclass(slots=True)
class StoredMember:
    release_id: int
    event_id: str
    signals: dict[str, Any]
    signals_version: int
    fingerprint: str
    release_fingerprint: str
    event_created: datetime


_MEMBER_COLUMNS = (
    EventMember.release_id,
    EventMember.event_id,
    EventMember.signals,
    EventMember.signals_version,
    EventMember.fingerprint,
    Release.fingerprint,
    Event.created_at,
)


def _member_query() -> Select:
    # Plain columns, not ORM instances: a rebuild reads every membership, and building an
    # instance per row cost more than reading it.
    return (
        select(*_MEMBER_COLUMNS)
        .join(Release, Release.id == EventMember.release_id)
        .join(Event, Event.id == EventMember.event_id)
        .order_by(Event.created_at, Event.id, EventMember.joined_at, EventMember.release_id)
    )


def members_published_between(
    session: Session, start: datetime, end: datetime
) -> list[StoredMember]:
    """Members of live events whose release was published in [start, end], with their events'
    founding times (the linker keeps founding order)."""
    query = _member_query().where(Release.published_at >= start, Release.published_at <= end)
    return [StoredMember(*row) for row in session.execute(query)]


def all_members(session: Session) -> list[StoredMember]:
    return [StoredMember(*row) for row in session.execute(_member_query())]


def cooperation_release_ids(session: Session) -> list[int]:
    return list(
        session.scalars(
            select(Release.id).where(Release.is_cooperation.is_(True)).order_by(Release.id)
        )
    )


def releases_by_id(session: Session, ids: Sequence[int]) -> list[Release]:
    out: list[Release] = []
    for start in range(0, len(ids), 500):
        out.extend(session.scalars(select(Release).where(Release.id.in_(ids[start : start + 500]))))
    return out


@dataclass(slots=True)
class EventSummary:
    """What an event row says of its members (computed by ``crawler.events.summary``)."""

    parties: list[str]
    coop_type: str | None
    instrument: str | None
    ordinal: int | None
    occurred_on: date | None
    first_release_id: int | None
    members: int


@dataclass(slots=True)
class Membership:
    release_id: int
    score: float | None
    signals: dict[str, Any]
    signals_version: int
    fingerprint: str


@dataclass(slots=True)
class EventWrite:
    """The state of one event after linking: its members and summary."""

    event_id: str
    summary: EventSummary
    members: list[Membership] = field(default_factory=list)
    merged_from: list[str] = field(default_factory=list)


def write_events(
    session: Session, writes: Iterable[EventWrite], now: datetime | None = None
) -> int:
    """Create or update events and add their new members; absorbed events point to the
    survivor. ``updated_at`` moves only for events that gained a member. Returns the number
    of memberships written."""
    now = now or utcnow()
    writes = list(writes)
    # What the writes touch, read up front by three queries instead of three per event and
    # one per member (issue 19: a crawl's linking step spent half its time on these): the
    # event rows, their members' ids, and the member rows of the releases being placed
    # (loaded, they are updated in place; a release with none gets a new row).
    event_ids = [write.event_id for write in writes]
    rows = {row.id: row for row in session.scalars(select(Event).where(Event.id.in_(event_ids)))}
    members_of: dict[str, set[int]] = {event_id: set() for event_id in event_ids}
    for event_id, release_id in session.execute(
        select(EventMember.event_id, EventMember.release_id).where(
            EventMember.event_id.in_(event_ids)
        )
    ):
        members_of[event_id].add(release_id)
    placed = [m.release_id for write in writes for m in write.members]
    stored = {
        member.release_id: member
        for member in session.scalars(select(EventMember).where(EventMember.release_id.in_(placed)))
    }
    # The events first, new ones inserted by one flush, so that a member row may name any of
    # them whatever order the unit of work picks (the models declare no relationship between
    # the two); the loop below then flushes no more once per event (issue 19: 108 flushes on
    # a 300-release bench crawl were two thirds of this function's time).
    for write in writes:
        row = rows.get(write.event_id)
        if row is None:
            row = rows[write.event_id] = Event(id=write.event_id, created_at=now, updated_at=now)
            session.add(row)
        _set_summary(row, write.summary)
    session.flush()
    written = 0
    for write in writes:
        row = rows[write.event_id]
        existing = members_of[write.event_id]
        moved = False
        for old in write.merged_from:
            session.execute(
                update(EventMember).where(EventMember.event_id == old).values(event_id=row.id)
            )
            session.execute(
                update(Event)
                .where(Event.id == old)
                .values(merged_into=row.id, members=0, updated_at=now)
            )
            moved = True
        for member in write.members:
            if member.release_id in existing:
                continue
            values = {
                "event_id": row.id,
                "joined_at": now,
                "score": member.score,
                "signals": member.signals,
                "signals_version": member.signals_version,
                "fingerprint": member.fingerprint,
            }
            found = stored.get(member.release_id)
            if found is None:  # never placed: a new row
                found = EventMember(release_id=member.release_id, **values)
                stored[member.release_id] = found
                session.add(found)
            else:  # placed in another event before: it moves here
                for name, value in values.items():
                    setattr(found, name, value)
            written += 1
            moved = True
        if moved:
            row.updated_at = now
    return written


def _set_summary(row: Event, summary: EventSummary) -> None:
    row.parties = summary.parties
    row.coop_type = summary.coop_type
    row.instrument = summary.instrument
    row.ordinal = summary.ordinal
    row.occurred_on = summary.occurred_on
    row.first_release_id = summary.first_release_id
    row.members = summary.members
    row.merged_into = None


def replace_all(
    session: Session,
    assignments: dict[int, tuple[str, Membership]],
    summaries: dict[str, EventSummary],
    previous: dict[int, str],
    refreshed: set[int],
    now: datetime | None = None,
) -> dict[str, int]:
    """Make the stored events exactly ``assignments`` (release id -> (event id, membership)),
    given the stored ``previous`` (release id -> event id). Only differences are written:
    memberships that moved, appeared, left, or whose signals were recomputed (``refreshed``);
    events whose member set or summary changed. Events keep ``created_at``; ``updated_at``
    moves only where the member set changed; ids no longer used point to the event that took
    most of their members."""
    now = now or utcnow()
    old_members: dict[str, set[int]] = {}
    for release_id, event_id in previous.items():
        old_members.setdefault(event_id, set()).add(release_id)
    new_members: dict[str, set[int]] = {}
    for release_id, (event_id, _) in assignments.items():
        new_members.setdefault(event_id, set()).add(release_id)
    counts = {"events": len(new_members), "changed": 0, "retired": 0}

    existing = {row.id: row for row in session.scalars(select(Event))}
    for event_id, members in new_members.items():
        row = existing.get(event_id)
        if row is None:
            row = Event(id=event_id, created_at=now, updated_at=now)
            session.add(row)
            counts["changed"] += 1
        elif old_members.get(event_id) != members:
            row.updated_at = now
            counts["changed"] += 1
        if row.merged_into is not None or _summary_differs(row, summaries[event_id]):
            _set_summary(row, summaries[event_id])
    session.flush()

    gone = [r for r in previous if r not in assignments]
    for start in range(0, len(gone), 500):
        session.execute(
            delete(EventMember).where(EventMember.release_id.in_(gone[start : start + 500]))
        )
    moved = [
        {"release_id": r, "event_id": e, "joined_at": now}
        for r, (e, _) in assignments.items()
        if r in previous and previous[r] != e
    ]
    if moved:
        session.execute(update(EventMember), moved)
    fresh = [
        {"release_id": r, "signals": m.signals, "signals_version": m.signals_version,
         "fingerprint": m.fingerprint}
        for r, (_, m) in assignments.items()
        if r in previous and r in refreshed
    ]  # fmt: skip
    if fresh:
        session.execute(update(EventMember), fresh)
    added = [
        {"release_id": r, "event_id": e, "joined_at": now, "score": m.score,
         "signals": m.signals, "signals_version": m.signals_version, "fingerprint": m.fingerprint}
        for r, (e, m) in assignments.items()
        if r not in previous
    ]  # fmt: skip
    for start in range(0, len(added), 1000):
        session.execute(insert(EventMember), added[start : start + 1000])

    for event_id, row in existing.items():
        if event_id in new_members:
            continue
        old = old_members.get(event_id, set())
        heirs = (
            {eid: len(old & mem) for eid, mem in new_members.items() if old & mem} if old else {}
        )
        if old or row.members:
            row.merged_into = max(heirs, key=lambda e: (heirs[e], e)) if heirs else None
            row.members = 0
            row.updated_at = now
            counts["retired"] += 1
    return counts


def _summary_differs(row: Event, summary: EventSummary) -> bool:
    return (
        list(row.parties or []) != summary.parties
        or row.coop_type != summary.coop_type
        or row.instrument != summary.instrument
        or row.ordinal != summary.ordinal
        or row.occurred_on != summary.occurred_on
        or row.first_release_id != summary.first_release_id
        or row.members != summary.members
    )


# --- reading -------------------------------------------------------------------------------


@dataclass(slots=True)
class MemberView:
    release_id: int
    title: str
    url: str
    agency: str
    source: str
    language: str
    published_at: datetime
    joined_at: datetime


@dataclass(slots=True)
class EventView:
    id: str
    parties: list[str]
    coop_type: str | None
    instrument: str | None
    ordinal: int | None
    occurred_on: date | None
    created_at: datetime
    updated_at: datetime
    members: list[MemberView]

    @property
    def first(self) -> MemberView:
        return self.members[0]


def _event_query(partner: str | None) -> Select[tuple[Event]]:
    query = select(Event).where(Event.merged_into.is_(None), Event.members > 0)
    if partner:
        # JSON arrays differ per backend; parties are short, so filtering happens below.
        pass
    return query


def list_events(
    session: Session,
    *,
    partner: str | None = None,
    limit: int | None = None,
    since: datetime | None = None,
    order: str = "updated",
) -> list[EventView]:
    """Live events with their members (earliest first), newest ``order`` first: "updated"
    (feeds) or "occurred" (the ledger reads them all and sorts itself)."""
    query = _event_query(partner)
    if since is not None:
        query = query.where(Event.updated_at >= since)
    query = query.order_by(
        Event.updated_at.desc() if order == "updated" else Event.occurred_on.desc(), Event.id
    )
    code = partner.upper() if partner else None
    rows: list[Event] = []
    for row in session.scalars(query.execution_options(yield_per=500)):
        if code and code not in (row.parties or []):
            continue
        rows.append(row)
        if limit is not None and len(rows) >= limit:
            break
    return _with_members(session, rows)


def events_by_id(session: Session, ids: Sequence[str]) -> list[EventView]:
    rows = list(session.scalars(select(Event).where(Event.id.in_(list(ids)))))
    return _with_members(session, rows)


def _with_members(session: Session, rows: list[Event]) -> list[EventView]:
    if not rows:
        return []
    members: dict[str, list[MemberView]] = {row.id: [] for row in rows}
    ids = list(members)
    for start in range(0, len(ids), 500):
        query = (
            select(EventMember.event_id, EventMember.joined_at, Release, Source.name)
            .join(Release, Release.id == EventMember.release_id)
            .join(Source, Source.id == Release.source_id)
            .where(EventMember.event_id.in_(ids[start : start + 500]))
            .order_by(Release.published_at, Release.id)
        )
        for event_id, joined_at, release, source in session.execute(query):
            members[event_id].append(
                MemberView(
                    release.id,
                    release.title,
                    release.url,
                    release.agency,
                    source,
                    release.language,
                    release.published_at,
                    joined_at,
                )
            )
    return [
        EventView(
            row.id,
            list(row.parties or []),
            row.coop_type,
            row.instrument,
            row.ordinal,
            row.occurred_on,
            row.created_at,
            row.updated_at,
            members[row.id],
        )
        for row in rows
        if members[row.id]
    ]


def resolve_event_id(session: Session, event_id: str) -> str | None:
    """The live id for ``event_id``, following merges (None when unknown)."""
    seen: set[str] = set()
    current: str | None = event_id
    while current is not None and current not in seen:
        seen.add(current)
        row = session.get(Event, current)
        if row is None:
            return None
        if row.merged_into is None:
            return row.id
        current = row.merged_into
    return None


def event_counts(session: Session) -> dict[str, int]:
    live = session.scalar(
        select(func.count())
        .select_from(Event)
        .where(Event.merged_into.is_(None), Event.members > 0)
    )
    members = session.scalar(select(func.count()).select_from(EventMember))
    return {"events": live or 0, "members": members or 0}


def published_window(rows: Sequence[Release], days: int) -> tuple[datetime, datetime]:
    times = [r.published_at for r in rows]
    return min(times) - timedelta(days=days), max(times) + timedelta(days=days)


__all__ = [
    "EventSummary",
    "EventView",
    "EventWrite",
    "MemberView",
    "Membership",
    "StoredMember",
    "all_members",
    "cooperation_release_ids",
    "event_counts",
    "events_by_id",
    "list_events",
    "lock_linking",
    "members_published_between",
    "published_window",
    "releases_by_id",
    "replace_all",
    "resolve_event_id",
    "unlinked_cooperation",
    "write_events",
]

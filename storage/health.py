"""Source health (healthy / degraded / broken, and stale) and the monitor events it raises."""

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.limits import fit_text
from storage.models import Base, Release, Source, utcnow
from storage.releases import upsert_insert

HEALTHY, DEGRADED, BROKEN = "healthy", "degraded", "broken"


class SourceHealth(Base):
    """The current health of one source, as its latest finished crawl showed it."""

    __tablename__ = "source_health"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    stale: Mapped[bool] = mapped_column(default=False)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Since when the source has had this status.
    since: Mapped[datetime] = mapped_column(default=utcnow)


class MonitorEvent(Base):
    """Something an operator should hear of: a source broke, degraded, recovered, went stale."""

    __tablename__ = "monitor_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # broken, degraded, recovered, stale
    message: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


def record_health(
    session: Session,
    source: str,
    status: str,
    reasons: Sequence[str],
    stale: bool,
    stale_message: str | None = None,
) -> list[MonitorEvent]:
    """Store a source's health; return the events raised by what changed.

    ``stale_message`` says why a stale source is stale (a quiet feed, say); without it the
    message is built from the stored releases' rhythm."""
    now = utcnow()
    # Two crawls of one source may finish at once: create the row race-free, then lock it.
    session.execute(
        upsert_insert(session, SourceHealth)
        .values(source=source, status=HEALTHY, reasons=[], stale=False, checked_at=now, since=now)
        .on_conflict_do_nothing(index_elements=["source"])
    )
    current = session.scalars(
        select(SourceHealth).where(SourceHealth.source == source).with_for_update()
    ).one()
    session.refresh(current)
    previous_status, previous_stale = current.status, current.stale
    if current.status != status:
        current.since = now
    current.status, current.reasons, current.stale, current.checked_at = (
        status, list(reasons), stale, now,
    )  # fmt: skip

    events = []
    if status != HEALTHY and status != previous_status:
        message = fit_text(MonitorEvent, "message", "; ".join(reasons)) or ""
        events.append(MonitorEvent(source=source, kind=status, message=message))
    elif status == HEALTHY and previous_status != HEALTHY:
        events.append(MonitorEvent(source=source, kind="recovered", message="healthy run"))
    if stale and not previous_stale:
        message = stale_message or _stale_message(session, source)
        events.append(MonitorEvent(source=source, kind="stale", message=message))
    for event in events:
        event.created_at = now
        session.add(event)
    return events


@dataclass(frozen=True)
class Rhythm:
    newest: datetime | None
    usual_gap: timedelta | None

    def quiet_limit(
        self,
        declared: timedelta | None = None,
        factor: float = 4.0,
        floor: timedelta = timedelta(days=14),
    ) -> timedelta | None:
        """How long the source may go without a release: its declared rhythm
        (``[source.health] max_quiet_days``: sources publish daily or weekly), else far
        beyond its usual gap (and at least two weeks); None while the gap is unknown."""
        if declared is not None:
            return declared
        if self.usual_gap is None:
            return None
        return max(self.usual_gap * factor, floor)

    def is_stale(
        self,
        now: datetime,
        factor: float = 4.0,
        floor: timedelta = timedelta(days=14),
        declared: timedelta | None = None,
    ) -> bool:
        """Quiet beyond ``quiet_limit``."""
        limit = self.quiet_limit(declared, factor, floor)
        if self.newest is None or limit is None:
            return False
        return now - self.newest > limit


def publishing_rhythm(session: Session, source: str, history: int = 30) -> Rhythm:
    """The source's newest release and the median gap between its recent releases."""
    dates = list(
        session.scalars(
            select(Release.published_at)
            .join(Source)
            .where(Source.name == source)
            .order_by(Release.published_at.desc())
            .limit(history)
        )
    )
    if not dates:
        return Rhythm(None, None)
    gaps = [newer - older for newer, older in itertools.pairwise(dates)]
    return Rhythm(dates[0], statistics.median(gaps) if gaps else None)


def _stale_message(session: Session, source: str) -> str:
    rhythm = publishing_rhythm(session, source)
    newest = rhythm.newest.date().isoformat() if rhythm.newest else "never"
    gap = f"{rhythm.usual_gap.days} days" if rhythm.usual_gap else "unknown"
    return f"no new release since {newest}; usual gap between releases: {gap}"


def health_by_source(session: Session) -> dict[str, SourceHealth]:
    return {h.source: h for h in session.scalars(select(SourceHealth))}


def recent_events(session: Session, limit: int = 50) -> list[MonitorEvent]:
    return list(
        session.scalars(
            select(MonitorEvent)
            .order_by(MonitorEvent.created_at.desc(), MonitorEvent.id.desc())
            .limit(limit)
        )
    )

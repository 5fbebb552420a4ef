"""Linking stored releases into events: after each crawl (``link_new``) and on demand
(``rebuild_all``, ``stnews events rebuild``). Joins the pure linker (``crawler.events``) and the
database (``storage.events``); knows nothing of Scrapy.

Each release's signals are computed once and stored with its membership, with the release's
fingerprint and the extraction version: linking a crawl's new releases reads the stored
signals of the members published near them, and a rebuild recomputes only stale ones.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from crawler.events import Linker, rebuild
from crawler.events.linker import order_key
from crawler.events.score import FAR_DAYS, WINDOW_DAYS
from crawler.events.signals import (
    SIGNALS_VERSION,
    Release,
    Signals,
    extract,
    from_dict,
    numpy_for,
    to_dict,
)
from crawler.events.summary import summarize
from storage import Database
from storage import events as store
from storage.models import Release as ReleaseRow
from storage.models import Source

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(slots=True)
class LinkReport:
    linked: int = 0
    new_events: int = 0
    joined: int = 0
    merged: int = 0
    failed: int = 0  # releases whose text broke signal extraction (logged)
    seconds: float = 0.0

    def summary(self) -> str:
        text = (
            f"linked {self.linked} releases: {self.new_events} new events, "
            f"{self.joined} joined existing ones, {self.merged} merges"
        )
        return text + (f", {self.failed} with unreadable text" if self.failed else "")


def release_input(row: ReleaseRow, zone: str) -> Release:
    local = row.published_at.astimezone(ZoneInfo(zone)).date() if row.published_at else None
    return Release(
        key=str(row.id),
        title=row.title,
        body=row.body or "",
        language=row.language,
        agency=row.agency,
        agency_country=row.agency_country,
        published=local,
        published_month=(local.year, local.month) if local else None,
        partners=tuple(row.partners or ()),
        coop_type=row.coop_type,
    )


def _zones(session: Session) -> dict[int, str]:
    return {s.id: s.timezone for s in session.query(Source)}


def _signals_of(row: ReleaseRow, zones: dict[int, str]) -> Signals:
    return extract(release_input(row, zones.get(row.source_id, "UTC")))


def _safe_signals(row: ReleaseRow, zones: dict[int, str], report: LinkReport) -> Signals:
    """Signals of a new release; one whose text breaks extraction is logged, counted and
    linked on its parties and publication date alone, so it cannot stall every later run."""
    try:
        return _signals_of(row, zones)
    except Exception:
        log.exception("events: signals of release %s (%s) failed; linked on its parties only",
                      row.id, row.url)  # fmt: skip
        report.failed += 1
        bare = release_input(row, zones.get(row.source_id, "UTC"))
        return extract(replace(bare, title="", body=""))


def _membership(s: Signals, fingerprint: str, value: float | None) -> store.Membership:
    return store.Membership(int(s.key), value, to_dict(s), SIGNALS_VERSION, fingerprint)


def _load(
    session: Session,
    stored: list[store.StoredMember],
    zones: dict[int, str],
    refreshed: set[int] | None = None,
) -> list[tuple[Signals, str]]:
    """(signals, event id) of stored members, recomputing stale signals (their release ids
    are added to ``refreshed``)."""
    stale = [
        m.release_id
        for m in stored
        if m.signals_version != SIGNALS_VERSION or m.fingerprint != m.release_fingerprint
    ]
    numpy_for(len(stale))
    fresh = {r.id: _signals_of(r, zones) for r in store.releases_by_id(session, stale)}
    if refreshed is not None:
        refreshed.update(fresh)
    out = []
    for m in stored:
        s = fresh.get(m.release_id) or from_dict(m.signals, key=str(m.release_id))
        out.append((s, m.event_id))
    return out


def link_new(database: Database, batch: int = BATCH) -> LinkReport:
    """Place every cooperation release not yet in an event; one transaction per batch."""
    report = LinkReport()
    started = time.perf_counter()
    while True:
        with database.session() as session:
            store.lock_linking(session)
            rows = store.unlinked_cooperation(session, batch)
            if not rows:
                break
            _link_batch(session, rows, report)
    report.seconds = time.perf_counter() - started
    if report.linked:
        log.info("events: %s in %.1f s", report.summary(), report.seconds)
    return report


def _link_batch(session: Session, rows: list[ReleaseRow], report: LinkReport) -> None:
    zones = _zones(session)
    margin = timedelta(days=WINDOW_DAYS + FAR_DAYS)
    start, end = store.published_window(rows, margin.days)
    linker = Linker()
    fingerprints: dict[str, str] = {}
    for s, event_id in _load(session, store.members_published_between(session, start, end), zones):
        linker.place(s, event_id)
    numpy_for(len(rows))  # a crawl's few new releases are hashed without NumPy's import
    new = sorted((_safe_signals(r, zones, report) for r in rows), key=order_key)
    fingerprints.update({str(r.id): r.fingerprint for r in rows})
    touched: set[str] = set()
    scores: dict[str, float | None] = {}
    for s in new:
        placement = linker.add(s)
        scores[s.key] = placement.score
        report.linked += 1
        report.new_events += placement.created
        report.joined += not placement.created
        report.merged += len(placement.merged)
        touched.add(placement.event_id)
    # Merges made in this batch: every absorbed id points (through others) to a live event.
    absorbed: dict[str, list[str]] = {}
    for gone in linker.merged:
        absorbed.setdefault(linker.resolve(gone), []).append(gone)
    writes = []
    for event_id in sorted({linker.resolve(e) for e in touched}):
        members = linker.events[event_id].members
        writes.append(
            store.EventWrite(
                event_id,
                _summary(members),
                [
                    _membership(m, fingerprints[m.key], scores.get(m.key))
                    for m in members
                    if m.key in fingerprints
                ],
                sorted(absorbed.get(event_id, [])),
            )
        )
    store.write_events(session, writes)


def _summary(members: list[Signals]) -> store.EventSummary:
    summary = summarize(members)
    return store.EventSummary(
        parties=list(summary.parties),
        coop_type=summary.coop_type,
        instrument=summary.instrument,
        ordinal=summary.ordinal,
        occurred_on=summary.occurred_on,
        first_release_id=int(summary.first_key),
        members=len(members),
    )


def rebuild_all(database: Database) -> dict[str, int]:
    """Relink every cooperation release, keeping event ids (``crawler.events.rebuild``)."""
    started = time.perf_counter()
    with database.session() as session:
        store.lock_linking(session)
        zones = _zones(session)
        stored = store.all_members(session)
        refreshed: set[int] = set()
        loaded = _load(session, stored, zones, refreshed)
        previous = {s.key: event_id for s, event_id in loaded}
        signals = {s.key: s for s, _ in loaded}
        fingerprints = {str(m.release_id): m.release_fingerprint for m in stored}
        cooperation = store.cooperation_release_ids(session)
        missing = [i for i in cooperation if str(i) not in signals]
        numpy_for(len(missing))
        for row in store.releases_by_id(session, missing):
            signals[str(row.id)] = _signals_of(row, zones)
            fingerprints[str(row.id)] = row.fingerprint
        keep = {str(i) for i in cooperation}
        signals = {k: s for k, s in signals.items() if k in keep}
        assignment = rebuild(signals.values(), previous)
        grouped: dict[str, list[Signals]] = {}
        for key, event_id in assignment.items():
            grouped.setdefault(event_id, []).append(signals[key])
        summaries = {event_id: _summary(members) for event_id, members in grouped.items()}
        # Signals are written only where they are new or were recomputed.
        unchanged = store.Membership(0, None, {}, SIGNALS_VERSION, "")
        rows = {
            int(key): (
                event_id,
                _membership(signals[key], fingerprints[key], None)
                if key not in previous or int(key) in refreshed
                else unchanged,
            )
            for key, event_id in assignment.items()
        }
        counts = store.replace_all(
            session, rows, summaries, {int(k): e for k, e in previous.items()}, refreshed
        )
    counts["releases"] = len(assignment)
    counts["seconds"] = round(time.perf_counter() - started, 2)  # type: ignore[assignment]
    return counts


__all__ = ["LinkReport", "link_new", "rebuild_all", "release_input"]

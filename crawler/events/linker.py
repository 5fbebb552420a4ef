"""Incremental linking of releases into events, and a rebuild that keeps event ids.

**Incremental.** A new release is compared with the events that could hold it: those sharing a
pair of parties with it (Korea-France) and with a member dated within ``WINDOW_DAYS`` of it
(undated ones: the most recent ``UNDATED_CANDIDATES`` events of the pair). An event is out if
any member vetoes the release (complete linkage for vetoes); otherwise its score is the best
score against a member (single linkage for evidence). The release joins the best event that
reaches ``THRESHOLD``, else it founds a new one. When the release also reaches the threshold
with other events and no member of those vetoes any member of its event, the events are one
occurrence that earlier evidence had left apart (an English fact sheet and three Korean
reports, linked by the fourth report): they merge into the oldest of them, whose id stays; the
others' ids become aliases of it (``Linker.merged``). A release without partners (the classifier
found no foreign party) cannot be checked against the partner veto and founds an event of its
own. Lookups go through a per-pair, date-sorted index, so the cost of a release depends on how
many events its partners have near its date, not on the size of the archive.

**Ids.** An event's id is fixed when it is founded: ``ev-`` and 16 hex digits of the SHA-256 of
its founding release's stable key (``signals.stable_event_id``); members joining never change
it. ``rebuild`` relinks everything from scratch (releases in order of their event date, then
key, so the result does not depend on crawl order) and then gives each new cluster the old id
that most of its members had (largest overlap first, each old id once); a cluster holding no
old member gets the id derived from its earliest member. A derived id already taken gets
``#2``, ``#3``… appended to the key before hashing.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from .score import THRESHOLD, WINDOW_DAYS, score, veto
from .signals import Signals, stable_event_id

UNDATED_CANDIDATES = 200
_FAR_FUTURE = date.max.toordinal()


@dataclass(slots=True)
class Event:
    id: str
    members: list[Signals] = field(default_factory=list)
    founded: int = 0  # order of founding: the oldest event survives a merge

    @property
    def keys(self) -> list[str]:
        return [m.key for m in self.members]

    @property
    def first_day(self) -> date | None:
        days = [m.day for m in self.members if m.day]
        return min(days) if days else None


@dataclass(frozen=True, slots=True)
class Placement:
    event_id: str
    created: bool
    score: float | None  # the winning score when the release joined an event
    merged: tuple[str, ...] = ()  # ids of events merged into ``event_id``


class Linker:
    """Events held in memory with the index the incremental step needs."""

    def __init__(self) -> None:
        self.events: dict[str, Event] = {}
        self.event_of: dict[str, str] = {}
        self.merged: dict[str, str] = {}  # absorbed event id -> the id it merged into
        self._founded = 0
        self._dated: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        self._undated: dict[tuple[str, str], deque[str]] = defaultdict(
            lambda: deque(maxlen=UNDATED_CANDIDATES)
        )

    # -- lookup -------------------------------------------------------------------------
    def candidates(self, s: Signals) -> list[Event]:
        seen: dict[str, Event] = {}
        for pair in s.pairs:
            if s.day is not None:
                ordinal = s.day.toordinal()
                entries = self._dated.get(pair, [])
                lo = bisect_left(entries, (ordinal - WINDOW_DAYS, ""))
                hi = bisect_right(entries, (ordinal + WINDOW_DAYS, "\uffff"))
                for _, event_id in entries[lo:hi]:
                    event_id = self.resolve(event_id)
                    seen.setdefault(event_id, self.events[event_id])
            for event_id in self._undated.get(pair, ()):
                event_id = self.resolve(event_id)
                seen.setdefault(event_id, self.events[event_id])
            if s.day is None:
                # An undated release may belong to any recent event of its pair.
                entries = self._dated.get(pair, [])
                for _, event_id in entries[-UNDATED_CANDIDATES:]:
                    event_id = self.resolve(event_id)
                    seen.setdefault(event_id, self.events[event_id])
        return list(seen.values())

    def resolve(self, event_id: str) -> str:
        """The live id of an event, following merges."""
        while event_id in self.merged:
            event_id = self.merged[event_id]
        return event_id

    def ranked(self, s: Signals) -> list[tuple[float, Event]]:
        """Events the release may join (no member vetoes it, the score reaches the
        threshold), best first; ties go to the older event."""
        out = []
        for event in self.candidates(s):
            if any(veto(s, m) for m in event.members):
                continue
            value = max(score(s, m) for m in event.members)
            if value >= THRESHOLD:
                out.append((value, event))
        out.sort(key=lambda x: (-x[0], x[1].founded))
        return out

    # -- changes ------------------------------------------------------------------------
    def add(self, s: Signals, event_id: str | None = None) -> Placement:
        """Place a release: join the best event, or found one (with ``event_id`` if given,
        else the id derived from the release's key)."""
        if s.key in self.event_of:
            raise ValueError(f"release {s.key!r} is already linked")
        ranked = self.ranked(s) if s.pairs else []
        if ranked:
            value, event = ranked[0]
            self._attach(event, s)
            merged = []
            for _, other in ranked[1:]:
                if other.id not in self.events or other.id == event.id:
                    continue
                if any(veto(m, n) for m in other.members for n in event.members):
                    continue
                event = self._merge(event, other)
                merged.append(other.id if other.id != event.id else ranked[0][1].id)
            return Placement(event.id, False, value, tuple(merged))
        new_id = event_id or self._free_id(s.key)
        self._founded += 1
        event = self.events[new_id] = Event(new_id, founded=self._founded)
        self._attach(event, s)
        return Placement(new_id, True, None)

    def _merge(self, a: Event, b: Event) -> Event:
        """Merge two events into the older; return the survivor."""
        keep, gone = (a, b) if a.founded <= b.founded else (b, a)
        for member in gone.members:
            self._attach(keep, member)
        del self.events[gone.id]
        self.merged[gone.id] = keep.id
        return keep

    def place(self, s: Signals, event_id: str) -> None:
        """Put a release into a known event without scoring (loading stored events)."""
        event = self.events.get(event_id)
        if event is None:
            self._founded += 1
            event = self.events[event_id] = Event(event_id, founded=self._founded)
        self._attach(event, s)

    def _attach(self, event: Event, s: Signals) -> None:
        event.members.append(s)
        self.event_of[s.key] = event.id
        for pair in s.pairs:
            if s.day is not None:
                insort(self._dated[pair], (s.day.toordinal(), event.id))
            elif event.id not in self._undated[pair]:
                self._undated[pair].append(event.id)

    def _free_id(self, key: str) -> str:
        candidate, n = stable_event_id(key), 1
        while candidate in self.events:
            n += 1
            candidate = stable_event_id(f"{key}#{n}")
        return candidate


def order_key(s: Signals) -> tuple[int, str]:
    """Rebuild order: by event date (undated last), then key."""
    day = s.day or s.published
    return (day.toordinal() if day else _FAR_FUTURE, s.key)


def link_all(signals: Iterable[Signals]) -> Linker:
    """Link releases from scratch, in rebuild order."""
    linker = Linker()
    for s in sorted(signals, key=order_key):
        linker.add(s)
    return linker


def rebuild(signals: Iterable[Signals], previous: Mapping[str, str]) -> dict[str, str]:
    """Relink everything; return release key -> event id, keeping ``previous`` ids (release
    key -> old event id) by largest overlap, as described in the module docstring."""
    linker = link_all(signals)
    clusters = list(linker.events.values())
    overlaps: list[tuple[int, str, int]] = []  # (-overlap, old id, cluster index)
    for index, event in enumerate(clusters):
        counts = Counter(previous[k] for k in event.keys if k in previous)
        overlaps.extend((-n, old, index) for old, n in counts.items())
    overlaps.sort()
    named: dict[int, str] = {}
    used: set[str] = set()
    for _, old, index in overlaps:
        if index in named or old in used:
            continue
        named[index] = old
        used.add(old)
    result: dict[str, str] = {}
    for index, event in enumerate(clusters):
        event_id = named.get(index)
        if event_id is None:
            first = min(event.members, key=order_key).key
            event_id, n = stable_event_id(first), 1
            while event_id in used:
                n += 1
                event_id = stable_event_id(f"{first}#{n}")
        used.add(event_id)
        for key in event.keys:
            result[key] = event_id
    return result


__all__ = ["Event", "Linker", "Placement", "link_all", "order_key", "rebuild"]

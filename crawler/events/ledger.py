"""The cooperation ledger: the events between the same parties, chained in time per track.

A track is a specific instrument (a Digital Partnership: its signing, then each council) or,
for agreements, joint committees, MoUs and calls, the general science-and-technology track of
the pair: MoU → 1st joint committee → … → 7th joint committee → joint call. Each step carries
its date, kind, ordinal, publishers and links. Works on any objects shaped like
``storage.events.EventView`` (duck-typed, so this module needs no database).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from itertools import combinations
from typing import Any

from .summary import track


@dataclass(slots=True)
class Step:
    event_id: str
    date: date | None
    kind: str | None
    instrument: str | None
    ordinal: int | None
    publishers: list[str]
    languages: list[str]
    links: list[dict[str, str]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "event": self.event_id,
            "date": self.date.isoformat() if self.date else None,
            "type": self.kind,
            "instrument": self.instrument,
            "ordinal": self.ordinal,
            "publishers": self.publishers,
            "languages": self.languages,
            "links": self.links,
        }


@dataclass(slots=True)
class Chain:
    parties: tuple[str, str]
    track: str
    steps: list[Step] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "parties": list(self.parties),
            "track": self.track,
            "steps": [s.as_dict() for s in self.steps],
        }


def build(events: Iterable[Any], partner: str | None = None) -> list[Chain]:
    """Chains of the given events; with ``partner``, only pairs that include it. An event of
    three parties appears in the chain of each of its pairs."""
    code = partner.upper() if partner else None
    chains: dict[tuple[tuple[str, str], str], Chain] = {}
    for event in events:
        parties = sorted(set(event.parties))
        for pair in combinations(parties, 2):
            if code and code not in pair:
                continue
            key = (pair, track(event.instrument))
            chain = chains.setdefault(key, Chain(pair, key[1]))
            chain.steps.append(_step(event))
    for chain in chains.values():
        chain.steps.sort(key=lambda s: (s.date or date.max, s.ordinal or 0, s.event_id))
    return sorted(chains.values(), key=lambda c: (c.parties, c.track))


def _step(event: Any) -> Step:
    members = list(event.members)
    day = event.occurred_on or (members[0].published_at.date() if members else None)
    return Step(
        event_id=event.id,
        date=day,
        kind=event.coop_type,
        instrument=event.instrument,
        ordinal=event.ordinal,
        publishers=list(dict.fromkeys(m.agency for m in members)),
        languages=list(dict.fromkeys(m.language for m in members)),
        links=[{"title": m.title, "url": m.url, "agency": m.agency} for m in members],
    )


def rows(chains: list[Chain]) -> list[dict[str, Any]]:
    """One flat row per step (for CSV)."""
    out: list[dict[str, Any]] = []
    for chain in chains:
        for n, step in enumerate(chain.steps, start=1):
            out.append(
                {
                    "parties": "-".join(chain.parties),
                    "track": chain.track,
                    "step": n,
                    "date": step.date.isoformat() if step.date else "",
                    "type": step.kind or "",
                    "instrument": step.instrument or "",
                    "ordinal": step.ordinal or "",
                    "event": step.event_id,
                    "publishers": "; ".join(step.publishers),
                    "links": " ".join(link["url"] for link in step.links),
                }
            )
    return out


__all__ = ["Chain", "Step", "build", "rows"]

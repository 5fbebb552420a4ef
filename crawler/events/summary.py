"""What an event says of itself, from its members' signals: parties, kind, instrument,
ordinal and date. Stored on the event row; the ledger chains events by them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from .score import GENERIC_INSTRUMENTS
from .signals import Signals

# The ledger's tracks: a specific instrument is its own track ("digital-partnership": the
# signing, then each council); agreements, committees, MoUs and calls between the same
# parties form the general science-and-technology track.
GENERAL_TRACK = "science-and-technology"
# Recurring meetings held under a bilateral S&T agreement belong to its general track.
_GENERAL_INSTRUMENTS = GENERIC_INSTRUMENTS | {"research-conference"}


@dataclass(frozen=True, slots=True)
class Summary:
    parties: tuple[str, ...]
    coop_type: str | None
    instrument: str | None
    ordinal: int | None
    occurred_on: date | None
    first_key: str


def summarize(members: list[Signals]) -> Summary:
    if not members:
        raise ValueError("an event has at least one member")
    parties = Counter(p for m in members for p in m.parties)
    # Parties most members name (a wire story's own country is not a party of the event).
    keep = sorted(p for p, n in parties.items() if n * 2 >= len(members))
    types = Counter(m.coop_type for m in members if m.coop_type)
    ordinals = Counter(m.ordinal for m in members if m.ordinal is not None)
    # A headline names the instrument of its event; a lead may cite others ("the first
    # scientific research conference is planned for May").
    instrument = _instrument([m.title_instruments for m in members]) or _instrument(
        [m.instruments for m in members]
    )
    stated = [m.day for m in members if m.day and m.when.stated]
    days = stated or [m.day for m in members if m.day]
    first = min(members, key=lambda m: ((m.published or date.max), m.key))
    return Summary(
        parties=tuple(keep),
        coop_type=_top(types),
        instrument=instrument,
        ordinal=_top(ordinals),
        occurred_on=min(days) if days else None,
        first_key=first.key,
    )


def _instrument(found: list[frozenset[str]]) -> str | None:
    named = Counter(k for keys in found for k in keys if k not in GENERIC_INSTRUMENTS)
    generic = Counter(k for keys in found for k in keys if k in GENERIC_INSTRUMENTS)
    return _top(named) or _top(generic)  # type: ignore[return-value]


def track(instrument: str | None) -> str:
    if instrument and instrument not in _GENERAL_INSTRUMENTS:
        return instrument
    return GENERAL_TRACK


def _top(counter: Counter) -> object:
    if not counter:
        return None
    return sorted(counter.items(), key=lambda x: (-x[1], str(x[0])))[0][0]


__all__ = ["GENERAL_TRACK", "Summary", "summarize", "track"]

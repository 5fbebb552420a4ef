"""Event linking: releases that announce one occurrence (a signing, a meeting, a launch, a
call, a visit) grouped into one event with a stable id, across agencies and languages; and a
ledger that chains events of the same partners and instrument in time.

Pure Python: no Scrapy, no database. ``signals`` extracts what a release says, ``score`` vetoes
and weighs a pair of releases, ``linker`` places releases into events incrementally and
rebuilds with stable ids, ``ledger`` chains events, ``metrics`` judges a clustering,
``jsonl`` is the ``stnews cluster`` format. See docs/events.md.
"""

from .linker import Event, Linker, Placement, link_all, rebuild
from .signals import Release, Signals, extract, stable_event_id

__all__ = [
    "Event",
    "Linker",
    "Placement",
    "Release",
    "Signals",
    "extract",
    "link_all",
    "rebuild",
    "stable_event_id",
]

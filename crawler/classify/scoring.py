"""The real set's fixed held-out split, and classifier verdicts scored against hand labels:
one definition for the real set's test (tests/classify/test_realset.py) and the model's
cross-validation (``python -m crawler.classify.train --cv``)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from typing import Any


def held_out(item_id: str) -> bool:
    """The fixed held-out split: 1 item in 4, by a hash of the id (never by content)."""
    return int(hashlib.sha256(item_id.encode()).hexdigest(), 16) % 4 == 0


def scores(
    judged: Iterable[tuple[Iterable[Hashable], Mapping[str, Any], Any]],
) -> dict[Hashable, dict[str, float | int | None]]:
    """For each (groups, labelled item, ``classify`` result): per group, ``n``, the items
    labelled ``cooperation``, ``fp`` and ``fn``, and precision, recall, exact partner set and
    kind (the last two of the hits), rounded to 3 places; None where nothing to divide by."""
    counts: dict[Hashable, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for groups, item, result in judged:
        gold, got = item["is_cooperation"], result.is_cooperation
        for group in groups:
            c = counts[group]
            c["n"] += 1
            c["gold"] += gold
            c["tp"] += gold and got
            c["fp"] += got and not gold
            c["fn"] += gold and not got
            if gold and got:
                c["partners_ok"] += set(result.partners) == set(item["partners"])
                c["kind_ok"] += result.coop_type == item["coop_type"]

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 3) if b else None

    return {
        group: {
            "n": c["n"],
            "cooperation": c["gold"],
            "fp": c["fp"],
            "fn": c["fn"],
            "precision": ratio(c["tp"], c["tp"] + c["fp"]),
            "recall": ratio(c["tp"], c["gold"]),
            "partners": ratio(c["partners_ok"], c["tp"]),
            "kind": ratio(c["kind_ok"], c["tp"]),
        }
        for group, c in counts.items()
    }

"""Clustering metrics: pairwise precision, recall and F1 (the headline) and BCubed.

Pairwise counts every pair of releases put in one event: a pair both the truth and the
prediction group is a true positive. BCubed averages, per release, the share of its predicted
event that truly belongs with it (precision) and the share of its true event found with it
(recall); it flatters a set with many one-release events, which are right by default.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, float]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def _groups(labels: Mapping[str, str]) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for item, label in labels.items():
        groups[label].add(item)
    return groups


def _pairs(labels: Mapping[str, str]) -> set[frozenset[str]]:
    return {frozenset(p) for g in _groups(labels).values() for p in combinations(sorted(g), 2)}


def pairwise(truth: Mapping[str, str], predicted: Mapping[str, str]) -> Scores:
    """Pairwise scores over the items ``truth`` labels (an empty side counts as perfect)."""
    predicted = {k: predicted[k] for k in truth}
    t, p = _pairs(truth), _pairs(predicted)
    tp = len(t & p)
    precision = tp / len(p) if p else 1.0
    recall = tp / len(t) if t else 1.0
    return Scores(precision, recall, _f1(precision, recall))


def bcubed(truth: Mapping[str, str], predicted: Mapping[str, str]) -> Scores:
    t_groups, p_groups = _groups(truth), _groups({k: predicted[k] for k in truth})
    precision = recall = 0.0
    for item in truth:
        mine_p = p_groups[predicted[item]]
        mine_t = t_groups[truth[item]]
        both = len(mine_p & mine_t)
        precision += both / len(mine_p)
        recall += both / len(mine_t)
    n = len(truth) or 1
    precision, recall = precision / n, recall / n
    return Scores(precision, recall, _f1(precision, recall))


__all__ = ["Scores", "bcubed", "pairwise"]

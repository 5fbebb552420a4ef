"""Whether two releases report the same occurrence: hard vetoes first, then a score.

Vetoes (any one keeps two releases apart, whatever else they share):
- disjoint partners: they share no pair of parties (Korea-France and Korea-Japan);
- a different ordinal: the 7th and the 8th committee;
- a contradictory kind: a joint call against a signing, a meeting or a centre (the call under
  an agreement is its own event); a centre against a committee meeting;
- far apart in time: event dates the texts state more than ``FAR_DAYS`` apart.

The score adds evidence (weights below, chosen on the development part of the labelled set):
dates, ordinal, shared instruments, shared rare Latin names and numbers, same-language text
similarity (MinHash), same kind. Two releases link when the score reaches ``THRESHOLD``, and
only when their texts share something: metadata alone (dates, parties, kind) describes every
occurrence of a pair that day, so without a shared ordinal, instrument, rare name, number or
wording it stays below the threshold (``METADATA_CAP``), whatever it adds up to.
"""

from __future__ import annotations

from datetime import date

from .dates import AHEAD, BEHIND, days_apart
from .markers import shared_anchors
from .signals import Signals, similarity

THRESHOLD = 3.0
FAR_DAYS = 14  # stated event dates further apart: different occurrences
# Any two dates further apart, stated or standing in (publication): a release reports an
# occurrence at most BEHIND days before and AHEAD days after it is published (the windows the
# event date is read in), so two releases this far apart cannot report one occurrence. Keeps an
# event from stretching over months through members whose texts state no date.
FAR_ANY_DAYS = (BEHIND + AHEAD).days
WINDOW_DAYS = 45  # candidates are looked up within this many days (see linker)

# Kinds that cannot be one occurrence. The classifier's kind is noisy between "agreement",
# "joint-committee", "visit" and "other" (a committee that signs minutes, a visit during which
# an MoU is signed), so only contradictions that no wording produces are vetoes.
_CONTRADICTORY = {
    frozenset({"joint-call", "agreement"}),
    frozenset({"joint-call", "joint-committee"}),
    frozenset({"joint-call", "hub-or-center"}),
    frozenset({"hub-or-center", "joint-committee"}),
}

W_SAME_DAY = 2.0  # stated event dates equal
W_DAY_1 = 1.5  # one day apart (time zones, "held yesterday")
W_DAY_3 = 0.8
W_DAY_7 = 0.2
W_MONTH_DAY = 1.5  # the same month and day, one side without a year
W_MENTION = 0.7  # both name the same full date somewhere in the lead
W_PUBLISHED_3 = 0.5  # no stated date on one side, published within three days
W_ORDINAL = 1.5
W_INSTRUMENT = 0.6  # per shared generic instrument (an S&T agreement, a joint committee, an MoU)
W_NAMED_INSTRUMENT = 1.2  # per shared specific instrument ("Digital Partnership", "Horizon Europe")
GENERIC_INSTRUMENTS = frozenset({"st-agreement", "joint-committee", "joint-call", "mou"})
W_SAME_PARTIES = 0.6  # exactly the same parties (not just one shared pair)
W_ANCHOR = 0.6  # per shared rare Latin name or number, at most W_ANCHOR_MAX
W_ANCHOR_MAX = 2.4
W_TYPE = 0.4
# Same-language similarity of title and lead (estimated Jaccard of shingles).
SIMILARITY = ((0.45, 3.0), (0.25, 2.0), (0.12, 1.0), (0.06, 0.4))
# The most that dates, parties and kind alone can add: just below the threshold.
METADATA_CAP = THRESHOLD - 0.5


def veto(a: Signals, b: Signals) -> str | None:
    """The reason two releases cannot be one event, or None."""
    if a.pairs and b.pairs:
        if not (a.pairs & b.pairs):
            return "disjoint partners"
    elif a.parties and b.parties and not (a.parties & b.parties):
        return "disjoint partners"
    if a.ordinal is not None and b.ordinal is not None and a.ordinal != b.ordinal:
        return "different ordinal"
    if a.coop_type and b.coop_type and frozenset({a.coop_type, b.coop_type}) in _CONTRADICTORY:
        return "contradictory type"
    if a.day and b.day and days_apart(a.day, b.day) > FAR_ANY_DAYS:
        return "far apart"
    if a.when.stated and b.when.stated:
        if a.day and b.day:
            if days_apart(a.day, b.day) > FAR_DAYS:
                return "far apart"
        # One side names no year: the days of the year must still be close.
        elif (
            a.when.month_day
            and b.when.month_day
            and _calendar_gap(a.when.month_day, b.when.month_day) > FAR_DAYS
        ):
            return "far apart"
    return None


def _calendar_gap(a: tuple[int, int], b: tuple[int, int]) -> int:
    """Days between two month-days, in whichever year puts them closest."""
    da, db = date(2000, *a).timetuple().tm_yday, date(2000, *b).timetuple().tm_yday
    gap = abs(da - db)
    return min(gap, 366 - gap)


def score(a: Signals, b: Signals) -> float:
    """Evidence that two releases (already past the vetoes) report one occurrence: what their
    texts share, plus the metadata (dates, parties, kind), which alone stays below the
    threshold."""
    metadata = _date_score(a, b)
    if a.parties == b.parties:
        metadata += W_SAME_PARTIES
    if a.coop_type and a.coop_type == b.coop_type:
        metadata += W_TYPE
    text = _text_score(a, b)
    return metadata + text if text > 0 else min(metadata, METADATA_CAP)


def _text_score(a: Signals, b: Signals) -> float:
    total = 0.0
    if a.ordinal is not None and a.ordinal == b.ordinal:
        # An ordinal from a lead may name a meeting being prepared: half weight, and none
        # when neither title carries it.
        total += W_ORDINAL * (a.ordinal_in_title + b.ordinal_in_title) / 2
    shared = a.instruments & b.instruments
    total += min(
        sum(W_INSTRUMENT if k in GENERIC_INSTRUMENTS else W_NAMED_INSTRUMENT for k in shared),
        W_NAMED_INSTRUMENT + W_INSTRUMENT,
    )
    total += min(W_ANCHOR * shared_anchors(a.anchors, b.anchors), W_ANCHOR_MAX)
    if a.language == b.language and a.minhash is not None and b.minhash is not None:
        similar = similarity(a.minhash, b.minhash)
        for floor, weight in SIMILARITY:
            if similar >= floor:
                total += weight
                break
    return total


def _date_score(a: Signals, b: Signals) -> float:
    total = 0.0
    if a.day and b.day and a.when.stated and b.when.stated:
        gap = days_apart(a.day, b.day)
        total += (
            W_SAME_DAY if gap == 0 else W_DAY_1 if gap <= 1 else W_DAY_3 if gap <= 3
            else W_DAY_7 if gap <= 7 else 0.0
        )  # fmt: skip
    elif (
        a.when.month_day
        and a.when.month_day == b.when.month_day
        and (a.when.stated or b.when.stated)
    ):
        total += W_MONTH_DAY
    elif a.published and b.published and days_apart(a.published, b.published) <= 3:
        total += W_PUBLISHED_3
    if a.mentioned & b.mentioned and not (a.day and a.day == b.day):
        total += W_MENTION
    return total


def explain(a: Signals, b: Signals) -> dict[str, object]:
    """Why two releases link or not (for debugging and the docs)."""
    reason = veto(a, b)
    return {"veto": reason, "score": None if reason else round(score(a, b), 2)}


__all__ = ["THRESHOLD", "WINDOW_DAYS", "explain", "score", "veto"]

"""The trainer's data as model rows: the development items (never the held-out quarter), the
long-news test's articles and the rule-blind rows of the fresh batches.

A row (``Row``) is (model inputs, gold label, whether partners were found, language, the
rules' verdict)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .. import model as learned
from ..engine import classify
from ..scoring import held_out
from .options import MIN_NGRAM_ITEMS

ROOT = Path(__file__).resolve().parents[3]
REALSET = ROOT / "tests" / "classify" / "realset.jsonl"
DEVSET = ROOT / "tests" / "classify" / "devset.jsonl"
LANGUAGES = ("en", "zh", "ko", "ja", "fr", "de")

Row = tuple[dict[str, float], bool, bool, str, bool]


def ngram_languages(languages: list[str], min_items: int = MIN_NGRAM_ITEMS) -> frozenset[str]:
    """The languages (two-letter prefixes) with at least ``min_items`` items."""
    counts = Counter((lang or "")[:2].lower() for lang in languages)
    return frozenset(lang for lang, n in counts.items() if n >= min_items)


def development_items() -> list[dict]:
    """The development items: the real set's outside the held-out quarter (``_real``
    true), then the seed set's."""
    out = []
    for path, real in ((REALSET, True), (DEVSET, False)):
        with path.open(encoding="utf-8") as fh:
            items = [json.loads(line) for line in fh if line.strip()]
        out += [{**item, "_real": real} for item in items if not (real and held_out(item["id"]))]
    return out


def item_row(item: dict, langs: frozenset[str]) -> Row:
    """An item's model inputs, gold label, whether partners were found, language and the
    rules' verdict (the rules run without the model)."""
    trace: dict[str, object] = {}
    result = classify(
        item["title"], item["body"], item["agency_country"], item["language"], trace,
        model=False,
    )  # fmt: skip
    features = trace["features"]
    assert isinstance(features, dict)
    x = learned.inputs(features, item["title"], item["body"], item["language"], langs)
    # As in engine.classify: an unsoftened hard negative cue decides, whatever the model.
    veto = bool(features["t_hardveto"])
    found = (bool(trace["partners_found"]) or result.is_cooperation) and not veto
    rules = bool(features["score_hi"]) and bool(features["titled"]) and not veto
    return x, bool(item["is_cooperation"]), found, item["language"], rules


def development_batches() -> list[str | None]:
    """Each development item's batch (``batch_of``; ``None`` before the first batch and
    for the seed set), in the order of ``examples``."""
    return [batch_of(item["id"]) if item["_real"] else None for item in development_items()]


def examples(
    min_ngram_items: int = MIN_NGRAM_ITEMS,
) -> tuple[list[Row], frozenset[str], list[str]]:
    """(inputs, gold, partners found, language, rules' verdict) for every development item,
    the languages whose n-grams are inputs (those with ``min_ngram_items`` items or more),
    and each item's publisher (its CV group)."""
    rows = []
    groups = []
    items_by_split = development_items()
    langs = ngram_languages([item["language"] for item in items_by_split], min_ngram_items)
    for item in items_by_split:
        rows.append(item_row(item, langs))
        groups.append(item.get("publisher") or f"devset:{item['id']}")
    return rows, langs, groups


#: Batches of the real set, by the letter in the id ("en-t-rscf-01"): each was collected
#: at its own time, from publishers and for reasons of its own (REALSET.md). In the order
#: they were collected: after "z" the letters went on at "o" (branch classdata7), then "a"
#: (branch classdata8), each unused before by any id's second part.
BATCHES = ("p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z", "o", "a")


def batch_of(item_id: str) -> str | None:
    parts = item_id.split("-")
    if parts[1:2] == ["Hant"]:  # "zh-Hant-u-..."
        parts = parts[1:]
    return parts[1] if len(parts) > 2 and parts[1] in BATCHES else None


NEWS = ROOT / "tests" / "classify" / "data" / "news181.jsonl.gz"
NEWS_HOMES = ("US", "GB", "TW")


def news_rows(langs: frozenset[str]) -> list[Row]:
    """The long-news test's verdicts as rows (all negatives), for the long-news bound of the
    choice (``options.BOUND``)."""
    import gzip

    with gzip.open(NEWS, "rt", encoding="utf-8") as fh:
        articles = [json.loads(line) for line in fh if line.strip()]
    return [
        item_row({"title": a["title"], "body": a["body"], "agency_country": home,
                  "language": "en", "is_cooperation": False}, langs)
        for a in articles
        for home in NEWS_HOMES
    ]  # fmt: skip


#: The rule-blind rows: each fresh batch's development items with the features the rules
#: of its measuring commit gave them, before any rule was written on them
#: (``crawler/classify/blindrows.py`` wrote them; the header names the commits).
BLIND_ROWS = ROOT / "tests" / "classify" / "data" / "blind_rows.jsonl"
#: A language counts in the blind surface only with at least this many blind cooperation
#: items (batches v, w and x: en 67, fr 40, de 35, zh-Hant 24, ja 15, ko 14; batch v alone
#: has zh-Hant 7).
MIN_BLIND_COOP = 10


@dataclass(frozen=True)
class Blind:
    """Rule-blind rows (``Row`` as ``examples``), each row's batch and publisher; a language
    counts with ``min_coop`` blind cooperation items."""

    rows: list[Row]
    batches: list[str]
    groups: list[str]
    min_coop: int = MIN_BLIND_COOP

    def without(self, batch: str) -> Blind:
        keep = [i for i, b in enumerate(self.batches) if b != batch]
        return Blind(
            [self.rows[i] for i in keep],
            [self.batches[i] for i in keep],
            [self.groups[i] for i in keep],
            self.min_coop,
        )

    def languages(self) -> tuple[str, ...]:
        """The languages with at least ``min_coop`` blind cooperation items."""
        coop = Counter(
            lang for lang in LANGUAGES for r in self.rows if r[1] and r[3].startswith(lang)
        )
        found = tuple(lang for lang in LANGUAGES if coop[lang] >= self.min_coop)
        if not found:
            raise ValueError(f"no language has {self.min_coop} blind cooperation items")
        return found


def blind_rows(langs: frozenset[str], path: Path = BLIND_ROWS) -> Blind:
    """The rule-blind rows of ``path``, with the n-grams of today's text (``model.inputs``
    reads no rule) for ``langs``. Label and language are today's real set's; an id outside
    its development part is an error (the held-out quarter is never read)."""
    items = {item["id"]: item for item in development_items() if item["_real"]}
    rows, batches, groups = [], [], []
    with path.open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    for record in records[1:]:  # the first line is the header
        item = items[record["id"]]
        x = learned.inputs(record["features"], item["title"], item["body"], item["language"], langs)
        rows.append(
            (x, bool(item["is_cooperation"]), record["found"], item["language"], record["rules"])
        )
        batches.append(record["batch"])
        groups.append(item.get("publisher") or record["id"])
    return Blind(rows, batches, groups)

"""The learned part of the verdict: a logistic regression over what the rules found.

The rules (``engine.py``) find the partners, the kind and the evidence, and score the
release; that score does not weigh every cue equally well in every language and register.
A small logistic model, trained on the development part of the real set by
``python -m crawler.classify.train``, takes the rules' findings (their score, which kinds,
cues and names the title holds, how many sentences of the lead link a partner to
cooperation...) and the character bigrams and trigrams of the title and of the start of the
body (in the languages with enough development text to learn them from: ``MIN_NGRAM_ITEMS``
in ``training/options.py``), and gives the probability that the release announces cooperation.
The verdict is that probability against the model's thresholds; without partners found by the
rules a release is never cooperation. The model is a versioned JSON file
(``data/model.json``): a few thousand weights, read once; scoring is a handful of
dictionary look-ups per release.
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any

LEAD_CHARS = 120  # characters of the body whose n-grams count, besides the title's
NGRAMS = (2, 3)
LEAD_WEIGHT = 0.5  # an n-gram of the lead counts half as much as one of the title


@cache
def load() -> dict[str, Any] | None:
    """The model, or ``None`` when the package ships none (the rules' score decides)."""
    try:
        raw = resources.files(__package__).joinpath("data", "model.json").read_text("utf-8")
    except (FileNotFoundError, OSError):
        return None
    return prepared(json.loads(raw))


def prepared(model: dict[str, Any]) -> dict[str, Any]:
    """A model file's content (``training.fitting.payload``) in the form ``score`` reads; a copy."""
    langs = model.get("ngram_languages")
    return {
        **model,
        "weights": dict(model["weights"]),
        "ngram_languages": frozenset(langs) if langs is not None else None,
    }


def grams(text: str) -> set[str]:
    """Character bigrams and trigrams of ``text`` (lower-cased), blanks excluded."""
    # A gram holds no blank, so it lies within one blank-free run: the grams are the union
    # of each run's, and a run's grams (the same words recur from release to release) are
    # looked up rather than sliced and hashed again.
    out: set[str] = set()
    for run in text.lower().replace("\n", " ").split(" "):
        out.update(_run_grams(run))
    return out


#: Runs memoised: words, not the long blank-free runs of Chinese or Japanese text (a whole
#: sentence, which seldom recurs), and at most this many, so the memos stay a few MB.
_MEMO_RUN_CHARS = 24
_MEMO_RUNS = 5_000
_RUN_GRAMS: dict[str, frozenset[str]] = {}


def _run_grams(run: str) -> frozenset[str]:
    found = _RUN_GRAMS.get(run)
    if found is None:
        found = _sliced(run)
        if len(run) <= _MEMO_RUN_CHARS:
            if len(_RUN_GRAMS) >= _MEMO_RUNS:
                _RUN_GRAMS.clear()
            _RUN_GRAMS[run] = found
    return found


def _sliced(run: str) -> frozenset[str]:
    return frozenset(run[i : i + n] for n in NGRAMS for i in range(len(run) - n + 1))


def inputs(
    features: dict[str, float],
    title: str,
    body: str,
    language: str,
    ngram_languages: frozenset[str] | None = None,
) -> dict[str, float]:
    """The model's inputs: the rules' features, the language, the n-grams. N-grams count only
    for ``ngram_languages`` (all when ``None``; an undeclared language keeps them): in a
    language with little development text they learn the few releases seen, not the
    language, and overrule the rules' findings (cross-validated French and German recall
    fell from about 0.85 to 0.70 with them)."""
    x = dict(features)
    lang = (language or "")[:2].lower()
    x["lang:" + lang] = 1.0
    if ngram_languages is not None and lang and lang not in ngram_languages:
        return x
    for g in grams(title or body[:80]):
        x["t:" + g] = 1.0
    for g in grams(body[:LEAD_CHARS]):
        x.setdefault("b:" + g, LEAD_WEIGHT)
    return x


def score(
    model: dict[str, Any], features: dict[str, float], title: str, body: str, language: str
) -> float:
    """``probability(model, inputs(features, title, body, language, ngram_languages))``, the
    same number, without building the inputs; ``features`` hold no ``lang:``, ``t:`` or
    ``b:`` keys (the engine's never do). The classifier calls it for every release: a key
    made and looked up in the 8,000 weights for each of some 200 n-grams took over a tenth
    of its time on English releases. Here each blank-free run of the title and of the lead maps,
    once, to the terms of its weighted n-grams; a release merges those of its runs (an
    n-gram counts once, as in ``inputs``) and the exact sum makes the order irrelevant."""
    terms = _weighted_terms(model, features)
    weights, scale = model["weights"], model.get("scale", {})
    lang = (language or "")[:2].lower()
    w = weights.get("lang:" + lang)
    if w is not None:
        terms.append(w * (1.0 / scale.get("lang:" + lang, 1.0)))
    ngram_languages = model["ngram_languages"]
    if ngram_languages is None or not lang or lang in ngram_languages:
        title_runs, lead_runs = _run_terms(model)
        for text, runs in ((title or body[:80], title_runs), (body[:LEAD_CHARS], lead_runs)):
            found: dict[str, float] = {}
            for run in text.lower().replace("\n", " ").split(" "):
                run_terms = runs.get(run)
                if run_terms is None:
                    run_terms = _weigh_run(runs, run)
                if run_terms:
                    found.update(run_terms)
            terms += found.values()
    return _sigmoid(math.fsum(terms))


class _Runs(dict[str, dict[str, float]]):
    """Blank-free run -> {n-gram: its term} for the n-grams of the run that have a weight;
    ``gram_terms`` holds every weighted n-gram's term (weight * value / scale)."""

    def __init__(self, gram_terms: dict[str, float]) -> None:
        super().__init__()
        self.gram_terms = gram_terms


_RUN_TERMS: dict[int, tuple[dict[str, Any], _Runs, _Runs]] = {}


def _run_terms(model: dict[str, Any]) -> tuple[_Runs, _Runs]:
    """The title's and the lead's run tables of ``model`` (built on first use)."""
    found = _RUN_TERMS.get(id(model))
    if found is None or found[0] is not model:
        scale = model.get("scale", {})
        title, lead = {}, {}
        for key, w in model["weights"].items():
            # The products ``probability`` forms for an input of value 1.0 or LEAD_WEIGHT.
            if key.startswith("t:"):
                title[key[2:]] = w * (1.0 / scale.get(key, 1.0))
            elif key.startswith("b:"):
                lead[key[2:]] = w * (LEAD_WEIGHT / scale.get(key, 1.0))
        found = _RUN_TERMS[id(model)] = (model, _Runs(title), _Runs(lead))
    return found[1], found[2]


def _weigh_run(runs: _Runs, run: str) -> dict[str, float]:
    gram_terms = runs.gram_terms
    found = {g: gram_terms[g] for g in _sliced(run) if g in gram_terms}
    if len(run) <= _MEMO_RUN_CHARS:  # as ``_RUN_GRAMS``
        if len(runs) >= _MEMO_RUNS:
            runs.clear()
        runs[run] = found
    return found


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


#: The kinds that name a mechanism, not an event (the engine's gates use them as well).
MECHANISM_KINDS = frozenset({"agreement", "joint-committee", "joint-call", "hub-or-center"})


def firm(features: dict[str, float]) -> bool:
    """Whether the rules' yes is beyond the model's veto: the title pairs the home side with
    its partners and names a mechanism (engine.classify and training.grid.verdicts both ask)."""
    return bool(features.get("t_bilateral")) and any(
        features.get("t_kind_" + k) for k in MECHANISM_KINDS
    )


def _weighted_terms(model: dict[str, Any], x: dict[str, float]) -> list[float]:
    """The bias and, for each input with a weight, weight * value / scale."""
    weights = model["weights"]
    scale = model.get("scale", {})
    terms = [model["bias"]]
    for key, value in x.items():
        w = weights.get(key)
        if w is not None:
            terms.append(w * (value / scale.get(key, 1.0)))
    return terms


def probability(model: dict[str, Any], x: dict[str, float]) -> float:
    terms = _weighted_terms(model, x)
    # An exact sum (``math.fsum``): the n-grams come from sets, whose order varies from one
    # process to the next, so a running sum could differ in its last bits between runs.
    return _sigmoid(math.fsum(terms))

"""``python -m crawler.classify.train --cv``: the whole decision (rules, model and the chosen
thresholds) cross-validated by batch on the development part, the way a new batch meets it."""

from __future__ import annotations

import hashlib
import pickle
import tempfile
from functools import partial
from pathlib import Path

import numpy as np

from .. import model as learned
from ..engine import Classification, classify
from ..scoring import scores
from .choice import choose
from .dataset import (
    LANGUAGES,
    batch_of,
    blind_rows,
    development_batches,
    development_items,
    examples,
    news_rows,
)
from .fitting import L2_GRID, cross_validate, news_probabilities, payload
from .options import DEFAULT, Options

BASE_FOLDS = 3


def _cached(path: Path, compute) -> dict[float, np.ndarray]:
    """Per l2 of L2_GRID, ``compute(l2)``, read from the pickle at ``path`` when it holds it;
    the values computed are added to it."""
    found = pickle.loads(path.read_bytes()) if path.exists() else {}
    missing = [l2 for l2 in L2_GRID if l2 not in found]
    for l2 in missing:
        found[l2] = compute(l2)
    if missing:
        path.write_bytes(pickle.dumps(found))
    return {l2: found[l2] for l2 in L2_GRID}


def whole_cv(
    list_errors: bool = False, options: Options = DEFAULT, with_model: bool = True
) -> None:
    """Cross-validation of the whole decision on the development part, the way a new batch
    of releases meets it: each batch (ids ``*-p-*`` ... ``*-v-*``) is a fold, and the
    releases before the first batch are three folds grouped by publisher. For each fold the
    model and its thresholds are chosen and fitted on the other folds only (``choose`` with
    its own inner cross-validation), and the fold's releases are classified by the full
    ``classify`` with that model: verdict, partners and kind as a user would get them. The
    rules themselves were written on all development releases, so this is still generous
    to them; the held-out quarter is never read. ``options.choice`` "fixed" fits the model
    of ``options.fixed`` on each fold's training part with nothing chosen; ``with_model``
    False classifies by the rules alone (``--rules-only``): the same folds, so that the
    three can be compared (branch classmodel3)."""
    from sklearn.model_selection import GroupKFold

    rows, langs, groups = examples(options.min_ngram_items)
    items = development_items()
    batches = development_batches()
    blind = blind_rows(langs) if options.choice == "blind" else None
    long_news = news_rows(langs) if options.news_bound is not None else []
    fold_of: list[str] = []
    base = [i for i, item in enumerate(items) if item["_real"] and not batch_of(item["id"])]
    base_fold = {}
    splitter = GroupKFold(n_splits=BASE_FOLDS)
    for k, (_, test_idx) in enumerate(splitter.split(base, groups=[groups[i] for i in base])):
        for j in test_idx:
            base_fold[base[j]] = f"base{k}"
    for i, item in enumerate(items):
        if not item["_real"]:
            fold_of.append("seed")  # the seed set is always trained on, never scored
        else:
            fold_of.append(batch_of(item["id"]) or base_fold[i])
    results: dict[int, Classification] = {}
    l2, veto, rescue = options.fixed
    evaluated = (
        "rules only, no model" if not with_model
        else f"fixed setting l2={l2} veto={veto} rescue={rescue}" if options.choice == "fixed"
        else f"choice {options.choice!r}, refit per fold"
    )  # fmt: skip
    print(f"--cv: {evaluated}", flush=True)
    for fold in sorted(set(fold_of) - {"seed"}):
        train = [i for i, f in enumerate(fold_of) if f != fold]
        test = [i for i, f in enumerate(fold_of) if f == fold]
        fold_model: dict | bool = False  # the rules alone
        if not with_model:
            print(f"fold {fold}: {len(test)} releases; rules only", flush=True)
        else:
            sub = [rows[i] for i in train]
            sub_groups = [groups[i] for i in train]
            # The inner probabilities depend on the rows only, not on the objective: kept
            # between runs (in the temporary directory) while the rules stay the same.
            # The inputs sorted: their n-grams come from sets, whose order (string hashing)
            # differs from process to process, so the plain repr never matched a previous run's.
            # Kept per l2, so that a wider L2_GRID computes only the values it adds.
            canonical = [(sorted(r[0].items()), *r[1:]) for r in sub]
            key = hashlib.sha256(repr((fold, canonical, sub_groups)).encode()).hexdigest()[:16]
            cache = Path(tempfile.gettempdir()) / f"stnews-cv2-{key}.pkl"
            # The fixed setting needs no inner cross-validation (its slow part).
            preds = (
                None if options.choice == "fixed"
                else _cached(cache, partial(cross_validate, sub, groups=sub_groups))
            )  # fmt: skip
            news = None
            if options.news_bound is not None and preds is not None:
                news_cache = cache.with_name(cache.stem + "-news.pkl")
                news_p = _cached(news_cache, partial(news_probabilities, sub, news=long_news))
                news = {l2: (long_news, p) for l2, p in news_p.items()}
            # The blind rows of the fold's own batch are not read: it is new to the choice too.
            l2, veto, rescue = choose(
                sub, sub_groups, verbose=False, preds=preds, news=news,
                batches=[batches[i] for i in train],
                blind=blind.without(fold) if blind is not None else None, options=options,
            )  # fmt: skip
            fold_model = learned.prepared(payload(sub, langs, l2, veto, rescue))
            setting = f"l2={l2} veto={veto} rescue={rescue}"
            print(f"fold {fold}: {len(test)} releases; {setting}", flush=True)
        for i in test:
            item = items[i]
            results[i] = classify(
                item["title"], item["body"], item["agency_country"], item["language"],
                model=fold_model,
            )  # fmt: skip
    print("\nwhole decision, cross-validated by batch (development part only):")
    print("| language | n | coop | precision | recall | partners | kind | fp | fn |")
    print("|---|---|---|---|---|---|---|---|---|")
    found = scores(
        (("all", items[i]["language"].split("-")[0]), items[i], result)
        for i, result in results.items()
    )
    for lang in ("all", *LANGUAGES):
        f = found.get(lang)
        if f is None:
            continue
        cells = [f[k] for k in ("precision", "recall", "partners", "kind")]
        shown = " | ".join("-" if c is None else f"{c:.3f}" for c in cells)
        print(f"| {lang} | {f['n']} | {f['cooperation']} | {shown} | {f['fp']} | {f['fn']} |")
    if list_errors:
        _print_errors(items, results)


def _print_errors(items: list[dict], results: dict[int, Classification]) -> None:
    """``--list``: each release whose verdict, partners or kind is wrong, with its title."""
    for i, result in sorted(results.items()):
        item = items[i]
        wrong = []
        if item["is_cooperation"] != result.is_cooperation:
            wrong.append("FP" if result.is_cooperation else "FN")
        elif item["is_cooperation"]:
            if set(result.partners) != set(item["partners"]):
                wrong.append(f"partners {result.partners} != {item['partners']}")
            if result.coop_type != item["coop_type"]:
                wrong.append(f"kind {result.coop_type} != {item['coop_type']}")
        if wrong:
            print(item["id"], "; ".join(wrong), "|", item["title"][:90])

"""Fitting the logistic model (scikit-learn, imported only when fitting) and the probabilities
the choice of thresholds reads: out-of-fold ones by publisher-grouped cross-validation, the
long-news rows' and the rule-blind rows'; and the model file's content."""

from __future__ import annotations

from collections import Counter

import numpy as np

from .dataset import Blind, Row

MIN_DF = 3
NUMERIC = ("score", "t_foreign", "lead_units", "later", "n_foreign", "n_partners")
# The regularisations tried. The out-of-fold log loss (``choice.log_losses``) fell from 0.1 to
# 10 and rose again at 30 (branch classmodel2, 1,441 development examples: 0.382, 0.348,
# 0.311, 0.288, 0.282, 0.295), so the grid brackets its minimum; 0.1, the worst, went.
L2_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)


def fit(rows: list[dict[str, float]], y: np.ndarray, l2: float, scale: dict[str, float]):
    """A logistic regression (scikit-learn, L-BFGS) over the scaled inputs; ``l2`` is the
    inverse of scikit-learn's ``C``."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = DictVectorizer()
    X = vectorizer.fit_transform([scaled(x, scale) for x in rows])
    model = LogisticRegression(C=1.0 / l2, solver="lbfgs", max_iter=3000)
    model.fit(X, y)
    return vectorizer, model


def scaled(x: dict[str, float], scale: dict[str, float]) -> dict[str, float]:
    return {k: v / scale.get(k, 1.0) for k, v in x.items()}


def prune(rows: list[dict[str, float]]) -> tuple[list[dict[str, float]], dict[str, float]]:
    """Drop n-grams seen in fewer than MIN_DF examples; scale the counts to unit spread."""
    df = Counter(key for x in rows for key in x)
    keep = {k for k, c in df.items() if c >= MIN_DF or ":" not in k}
    pruned = [{k: v for k, v in x.items() if k in keep} for x in rows]
    scale = {}
    for key in NUMERIC:
        values = np.array([x.get(key, 0.0) for x in rows])
        scale[key] = float(max(values.std(), 1e-6))
    return pruned, scale


def cross_validate(
    rows, l2: float, groups: list[str], folds: int = 5, seed: int = 20
) -> np.ndarray:
    """Out-of-fold probabilities: each example scored by a model that never saw it, nor any
    release of its publisher. Releases of one publisher share templates and phrasing (the
    n-grams of "第N回日米...", a university's news style), so ungrouped folds reward learning
    the publisher; the held-out sets this is judged on come from publishers never seen."""
    from sklearn.model_selection import StratifiedGroupKFold

    xs = [r[0] for r in rows]
    y = np.array([r[1] for r in rows], dtype=int)
    pred = np.zeros(len(rows))
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train_idx, test_idx in splitter.split(np.zeros(len(y)), y, groups):
        pruned, scale = prune([xs[i] for i in train_idx])
        vectorizer, model = fit(pruned, y[train_idx], l2, scale)
        X_test = vectorizer.transform([scaled(xs[i], scale) for i in test_idx])
        pred[test_idx] = model.predict_proba(X_test)[:, 1]
    return pred


def fold_ids(rows, groups: list[str], folds: int = 5, seed: int = 20) -> np.ndarray:
    """Each row's fold in ``cross_validate`` (the same deterministic split)."""
    from sklearn.model_selection import StratifiedGroupKFold

    y = np.array([r[1] for r in rows], dtype=int)
    out = np.zeros(len(rows), dtype=int)
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for k, (_, test_idx) in enumerate(splitter.split(np.zeros(len(y)), y, groups)):
        out[test_idx] = k
    return out


def news_probabilities(rows, l2: float, news: list[Row]) -> np.ndarray:
    """The probabilities a model fitted on all of ``rows`` gives the news rows."""
    y = np.array([r[1] for r in rows], dtype=int)
    pruned, scale = prune([r[0] for r in rows])
    vectorizer, model = fit(pruned, y, l2, scale)
    return model.predict_proba(vectorizer.transform([scaled(r[0], scale) for r in news]))[:, 1]


def blind_probabilities(rows, batches: list[str | None], blind: Blind, l2: float) -> np.ndarray:
    """Each blind row's probability from a model fitted on the development ``rows`` (whose
    batches are ``batches``) without the row's own batch: the batch is as new to the model
    as it was to the rules."""
    y = np.array([r[1] for r in rows], dtype=int)
    out = np.zeros(len(blind.rows))
    for batch in sorted(set(blind.batches)):
        fit_idx = [i for i, b in enumerate(batches) if b != batch]
        pruned, scale = prune([rows[i][0] for i in fit_idx])
        vectorizer, model = fit(pruned, y[fit_idx], l2, scale)
        idx = [i for i, b in enumerate(blind.batches) if b == batch]
        X = vectorizer.transform([scaled(blind.rows[i][0], scale) for i in idx])
        out[idx] = model.predict_proba(X)[:, 1]
    return out


def payload(rows, langs: frozenset[str], l2: float, veto: float, rescue: float) -> dict:
    """The model file's content: a model fitted on all of ``rows`` with the chosen setting."""
    y = np.array([r[1] for r in rows], dtype=int)
    pruned, scale = prune([r[0] for r in rows])
    vectorizer, model = fit(pruned, y, l2, scale)
    coef = model.coef_[0]
    weights = {
        name: round(float(coef[i]), 4)
        for name, i in vectorizer.vocabulary_.items()
        if abs(coef[i]) >= 5e-3
    }
    b = model.intercept_[0]
    return {
        "version": 1,
        "about": "logistic model over the rules' features and title/lead n-grams; "
        "trained by python -m crawler.classify.train on development data only",
        "examples": len(rows),
        "l2": l2,
        "veto": veto,
        "rescue": rescue,
        "ngram_languages": sorted(langs),
        "bias": round(float(b), 4),
        "scale": {k: round(v, 4) for k, v in scale.items()},
        "weights": dict(sorted(weights.items())),
    }

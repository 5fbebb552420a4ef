"""The choice of the regularisation (l2) and the thresholds (veto, rescue) from the
publisher-grouped cross-validation: ``choose`` runs the one ``Options.choice`` names, "smooth"
(the default), "blind", or "plateau", "median" and "jackknife" (``options.CHOICE`` says what
each did under ``--cv``), or "fixed" (``Options.fixed`` as it is), within the long-news bound
when ``Options.news_bound`` is set."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np

from .dataset import LANGUAGES, Blind, Row
from .fitting import L2_GRID, blind_probabilities, cross_validate, fold_ids
from .grid import GRID, figures, objective, smoothed, surface, verdicts
from .options import DEFAULT, Options

TIE = 0.003  # F0.5 differences below this (about one release per language) are ties
#: Grid steps each side over which ``smooth`` averages the surface (4: veto and rescue each
#: within 0.2). Measured on 5 inner-CV seeds and 30 publisher bootstraps (branch
#: classmodel2): 0, 2, 3 and 4 steps gave a bootstrap spread of the chosen veto of 0.14,
#: 0.12, 0.11 and 0.10 (standard deviation; the former "plateau" choice 0.17).
SMOOTH_STEPS = 4

News = dict[float, tuple[list[Row], np.ndarray]]


def choose(
    rows,
    groups: list[str],
    verbose: bool = True,
    preds: dict[float, np.ndarray] | None = None,
    news: News | None = None,
    batches: list[str | None] | None = None,
    blind: Blind | None = None,
    options: Options = DEFAULT,
) -> tuple[float, float, float]:
    """(l2, veto, rescue) chosen by the publisher-grouped cross-validation of ``rows``
    (``preds``: its out-of-fold probabilities per l2, when already computed; ``news``: per
    l2, the long-news rows and their probabilities, whose bound no chosen setting breaks;
    ``batches``, each row's batch, and ``blind``, the rule-blind rows: for "blind")."""
    if options.choice == "fixed":  # nothing to choose: no inner cross-validation either
        return options.fixed
    if preds is None:
        preds = {l2: cross_validate(rows, l2, groups) for l2 in L2_GRID}
    if options.choice == "smooth":
        return _choose_smooth_bounded(rows, groups, preds, news, verbose, options)
    if options.choice == "blind":
        if blind is None or batches is None:
            raise ValueError("the blind choice needs the rows' batches and the blind rows")
        if news is not None and options.news_bound is not None:
            raise ValueError("the long-news bound is not implemented for the blind choice")
        return _choose_blind_verbose(rows, groups, preds, batches, blind, verbose, options)
    return _choose_plateaus(rows, groups, preds, news, verbose, options)


def _choose_plateaus(
    rows,
    groups: list[str],
    preds: dict[float, np.ndarray],
    news: News | None,
    verbose: bool,
    options: Options,
) -> tuple[float, float, float]:
    """The "plateau", "median" and "jackknife" choices, with what they saw printed when
    ``verbose``."""
    bound = options.news_bound
    settings = [(v, r) for v in GRID for r in GRID if r >= v]
    fold = fold_ids(rows, groups) if options.choice != "plateau" else np.zeros(len(rows), dtype=int)
    if options.choice == "jackknife":  # each choice made on all inner folds but one
        parts = {k: [i for i in range(len(rows)) if fold[i] != k] for k in sorted(set(fold))}
    else:
        parts = {k: [i for i in range(len(rows)) if fold[i] == k] for k in sorted(set(fold))}
    candidates: dict[int, list[tuple]] = {k: [] for k in parts}  # per fold
    allowed = set()  # (l2, veto, rescue) within the long-news bound
    rules = [r[2] and r[4] for r in rows]
    for l2 in L2_GRID:
        pred = preds[l2]
        for veto, rescue in settings:
            if news is not None and bound is not None:
                news_rows_, p_news = news[l2]
                said_news = sum(verdicts(news_rows_, p_news, veto, rescue))
                if said_news > bound * len(news_rows_):
                    continue
            allowed.add((l2, veto, rescue))
            said = verdicts(rows, pred, veto, rescue)
            for k, idx in parts.items():
                sub = [rows[i] for i in idx]
                # Every language counts alike, as the bars are per language: pooled figures
                # would let the larger languages choose thresholds that starve the smaller.
                score = objective(figures(sub, [said[i] for i in idx]), options)
                overrides = sum(said[i] != rules[i] for i in idx)
                candidates[k].append((score, l2, veto, rescue, overrides))
    # The cross-validated score is flat near its top (dozens of settings within a few
    # thousandths, i.e. within one release), so its argmax is noise and moved with every
    # retraining, and so would any edge of that plateau: take its middle. "median" takes each
    # inner fold's own middle and then the median of those (l2, veto, rescue): one fold's
    # releases pull the choice no further than a fold's worth, where on pooled predictions a
    # few releases near the edge moved the veto from 0.2 to 0.7 between batches.
    chosen = [_middle(c) for c in candidates.values()]
    if len(chosen) == 1:
        _, l2, veto, rescue, _ = chosen[0]
    else:
        l2 = float(sorted(c[1] for c in chosen)[len(chosen) // 2])
        mid_veto = float(np.median([c[2] for c in chosen]))
        mid_rescue = float(np.median([c[3] for c in chosen]))
        _, veto, rescue = min(
            (a for a in allowed if a[0] == l2),
            key=lambda a: (abs(a[1] - mid_veto) + abs(a[2] - mid_rescue), -a[1]),
        )
    if verbose:
        for k, c in zip(candidates, chosen, strict=True):
            near = sum(x[0] >= max(candidates[k])[0] - TIE for x in candidates[k])
            part = "pooled" if len(chosen) == 1 else f"inner fold {k}"
            print(f"{part}: best {max(candidates[k])[0]:.4f}, {near} settings within {TIE}; "
                  f"middle l2={c[1]} veto={c[2]} rescue={c[3]}")  # fmt: skip
        _print_chosen(options.choice, rows, preds[l2], (l2, veto, rescue), news)
    return l2, veto, rescue


def _middle(candidates: list[tuple]) -> tuple:
    """The middle of the plateau of ``candidates`` (score, l2, veto, rescue, overrides): the
    regularisation most settings within TIE of the best share (the stronger on a tie), and
    the setting of it closest to the median veto and rescue of those."""
    best_score = max(c[0] for c in candidates)
    near = [c for c in candidates if c[0] >= best_score - TIE]
    counts = Counter(c[1] for c in near)
    l2 = max(counts, key=lambda v: (counts[v], v))
    plateau = [c for c in near if c[1] == l2]
    mid_veto = float(np.median([c[2] for c in plateau]))
    mid_rescue = float(np.median([c[3] for c in plateau]))
    return min(plateau, key=lambda c: (abs(c[2] - mid_veto) + abs(c[3] - mid_rescue), c[4]))


def log_losses(rows, preds: dict[float, np.ndarray], fold: np.ndarray, weights=None):
    """Per l2 and inner fold, the out-of-fold log loss of the rows whose verdict the model
    can change (partners found), averaged over the languages so that each counts alike."""
    w = np.ones(len(rows)) if weights is None else np.asarray(weights, dtype=float)
    y = np.array([r[1] for r in rows], dtype=float)
    found = np.array([r[2] for r in rows], dtype=bool)
    lang = np.array([next((k for k in LANGUAGES if r[3].startswith(k)), "") for r in rows])
    folds = sorted(set(fold.tolist()))
    out = np.zeros((len(L2_GRID), len(folds)))
    for a, l2 in enumerate(L2_GRID):
        p = np.clip(preds[l2], 1e-6, 1 - 1e-6)
        loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
        for b, k in enumerate(folds):
            per_lang = []
            for code in LANGUAGES:
                m = found & (fold == k) & (lang == code)
                if w[m].sum() > 0:
                    per_lang.append(float(loss[m] @ w[m] / w[m].sum()))
            out[a, b] = np.mean(per_lang)
    return out


def choose_smooth(
    rows,
    preds: dict[float, np.ndarray],
    fold: np.ndarray,
    weights: np.ndarray | None = None,
    allowed: dict[float, np.ndarray] | None = None,
    options: Options = DEFAULT,
) -> tuple[float, float, float]:
    """The "smooth" choice: l2 with the least out-of-fold log loss (averaged over the inner
    folds), then on that l2's F0.5 surface averaged over neighbouring settings
    (``SMOOTH_STEPS``), the middle of the settings within TIE of its best. The log loss is a
    smooth function of every probability, where F0.5 counts the few releases near a
    threshold, and fixing l2 first keeps the probabilities' scale, so that a veto means the
    same from one retraining to the next; averaged over a window, a setting's score moves
    less with a few releases, and the middle of the near-best settings less than their
    argmax. ``allowed``: per l2, a mask of the settings that may be chosen (the long-news
    bound)."""
    l2 = least_loss_l2(rows, preds, fold, weights)
    score = smoothed(surface(rows, preds[l2], weights, options=options), SMOOTH_STEPS)
    if allowed is not None:
        score = np.where(allowed[l2], score, np.nan)
    return (l2, *middle_of_top(score))


def least_loss_l2(rows, preds: dict[float, np.ndarray], fold: np.ndarray, weights=None) -> float:
    """The l2 of L2_GRID with the least out-of-fold log loss averaged over the inner folds."""
    losses = log_losses(rows, preds, fold, weights)
    # On an exact tie the stronger regularisation, the simpler model.
    return min(zip(losses.mean(axis=1), L2_GRID, strict=True), key=lambda t: (t[0], -t[1]))[1]


def middle_of_top(score: np.ndarray) -> tuple[float, float]:
    """(veto, rescue): of the settings within TIE of the surface's best, the one nearest
    their median."""
    near = np.argwhere(score >= np.nanmax(score) - TIE)
    mid = np.median(near, axis=0)
    i, j = min(near.tolist(), key=lambda t: (abs(t[0] - mid[0]) + abs(t[1] - mid[1]), t))
    return GRID[i], GRID[j]


def choose_blind(
    rows,
    preds: dict[float, np.ndarray],
    fold: np.ndarray,
    blind: Blind,
    blind_preds: Callable[[float], np.ndarray],
    weights: np.ndarray | None = None,
    blind_weights: np.ndarray | None = None,
    options: Options = DEFAULT,
) -> tuple[float, float, float]:
    """The "blind" choice: l2 as ``choose_smooth`` (the out-of-fold log loss of the
    development rows), then the middle of the near-best thresholds of the smoothed F0.5
    surface of the rule-blind rows (``blind_preds(l2)``: their probabilities, each from a
    model fitted without its batch), averaged over ``blind.languages()``, mixed with the
    development surface at ``1 - options.blind_weight``. The rules were written on every
    development release, so there their yes is right more often than on a new publisher's
    release and the development surface favours a low veto; on the blind rows the rules'
    yes is what a new batch meets."""
    l2 = least_loss_l2(rows, preds, fold, weights)
    p_blind = blind_preds(l2)
    langs = blind.languages()
    weight = options.blind_weight
    score = smoothed(surface(blind.rows, p_blind, blind_weights, langs, options), SMOOTH_STEPS)
    if weight < 1.0:
        dev = smoothed(surface(rows, preds[l2], weights, options=options), SMOOTH_STEPS)
        score = weight * score + (1.0 - weight) * dev
    return (l2, *middle_of_top(score))


def _choose_blind_verbose(
    rows,
    groups: list[str],
    preds: dict[float, np.ndarray],
    batches: list[str | None],
    blind: Blind,
    verbose: bool,
    options: Options,
) -> tuple[float, float, float]:
    """``choose_blind`` on the inner folds of ``cross_validate``, with what it saw printed
    when ``verbose``."""
    fold = fold_ids(rows, groups)
    p_blind: dict[float, np.ndarray] = {}

    def blind_preds(l2: float) -> np.ndarray:
        if l2 not in p_blind:
            p_blind[l2] = blind_probabilities(rows, batches, blind, l2)
        return p_blind[l2]

    l2, veto, rescue = choose_blind(rows, preds, fold, blind, blind_preds, options=options)
    if verbose:
        _print_losses(rows, preds, fold)
        langs = blind.languages()
        score = surface(blind.rows, blind_preds(l2), languages=langs, options=options)
        i, j = GRID.index(veto), GRID.index(rescue)
        print(f"blind rows: {len(blind.rows)} ({', '.join(sorted(set(blind.batches)))}), "
              f"languages {', '.join(langs)}; F0.5 at the choice {score[i, j]:.4f} "
              f"(best {np.nanmax(score):.4f})")  # fmt: skip
        for name, some, pred in (("development", rows, preds[l2]), ("blind", blind.rows,
                                 blind_preds(l2))):  # fmt: skip
            shown = figures(some, verdicts(some, pred, veto, rescue))
            present = {"all"} | {k for k in LANGUAGES for r in some if r[3].startswith(k)}
            line = " ".join(f"{k} {p:.2f}/{r:.2f}" for k, (p, r) in shown.items() if k in present)
            print(f"{name}: {line}")
        print(f"chosen (blind, weight {options.blind_weight}): l2={l2} veto={veto} "
              f"rescue={rescue}")  # fmt: skip
    return l2, veto, rescue


def _choose_smooth_bounded(
    rows,
    groups: list[str],
    preds: dict[float, np.ndarray],
    news: News | None,
    verbose: bool,
    options: Options,
) -> tuple[float, float, float]:
    """``choose_smooth`` on the inner folds of ``cross_validate``, within the long-news bound
    when one is set, with what it saw printed when ``verbose``."""
    allowed = None
    if news is not None and options.news_bound is not None:
        allowed = {}
        for l2, (news_rows_, p_news) in news.items():
            # The news rows are all negatives: the settings whose verdicts say yes to at
            # most the bound's share of them.
            said = np.array(
                [[sum(verdicts(news_rows_, p_news, v, r)) if r >= v else 0 for r in GRID]
                 for v in GRID]
            )  # fmt: skip
            allowed[l2] = said <= options.news_bound * len(news_rows_)
    fold = fold_ids(rows, groups)
    l2, veto, rescue = choose_smooth(rows, preds, fold, allowed=allowed, options=options)
    if verbose:
        _print_losses(rows, preds, fold)
        score = surface(rows, preds[l2], options=options)
        i, j = GRID.index(veto), GRID.index(rescue)
        print(f"F0.5 at the choice {score[i, j]:.4f} (best of l2={l2}: {np.nanmax(score):.4f})")
        _print_chosen("smooth", rows, preds[l2], (l2, veto, rescue), news)
    return l2, veto, rescue


def _print_losses(rows, preds: dict[float, np.ndarray], fold: np.ndarray) -> None:
    for v, row in zip(L2_GRID, log_losses(rows, preds, fold), strict=True):
        se = row.std(ddof=1) / np.sqrt(len(row))
        print(f"l2={v}: out-of-fold log loss {row.mean():.4f} ± {se:.4f}")


def _print_chosen(
    name: str,
    rows,
    pred: np.ndarray,
    setting: tuple[float, float, float],
    news: News | None,
) -> None:
    """The chosen setting with its cross-validated figures, and the long-news count."""
    l2, veto, rescue = setting
    shown = figures(rows, verdicts(rows, pred, veto, rescue))
    line = " ".join(f"{k} {p:.2f}/{r:.2f}" for k, (p, r) in shown.items())
    print(f"chosen ({name}): l2={l2} veto={veto} rescue={rescue}: {line}")
    if news is not None:
        news_rows_, p_news = news[l2]
        print(f"long news: {sum(verdicts(news_rows_, p_news, veto, rescue))} of "
              f"{len(news_rows_)} verdicts say cooperation")  # fmt: skip

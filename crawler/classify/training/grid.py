"""How one threshold setting (veto, rescue) is judged on rows and their probabilities: the
combined verdicts, the figures per language, the objective (``Options.objective``), and the
objective of every setting of ``GRID`` at once (``surface``), plain or smoothed."""

from __future__ import annotations

import numpy as np

from .. import model as learned
from .dataset import LANGUAGES
from .options import DEFAULT, PENALTY, Options

GRID = tuple(round(float(v), 2) for v in np.arange(0.05, 0.96, 0.05))  # veto and rescue


def verdicts(rows, pred: np.ndarray, veto: float, rescue: float) -> list[bool]:
    """The combined verdict: the rules' yes stands unless the model is below ``veto`` (and
    the case is not firm, see ``model.firm``); the model alone says yes from ``rescue`` up;
    partners are needed either way."""
    return [
        found and ((rules and (p >= veto or learned.firm(x))) or p >= rescue)
        for (x, _, found, _, rules), p in zip(rows, pred, strict=True)
    ]


def figures(rows, said: list[bool]) -> dict[str, tuple[float, float]]:
    out = {}
    for lang in ("all", *LANGUAGES):
        tp = fp = gold = 0
        for (_, g, _, language, _), yes in zip(rows, said, strict=True):
            if lang != "all" and not language.startswith(lang):
                continue
            tp += g and yes
            fp += yes and not g
            gold += g
        out[lang] = (tp / max(tp + fp, 1), tp / max(gold, 1))
    return out


def f_half(precision: float, recall: float) -> float:
    return 1.25 * precision * recall / max(0.25 * precision + recall, 1e-9)


def objective(found: dict[str, tuple[float, float]], options: Options = DEFAULT) -> float:
    """The cross-validated score of one setting (higher is better)."""
    if options.objective == "precision":
        short = sum(max(0.0, options.precision_target - found[lang][0]) for lang in LANGUAGES)
        return float(np.mean([found[lang][1] for lang in LANGUAGES])) - PENALTY * short
    return float(np.mean([f_half(*found[lang]) for lang in LANGUAGES]))


def surface(
    rows,
    pred: np.ndarray,
    weights: np.ndarray | None = None,
    languages: tuple[str, ...] = LANGUAGES,
    options: Options = DEFAULT,
) -> np.ndarray:
    """The objective of every (veto, rescue) of GRID at once (``nan`` where rescue < veto):
    ``objective(figures(rows, verdicts(rows, pred, veto, rescue)), options)`` with each row
    counted ``weights`` times, averaged over ``languages``."""
    n = len(rows)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    found = np.array([r[2] for r in rows], dtype=bool)
    rules = found & np.array([r[4] for r in rows], dtype=bool)
    firm = np.array([learned.firm(r[0]) for r in rows], dtype=bool)
    gold = np.array([r[1] for r in rows], dtype=bool)
    g = np.array(GRID)[:, None]
    kept = rules & ((pred >= g) | firm)  # (veto, row): the rules' yes the veto leaves
    rescued = found & (pred >= g)  # (rescue, row)
    said = kept[:, None, :] | rescued[None, :, :]  # (veto, rescue, row)
    precision, recall = [], []
    for lang in languages:
        in_lang = np.array([r[3].startswith(lang) for r in rows]) * w
        tp = (said & gold) @ in_lang
        fp = (said & ~gold) @ in_lang
        precision.append(tp / np.maximum(tp + fp, 1))
        recall.append(tp / max(float(gold @ in_lang), 1.0))
    p, r = np.array(precision), np.array(recall)
    if options.objective == "precision":
        short = np.maximum(0.0, options.precision_target - p).sum(axis=0)
        score = r.mean(axis=0) - PENALTY * short
    else:
        score = (1.25 * p * r / np.maximum(0.25 * p + r, 1e-9)).mean(axis=0)
    score[g > g.T] = np.nan  # rescue below veto
    return score


def smoothed(score: np.ndarray, steps: int) -> np.ndarray:
    """Each setting's score averaged with its neighbours up to ``steps`` grid steps away in
    veto and in rescue (the valid ones): a ridge of the surface rather than its spikes."""
    out = np.full_like(score, np.nan)
    for i, j in zip(*np.nonzero(np.isfinite(score)), strict=True):
        window = score[max(0, i - steps) : i + steps + 1, max(0, j - steps) : j + steps + 1]
        out[i, j] = np.nanmean(window)
    return out

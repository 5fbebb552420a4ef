"""The trainer's choice of thresholds (``train.choose``), on made-up probabilities.

Only the choice is tested here: fitting and the cross-validation itself need the real set
and minutes (``python -m crawler.classify.train --cv``)."""

from __future__ import annotations

import numpy as np
import pytest

from crawler.classify import train


def _rows() -> tuple[list, list[str], dict[float, np.ndarray]]:
    """Per language 10 announcements the model gives 0.8 and 10 non-announcements it gives
    0.2, all of which the rules call cooperation: any veto in (0.2, 0.8] is right."""
    rows, groups, p = [], [], []
    for lang in train.LANGUAGES:
        for k in range(20):
            gold = k < 10
            rows.append(({}, gold, True, lang, True))
            groups.append(f"{lang}-{k}")
            p.append(0.8 if gold else 0.2)
    return rows, groups, {l2: np.array(p) for l2 in train.L2_GRID}


@pytest.mark.parametrize("how", ["smooth", "plateau", "median", "jackknife"])
def test_no_setting_over_the_long_news_bound_is_chosen(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train, "CHOICE", how)
    monkeypatch.setattr(train, "NEWS_BOUND", 0.045)
    rows, groups, preds = _rows()
    l2, veto, rescue = train.choose(rows, groups, verbose=False, preds=preds)
    assert 0.2 < veto <= 0.8 and rescue < 0.85  # unbounded, the middle of the plateau
    # General news that the rules do not call cooperation, with partners found, which the
    # model gives 0.85: any rescue up to 0.85 would take all 40 for announcements.
    news_rows = [({}, False, True, "en", False)] * 40
    news = {v: (news_rows, np.full(40, 0.85)) for v in train.L2_GRID}
    l2, veto, rescue = train.choose(rows, groups, verbose=False, preds=preds, news=news)
    assert rescue > 0.85 and 0.2 < veto <= 0.8
    said = train.verdicts(rows, preds[l2], veto, rescue)
    assert said == [r[1] for r in rows]  # the development verdicts are still all right


def _mixed_rows(seed: int) -> tuple[list, np.ndarray]:
    """300 rows of every shape ``verdicts`` tells apart (gold, partners found, the rules'
    yes, a firm title), in all languages, with random probabilities."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(300):
        firm = {"t_bilateral": 1.0, "t_kind_agreement": 1.0} if k % 7 == 0 else {}
        lang = train.LANGUAGES[k % len(train.LANGUAGES)]
        rows.append((firm, bool(rng.random() < 0.5), bool(rng.random() < 0.8), lang,
                     bool(rng.random() < 0.6)))  # fmt: skip
    return rows, rng.random(len(rows))


@pytest.mark.parametrize("objective", ["f05", "precision"])
def test_surface_is_the_objective_of_every_setting(
    objective: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(train, "OBJECTIVE", objective)
    rows, pred = _mixed_rows(3)
    weights = np.random.default_rng(4).integers(0, 3, len(rows)).astype(float)
    score = train.surface(rows, pred)
    weighted = train.surface(rows, pred, weights)
    repeated = [row for row, w in zip(rows, weights, strict=True) for _ in range(int(w))]
    repeated_pred = np.repeat(pred, weights.astype(int))
    for i, veto in enumerate(train.GRID):
        for j, rescue in enumerate(train.GRID):
            if rescue < veto:
                assert np.isnan(score[i, j]) and np.isnan(weighted[i, j])
                continue
            said = train.verdicts(rows, pred, veto, rescue)
            assert score[i, j] == pytest.approx(train.objective(train.figures(rows, said)))
            said = train.verdicts(repeated, repeated_pred, veto, rescue)
            assert weighted[i, j] == pytest.approx(train.objective(train.figures(repeated, said)))


def test_smoothing_prefers_a_broad_ridge_to_a_spike() -> None:
    score = np.zeros((19, 19))
    score[2, 15] = 1.0  # one setting best, its neighbours poor
    score[8:13, 8:13] = 0.9  # a broad ridge a little lower
    smooth = train.smoothed(score, 2)
    assert np.unravel_index(np.nanargmax(score), score.shape) == (2, 15)
    assert np.unravel_index(np.nanargmax(smooth), smooth.shape) == (10, 10)
    assert smooth[10, 10] == pytest.approx(0.9)


def test_smooth_choice_takes_the_middle_of_a_flat_top() -> None:
    rows, _, preds = _rows()  # any veto in (0.2, 0.8] is right, any rescue above 0.2
    fold = np.arange(len(rows)) % 5
    chosen = train.choose_smooth(rows, preds, fold)
    assert chosen == train.choose_smooth(rows, preds, fold)  # deterministic
    l2, veto, rescue = chosen
    # The window (0.1 each side) lies wholly within the right settings only for a veto of
    # 0.35 to 0.7; on that flat top the middle of the ties is taken, not its first edge.
    assert 0.35 < veto < 0.7 and rescue >= veto
    assert l2 == max(train.L2_GRID)  # the same probabilities for every l2: the strongest


def _loss_preds(sharpest: float, gap: float) -> tuple[list, dict[float, np.ndarray], np.ndarray]:
    """Rows whose out-of-fold probabilities for l2 ``sharpest`` are sharper, by fold, than
    those of every other l2 by ``gap`` (in probability)."""
    rows, _, _ = _rows()
    fold = np.arange(len(rows)) % 5
    gold = np.array([r[1] for r in rows])
    sharp = np.where(gold, 0.9, 0.1) + np.where(gold, -1, 1) * 0.05 * fold  # varies by fold
    preds = {
        l2: sharp if l2 == sharpest else np.where(gold, sharp - gap, sharp + gap)
        for l2 in train.L2_GRID
    }
    return rows, preds, fold


@pytest.mark.parametrize("sharpest", train.L2_GRID)
def test_l2_is_the_one_with_the_least_log_loss(sharpest: float) -> None:
    rows, preds, fold = _loss_preds(sharpest, 0.005)  # by a little: the threshold counts none
    losses = train.log_losses(rows, preds, fold)
    assert train.L2_GRID[int(np.argmin(losses.mean(axis=1)))] == sharpest
    assert train.choose_smooth(rows, preds, fold)[0] == sharpest

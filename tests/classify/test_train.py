"""The trainer's choice of thresholds (``training.choice.choose``), on made-up probabilities.

Only the choice is tested here: fitting and the cross-validation itself need the real set
and minutes (``python -m crawler.classify.train --cv``)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from crawler.classify.training import choice, dataset, fitting, grid
from crawler.classify.training.options import Options


def _rows() -> tuple[list, list[str], dict[float, np.ndarray]]:
    """Per language 10 announcements the model gives 0.8 and 10 non-announcements it gives
    0.2, all of which the rules call cooperation: any veto in (0.2, 0.8] is right."""
    rows, groups, p = [], [], []
    for lang in dataset.LANGUAGES:
        for k in range(20):
            gold = k < 10
            rows.append(({}, gold, True, lang, True))
            groups.append(f"{lang}-{k}")
            p.append(0.8 if gold else 0.2)
    return rows, groups, {l2: np.array(p) for l2 in fitting.L2_GRID}


@pytest.mark.parametrize("how", ["smooth", "plateau", "median", "jackknife"])
def test_no_setting_over_the_long_news_bound_is_chosen(how: str) -> None:
    options = Options(choice=how, news_bound=0.045)
    rows, groups, preds = _rows()
    l2, veto, rescue = choice.choose(rows, groups, verbose=False, preds=preds, options=options)
    assert 0.2 < veto <= 0.8 and rescue < 0.85  # unbounded, the middle of the plateau
    # General news that the rules do not call cooperation, with partners found, which the
    # model gives 0.85: any rescue up to 0.85 would take all 40 for announcements.
    news_rows = [({}, False, True, "en", False)] * 40
    news = {v: (news_rows, np.full(40, 0.85)) for v in fitting.L2_GRID}
    l2, veto, rescue = choice.choose(
        rows, groups, verbose=False, preds=preds, news=news, options=options
    )
    assert rescue > 0.85 and 0.2 < veto <= 0.8
    said = grid.verdicts(rows, preds[l2], veto, rescue)
    assert said == [r[1] for r in rows]  # the development verdicts are still all right


def _mixed_rows(seed: int) -> tuple[list, np.ndarray]:
    """300 rows of every shape ``verdicts`` tells apart (gold, partners found, the rules'
    yes, a firm title), in all languages, with random probabilities."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(300):
        firm = {"t_bilateral": 1.0, "t_kind_agreement": 1.0} if k % 7 == 0 else {}
        lang = dataset.LANGUAGES[k % len(dataset.LANGUAGES)]
        rows.append((firm, bool(rng.random() < 0.5), bool(rng.random() < 0.8), lang,
                     bool(rng.random() < 0.6)))  # fmt: skip
    return rows, rng.random(len(rows))


@pytest.mark.parametrize("objective", ["f05", "precision"])
def test_surface_is_the_objective_of_every_setting(objective: str) -> None:
    options = Options(objective=objective)
    rows, pred = _mixed_rows(3)
    weights = np.random.default_rng(4).integers(0, 3, len(rows)).astype(float)
    score = grid.surface(rows, pred, options=options)
    weighted = grid.surface(rows, pred, weights, options=options)
    repeated = [row for row, w in zip(rows, weights, strict=True) for _ in range(int(w))]
    repeated_pred = np.repeat(pred, weights.astype(int))
    for i, veto in enumerate(grid.GRID):
        for j, rescue in enumerate(grid.GRID):
            if rescue < veto:
                assert np.isnan(score[i, j]) and np.isnan(weighted[i, j])
                continue
            said = grid.verdicts(rows, pred, veto, rescue)
            found = grid.figures(rows, said)
            assert score[i, j] == pytest.approx(grid.objective(found, options))
            said = grid.verdicts(repeated, repeated_pred, veto, rescue)
            found = grid.figures(repeated, said)
            assert weighted[i, j] == pytest.approx(grid.objective(found, options))


def test_smoothing_prefers_a_broad_ridge_to_a_spike() -> None:
    score = np.zeros((19, 19))
    score[2, 15] = 1.0  # one setting best, its neighbours poor
    score[8:13, 8:13] = 0.9  # a broad ridge a little lower
    smooth = grid.smoothed(score, 2)
    assert np.unravel_index(np.nanargmax(score), score.shape) == (2, 15)
    assert np.unravel_index(np.nanargmax(smooth), smooth.shape) == (10, 10)
    assert smooth[10, 10] == pytest.approx(0.9)


def test_smooth_choice_takes_the_middle_of_a_flat_top() -> None:
    rows, _, preds = _rows()  # any veto in (0.2, 0.8] is right, any rescue above 0.2
    fold = np.arange(len(rows)) % 5
    chosen = choice.choose_smooth(rows, preds, fold)
    assert chosen == choice.choose_smooth(rows, preds, fold)  # deterministic
    l2, veto, rescue = chosen
    # The window (0.1 each side) lies wholly within the right settings only for a veto of
    # 0.35 to 0.7; on that flat top the middle of the ties is taken, not its first edge.
    assert 0.35 < veto < 0.7 and rescue >= veto
    assert l2 == max(fitting.L2_GRID)  # the same probabilities for every l2: the strongest


def _loss_preds(sharpest: float, gap: float) -> tuple[list, dict[float, np.ndarray], np.ndarray]:
    """Rows whose out-of-fold probabilities for l2 ``sharpest`` are sharper, by fold, than
    those of every other l2 by ``gap`` (in probability)."""
    rows, _, _ = _rows()
    fold = np.arange(len(rows)) % 5
    gold = np.array([r[1] for r in rows])
    sharp = np.where(gold, 0.9, 0.1) + np.where(gold, -1, 1) * 0.05 * fold  # varies by fold
    preds = {
        l2: sharp if l2 == sharpest else np.where(gold, sharp - gap, sharp + gap)
        for l2 in fitting.L2_GRID
    }
    return rows, preds, fold


@pytest.mark.parametrize("sharpest", fitting.L2_GRID)
def test_l2_is_the_one_with_the_least_log_loss(sharpest: float) -> None:
    rows, preds, fold = _loss_preds(sharpest, 0.005)  # by a little: the threshold counts none
    losses = choice.log_losses(rows, preds, fold)
    assert fitting.L2_GRID[int(np.argmin(losses.mean(axis=1)))] == sharpest
    assert choice.choose_smooth(rows, preds, fold)[0] == sharpest


def _blind_set() -> dataset.Blind:
    """Rule-blind rows: per language of four, 10 announcements the model gives 0.9 and 10
    non-announcements, all called cooperation by the rules, that it gives 0.55 (the rules'
    false positives on a new batch), half in batch "v" and half in "w"; and one Korean pair."""
    rows, batches, groups = [], [], []
    for lang in ("en", "zh-Hant", "fr", "de"):
        for k in range(20):
            rows.append(({}, k < 10, True, lang, True))
            batches.append("vw"[k % 2])
            groups.append(f"{lang}-{k}")
    rows += [({}, True, True, "ko", True), ({}, False, True, "ko", True)]
    batches += ["v", "w"]
    groups += ["ko-0", "ko-1"]
    return dataset.Blind(rows, batches, groups)


def _blind_preds(blind: dataset.Blind) -> np.ndarray:
    return np.array([0.9 if r[1] else 0.55 for r in blind.rows])


@pytest.mark.parametrize("weight", [1.0, 0.5])
def test_blind_choice_vetoes_what_the_blind_rows_show_wrong(weight: float) -> None:
    options = Options(choice="blind", blind_weight=weight)
    rows, _, preds = _rows()  # development: any veto in (0.2, 0.8] is right
    fold = np.arange(len(rows)) % 5
    blind = _blind_set()
    assert blind.languages() == ("en", "zh", "fr", "de")  # one Korean pair is too few
    p_blind = _blind_preds(blind)
    chosen = choice.choose_blind(rows, preds, fold, blind, lambda l2: p_blind, options=options)
    assert chosen == choice.choose_blind(
        rows, preds, fold, blind, lambda l2: p_blind, options=options
    )
    l2, veto, rescue = chosen
    assert l2 == choice.choose_smooth(rows, preds, fold)[0]  # l2 as the smooth choice
    # On the development rows alone the middle of (0.2, 0.8] is taken; the blind rows
    # need a veto over 0.55, and the development ones one up to 0.8.
    assert choice.choose_smooth(rows, preds, fold)[1] <= 0.55 < veto
    if weight < 1.0:
        assert veto <= 0.8 and grid.verdicts(rows, preds[l2], veto, rescue) == [r[1] for r in rows]
    assert grid.verdicts(blind.rows, p_blind, veto, rescue) == [r[1] for r in blind.rows]


def test_the_choose_entry_needs_the_blind_rows() -> None:
    pytest.importorskip("sklearn")
    options = Options(choice="blind")
    rows, groups, preds = _rows()
    with pytest.raises(ValueError, match="blind"):
        choice.choose(rows, groups, verbose=False, preds=preds, options=options)
    # The rows get an input the fitted models can read: the gold label, blurred.
    rows = [({"score": 0.7 if r[1] else 0.3}, *r[1:]) for r in rows]
    blind = _blind_set()
    blind = dataset.Blind(
        [({"score": 0.5}, *r[1:]) for r in blind.rows], blind.batches, blind.groups
    )
    with pytest.raises(ValueError, match="no language"):  # 5 a language in batch v
        blind.without("w").languages()
    blind = dataclasses.replace(blind, min_coop=5)
    assert blind.without("w").min_coop == 5  # kept by the batch left out
    chosen = choice.choose(rows, groups, verbose=False, preds=preds, batches=[None] * len(rows),
                          blind=blind.without("w"), options=options)  # fmt: skip
    assert set(blind.without("w").batches) == {"v"}
    assert chosen[0] in fitting.L2_GRID and chosen[1] <= chosen[2]


def test_each_blind_batch_is_scored_by_a_model_fitted_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A development row of batch v or w carries a mark of its batch: the model that scores
    a batch's blind rows must never have been fitted on a row with that batch's mark."""
    pytest.importorskip("sklearn")
    rng = np.random.default_rng(5)
    rows, batches = [], []
    for k in range(120):
        batch = (None, "v", "w")[k % 3]
        gold = bool(k % 2)
        x = {"score": float(gold) + rng.normal(0, 0.5), "t_coop": float(rng.random() < 0.5)}
        if batch:
            x["mark_" + batch] = 1.0
        rows.append((x, gold, True, dataset.LANGUAGES[k % 6], gold))
        batches.append(batch)
    blind = dataset.Blind(
        [({"score": 1.0, "mark_v": 1.0}, True, True, "en", True),
         ({"score": 0.0, "mark_w": 1.0}, False, True, "en", False)],
        ["v", "w"], ["a", "b"],
    )  # fmt: skip
    fitted: list[set[str]] = []
    real_fit = fitting.fit

    def recording_fit(xs, y, l2, scale):
        fitted.append(set().union(*xs))
        return real_fit(xs, y, l2, scale)

    monkeypatch.setattr(fitting, "fit", recording_fit)
    p = fitting.blind_probabilities(rows, batches, blind, 1.0)
    assert [("mark_v" in keys, "mark_w" in keys) for keys in fitted] == [
        (False, True),  # batch v's row scored by a model that saw only w's marks
        (True, False),
    ]
    # The same probabilities as a model fitted by hand without the batch.
    keep = [i for i, b in enumerate(batches) if b != "v"]
    pruned, scale = fitting.prune([rows[i][0] for i in keep])
    vectorizer, model = real_fit(
        pruned, np.array([rows[i][1] for i in keep], dtype=int), 1.0, scale
    )
    expected = model.predict_proba(vectorizer.transform([fitting.scaled(blind.rows[0][0], scale)]))
    assert p[0] == pytest.approx(expected[0, 1])


def test_blind_rows_file_holds_development_items_in_todays_feature_layout() -> None:
    """The stored rows: only development items of the batches the header names, each
    computed by its batch's commit, with today's feature names (the rules' fixed features,
    then kinds and negative categories of today's lexicon)."""
    import json

    from crawler.classify import lexicon
    from crawler.classify.engine import classify
    from crawler.classify.scoring import held_out

    lines = dataset.BLIND_ROWS.read_text(encoding="utf-8").splitlines()
    header, records = json.loads(lines[0]), [json.loads(line) for line in lines[1:]]
    batches = {"v", "w", "x", "y", "z", "o", "a"}
    assert set(header["commits"]) == {r["batch"] for r in records} == batches
    trace: dict = {}
    classify("Taiwan and Japan sign a science MOU", "", "TW", "en", trace, model=False)
    fixed = {k for k in trace["features"] if not k.startswith(("t_kind_", "t_neg."))}
    categories = lexicon.lexicon().categories_defined
    known = fixed | {"t_kind_" + c[5:] for c in categories if c.startswith("type.")}
    known |= {"t_" + c for c in categories if c.startswith("neg.")}
    for r in records:
        assert not held_out(r["id"]) and dataset.batch_of(r["id"]) == r["batch"]
        assert r["commit"] == header["commits"][r["batch"]]
        assert fixed <= set(r["features"]) <= known, set(r["features"]) ^ known
    blind = dataset.blind_rows(frozenset())
    assert len(blind.rows) == len(records)
    assert blind.languages() == ("en", "zh", "ko", "ja", "fr", "de")  # batch x: ko and ja
    assert [r[1] for r in blind.rows] == [r["is_cooperation"] for r in records]


def test_the_command_lines_options_are_the_settings_passed_on() -> None:
    """``python -m crawler.classify.train``'s options become one ``Options``, which every
    function that reads a setting takes as a parameter (no module global is set)."""
    from crawler.classify import train
    from crawler.classify.training import options

    def parsed(*argv: str) -> Options:
        return train.options_of(train.arguments().parse_args(list(argv)))

    assert parsed() == Options() == options.DEFAULT
    assert parsed("--check", "--cv", "--list") == Options()
    assert parsed(
        "--choice", "blind", "--objective", "precision", "--target", "0.9", "--news-bound",
        "--blind-weight", "1.0", "--no-ngrams",
    ) == Options("blind", "precision", 0.9, options.BOUND, 1.0, 10**9)  # fmt: skip
    assert parsed("--blind-weight", "0").blind_weight == 0.0  # a weight, not "unset"
    assert parsed("--choice", "fixed", "--fixed", "10", "0.5", "0.75") == Options(
        choice="fixed", fixed=(10.0, 0.5, 0.75)
    )
    with pytest.raises(SystemExit):
        parsed("--choice", "best")
    with pytest.raises(ValueError, match="unknown choice"):
        Options(choice="best")
    # The objective is a parameter: the same rows score differently under each.
    rows, pred = _mixed_rows(5)
    f05 = grid.surface(rows, pred)
    precision = grid.surface(rows, pred, options=Options(objective="precision"))
    assert np.array_equal(f05, grid.surface(rows, pred), equal_nan=True)
    assert not np.allclose(f05, precision, equal_nan=True)


def test_the_fixed_setting_and_the_rules_alone_are_cross_validated_on_the_same_folds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--cv --choice fixed`` fits the given setting on each fold's training part with no
    inner cross-validation, ``--cv --rules-only`` classifies without a model, and both score
    the same releases fold by fold as the default choice (branch classmodel3)."""
    from types import SimpleNamespace

    from crawler.classify import train
    from crawler.classify.engine import Classification
    from crawler.classify.training import crossval

    batch = dataset.BATCHES[0]
    items, rows, groups = [], [], []
    for k in range(12):  # six releases before the batches, three publishers; six in one batch
        item_id = f"en-{batch}-{k}" if k >= 6 else f"en-{k}"
        items.append({"id": item_id, "_real": True, "title": f"t{k}", "body": "",
                      "agency_country": "US", "language": "en", "is_cooperation": k % 2 == 0,
                      "partners": ["JP"], "coop_type": "agreement"})  # fmt: skip
        rows.append(({}, k % 2 == 0, True, "en", True))
        groups.append(f"publisher{k % 3}")
    monkeypatch.setattr(crossval, "examples", lambda _: (rows, frozenset({"en"}), groups))
    monkeypatch.setattr(crossval, "development_items", lambda: items)
    monkeypatch.setattr(crossval, "development_batches", lambda: [None] * len(items))

    def no_inner_cv(*_args, **_kwargs):
        raise AssertionError("the fixed setting needs no inner cross-validation")

    monkeypatch.setattr(crossval, "cross_validate", no_inner_cv)
    fitted: list[tuple[int, float, float, float]] = []

    def fit(sub, _langs, l2, veto, rescue):
        fitted.append((len(sub), l2, veto, rescue))
        return {"setting": (l2, veto, rescue)}

    monkeypatch.setattr(crossval, "payload", fit)
    monkeypatch.setattr(crossval, "learned", SimpleNamespace(prepared=lambda m: m))
    seen: dict[str, list[tuple[str, object]]] = {}

    def classify(title, _body, _country, _language, model):
        seen[run].append((title, model))
        return Classification(is_cooperation=title in ("t0", "t6"), confidence=0.9,
                              partners=("JP",), coop_type="agreement")  # fmt: skip

    monkeypatch.setattr(crossval, "classify", classify)
    for run, argv in (("fixed", ["--cv", "--choice", "fixed", "--fixed", "0.1", "0.6", "0.8"]),
                      ("rules", ["--cv", "--rules-only"])):  # fmt: skip
        seen[run] = []
        monkeypatch.setattr("sys.argv", ["train", *argv])
        train.main()
    out = capsys.readouterr().out
    assert "--cv: fixed setting l2=0.1 veto=0.6 rescue=0.8" in out
    assert "--cv: rules only, no model" in out
    # Four folds (three of publishers before the batches, one batch), each fitted without
    # its own releases, at the given setting; the rules alone are never given a model.
    assert sorted(fitted) == [(6, 0.1, 0.6, 0.8)] + [(10, 0.1, 0.6, 0.8)] * 3
    assert all(m == {"setting": (0.1, 0.6, 0.8)} for _, m in seen["fixed"])
    assert all(m is False for _, m in seen["rules"])
    assert sorted(t for t, _ in seen["fixed"]) == sorted(t for t, _ in seen["rules"])
    assert len(seen["rules"]) == len(items)
    # Two of six announcements found, no false positive: the table is computed, not copied.
    assert "| all | 12 | 6 | 1.000 | 0.333 | 1.000 | 1.000 | 0 | 4 |" in out


def test_the_fixed_choice_is_the_setting_given() -> None:
    rows, groups, _ = _rows()
    options = Options(choice="fixed", fixed=(3.0, 0.4, 0.9))
    assert choice.choose(rows, groups, verbose=False, options=options) == (3.0, 0.4, 0.9)
    assert Options(choice="fixed").fixed == (0.1, 0.65, 0.8)  # the shipped setting
    with pytest.raises(ValueError, match="fixed setting"):
        Options(choice="fixed", fixed=(0.1, 0.9, 0.5))  # rescue below veto

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


@pytest.mark.parametrize("how", ["plateau", "median", "jackknife"])
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

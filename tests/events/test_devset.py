"""Linking the labelled development set: the issue's bars on the development part, the
held-out part reported apart, and the rule no event ever breaks."""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import replace
from itertools import combinations

import pytest

from crawler.classify import model as learned
from crawler.events import Linker, extract, link_all
from crawler.events.metrics import bcubed, pairwise
from tests.events.support import DEVSET, held_out, release, rows, signals


def _link(part: list[dict]) -> dict[str, str]:
    linker = link_all(signals()[r["id"]] for r in part)
    return dict(linker.event_of)


def _figures(part: list[dict]) -> dict[str, dict[str, float]]:
    truth = {r["id"]: r["event"] for r in part}
    predicted = _link(part)
    return {
        "pairwise": pairwise(truth, predicted).as_dict(),
        "bcubed": bcubed(truth, predicted).as_dict(),
    }


def test_the_set_has_what_the_issue_asks() -> None:
    data = rows()
    sizes = Counter(r["event"] for r in data)
    multi = [e for e, n in sizes.items() if n >= 2]
    assert len(multi) >= 30
    by_event: dict[str, list[dict]] = {}
    for r in data:
        by_event.setdefault(r["event"], []).append(r)
    cross_language = [e for e in multi if len({r["language"] for r in by_event[e]}) > 1]
    cross_agency = [e for e in multi if len({r["agency"] for r in by_event[e]}) > 1]
    assert len(cross_language) >= 8 and len(cross_agency) >= 25
    # Distractors: same parties, different occurrence (e.g. the 7th and the 8th committee).
    assert {"kr-fr-jcc7-2018", "kr-fr-jcc8-2023"} <= set(sizes)
    assert {"kr-us-tpd-2025", "kr-us-tpd-wg-2026"} <= set(sizes)
    for r in data:
        assert r["url"].startswith("http") and r["provenance"], r["id"]
    assert len({r["id"] for r in data}) == len(data)
    assert any(held_out(e) for e in sizes) and not all(held_out(e) for e in sizes)


def test_development_part_meets_the_bars(capsys: pytest.CaptureFixture[str]) -> None:
    figures = _figures([r for r in rows() if not held_out(r["event"])])
    with capsys.disabled():
        print("\nevents dev set:", json.dumps(figures))
    assert figures["pairwise"]["f1"] >= 0.85
    assert figures["pairwise"]["precision"] >= 0.95


def test_the_bars_do_not_hang_on_the_classifiers_verdict_or_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The classifier is retrained from time to time; its kind is noisy. Linking must meet the
    # bars with the kind withheld and with the learned model off (the rules' verdict alone).
    dev = [r for r in rows() if not held_out(r["event"])]
    truth = {r["id"]: r["event"] for r in dev}
    kindless = link_all(replace(signals()[r["id"]], coop_type=None) for r in dev)
    monkeypatch.setattr(learned, "load", lambda: None)
    rules_only = link_all(extract(release(r)) for r in dev)
    for linker in (kindless, rules_only):
        figures = pairwise(truth, dict(linker.event_of))
        assert figures.precision >= 0.95 and figures.f1 >= 0.85, figures


def test_the_bars_hold_whatever_the_order_of_arrival() -> None:
    # A crawl adds releases as sources deliver them (newest first, source by source), not in
    # the rebuild's date order; merges must make up for it.
    dev = [signals()[r["id"]] for r in rows() if not held_out(r["event"])]
    truth = {s.key: next(r["event"] for r in rows() if r["id"] == s.key) for s in dev}
    orders = [list(reversed(dev))]
    for seed in range(8):
        shuffled = list(dev)
        random.Random(seed).shuffle(shuffled)
        orders.append(shuffled)
    for order in orders:
        linker = Linker()
        for s in order:
            linker.add(s)
        figures = pairwise(truth, {k: linker.resolve(e) for k, e in linker.event_of.items()})
        assert figures.precision >= 0.95 and figures.f1 >= 0.85, figures


def test_held_out_part_is_reported_apart(capsys: pytest.CaptureFixture[str]) -> None:
    # Reported, not tuned: no bar here (docs/events.md records the figures).
    figures = _figures([r for r in rows() if held_out(r["event"])])
    with capsys.disabled():
        print("\nevents held-out set:", json.dumps(figures))
    assert 0.0 <= figures["pairwise"]["f1"] <= 1.0


def test_no_event_ever_merges_disjoint_partners() -> None:
    predicted = _link(list(rows()))
    sig = signals()
    members: dict[str, list[str]] = {}
    for key, event in predicted.items():
        members.setdefault(event, []).append(key)
    for keys in members.values():
        for a, b in combinations(keys, 2):
            assert sig[a].pairs & sig[b].pairs, (a, b)


def test_releases_without_a_date_or_with_a_partial_one_still_link() -> None:
    data = {r["id"]: r for r in rows()}
    # The MSIT English seed names no year and has no publication date; the Korean reports do.
    predicted = _link(list(rows()))
    assert signals()["seed-004-msit-krfr7-en"].published is None
    assert predicted["seed-004-msit-krfr7-en"] == predicted["newsworks-krfr7-ko"]
    # Only a month of publication: still the same event.
    from crawler.events import extract

    partial = extract(release(data["cna-twfr-stc-zh"], published="2023-11"))
    assert partial.published is None and partial.when.month_day == (11, 29)
    others = [signals()[k] for k in ("seed-000-nstc-twfr-stc-en", "newnet-twfr-stc-zh")]
    linker = link_all([*others, partial])
    assert len({linker.event_of[k] for k in linker.event_of}) == 1


def test_devset_file_is_valid_jsonl() -> None:
    for number, line in enumerate(DEVSET.read_text(encoding="utf-8").splitlines(), start=1):
        row = json.loads(line)
        assert set(row) >= {"id", "event", "title", "body", "language", "agency",
                            "agency_country", "published", "url", "provenance"}, number  # fmt: skip

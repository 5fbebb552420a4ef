"""The benchmark harness still runs, and its pieces still measure what they claim (fast)."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

import pytest

from bench.extraction import aggregate, matching, page_score, partial_score, seed_body, shingles
from bench.sitegen import FastSyntheticSite, SyntheticSite
from tests.support import ROOT


def test_shingles_count_repeats_and_short_texts() -> None:
    assert shingles("a b c d e") == {("a", "b", "c", "d"): 1, ("b", "c", "d", "e"): 1}
    assert shingles("a b c d a b c d") == {
        ("a", "b", "c", "d"): 2,
        ("b", "c", "d", "a"): 1,
        ("c", "d", "a", "b"): 1,
        ("d", "a", "b", "c"): 1,
    }
    assert shingles("too short") == {("too", "short"): 1}
    assert shingles("") == {}
    assert shingles("Punctuation, only! splits: words") == {
        ("Punctuation", "only", "splits", "words"): 1
    }


def test_precision_recall_f1_on_hand_made_texts() -> None:
    truth = "one two three four five six"  # 3 shingles
    # Output = truth + 2 extra tokens at the end: 5 shingles, 3 of them right.
    tp, fp, fn = matching(truth, truth + " seven eight")
    assert (tp, fp, fn) == (3, 2, 0)
    assert page_score(tp, fp, fn) == (pytest.approx(3 / 5), 1.0)
    # Output = the first half only: one shingle, right; recall 1/3.
    assert page_score(*matching(truth, "one two three four")) == (1.0, pytest.approx(1 / 3))
    # Averages: precision over pages with output, recall over pages with truth.
    score = aggregate(
        [
            page_score(*matching(truth, truth)),  # P 1, R 1
            page_score(*matching(truth, "")),  # no output: P not counted, R 0
        ]
    )
    assert (score.precision, score.recall) == (1.0, 0.5)
    assert score.f1 == pytest.approx(2 * 1.0 * 0.5 / 1.5)


def test_partial_truth_counts_text_outside_the_known_paragraphs() -> None:
    first, last = "alpha beta gamma delta", "omega psi chi phi"
    exact = f"{first} middle words here {last}"
    assert partial_score(first, last, exact) == (1.0, 1.0)
    # Four tokens of chrome before the body: the 4 shingles that touch them are outside.
    precision, recall = partial_score(first, last, "menu home news list " + exact)
    assert recall == 1.0
    assert precision == pytest.approx(8 / 12)
    assert partial_score(first, last, "") == (None, 0.0)


def test_seed_bodies_are_cut_to_the_body() -> None:
    body = seed_body("000_9f64c050a840af00.txt")
    assert body.startswith("On November 29, the National Science")
    assert "Date:" not in body and "title:" not in body
    assert "Contact Organization" not in seed_body("001_e400052ca11efd3e.txt")
    assert seed_body("004_43fa80809f63a64c.txt").startswith("- Strengthen cooperation")


def test_fast_site_renders_the_same_bytes_as_the_reference() -> None:
    kwargs = {"count": 23, "start": date(2020, 1, 1), "edited": {7: "Edited <Title> & more"}}
    fast, reference = FastSyntheticSite(**kwargs), SyntheticSite(**kwargs)
    assert fast._templates is not None  # the fast path is in use, not the fallback
    for seq in range(1, 24):
        assert fast.render_detail(seq) == reference.render_detail(seq)
    for page in range(1, fast.pages + 1):
        assert fast.render_list(page) == reference.render_list(page)


def test_site_server_answers_pages_etags_and_304s() -> None:
    from bench.server import DIRECT, SiteServer

    with SiteServer(12) as server:
        with DIRECT.open(server.start_url, timeout=10) as reply:
            etag = reply.headers["ETag"]
            assert reply.status == 200 and etag
            assert reply.read() == SyntheticSite(12).response(SyntheticSite(12).list_url(1))[1]
        request = urllib.request.Request(server.start_url, headers={"If-None-Match": etag})
        with pytest.raises(urllib.error.HTTPError) as answer:
            DIRECT.open(request, timeout=10)
        assert answer.value.code == 304
        assert server.stats()["by_status"] == {"200": 1, "304": 1}


def test_harness_quick_run(tmp_path: Path) -> None:
    output = tmp_path / "results.md"
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "feed", "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    report = output.read_text(encoding="utf-8") if output.exists() else ""
    assert result.returncode == 0, result.stderr[-3000:] + report[-3000:]
    text = output.read_text(encoding="utf-8")
    assert "## Machine" in text and "sqlalchemy" in text
    assert "build time ratio" in text
    assert "| met |" in text or "**MISSED**" in text


def test_realistic_site_bodies_follow_the_intended_lengths_and_labels() -> None:
    import json
    import statistics

    from bench.sitegen import REALSET

    site = SyntheticSite(600, realistic=True)
    bodies = {seq: "\n\n".join(site.paragraphs(seq)) for seq in range(1, 601)}
    sizes = [len(body.encode()) for body in bodies.values()]
    assert 3_800 <= statistics.median(sizes) <= 5_500
    cooperation = [seq for seq in bodies if site.is_cooperation(seq)]
    assert 0.25 <= len(cooperation) / 600 <= 0.42
    assert len({site.title(seq) for seq in bodies}) == 600  # distinct, as a site's own are
    # Every paragraph is a restated real release of the release's own label.
    labelled = {}
    for line in REALSET.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        labelled[row["body"]] = row["is_cooperation"]
    for seq in (cooperation[0], next(s for s in bodies if s not in cooperation)):
        labels = {labelled[paragraph] for paragraph in site.paragraphs(seq)}
        assert labels == {site.is_cooperation(seq)}


def test_fast_site_renders_realistic_bodies_the_same() -> None:
    kwargs = {"count": 9, "start": date(2020, 1, 1), "realistic": True}
    fast, reference = FastSyntheticSite(**kwargs), SyntheticSite(**kwargs)
    assert fast._templates is not None
    for seq in range(1, 10):
        assert fast.render_detail(seq) == reference.render_detail(seq)


def test_process_tree_counts_a_descendant_left_behind() -> None:
    """A grandchild that outlives its parent is reaped by the harness and its CPU counted.

    Measured in a child interpreter: the harness makes its process a child subreaper, which a
    test worker must not become (it would collect, and never reap, other tests' orphans)."""
    script = """
import json, sys
from bench.common import ProcessTree, run_measured
burn = "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.3: pass"
parent = (
    "import subprocess, sys, time\\n"
    f"subprocess.Popen([sys.executable, '-c', {burn!r}])\\n"
    "time.sleep(0.1)\\n"  # the grandchild runs on after this process exits
)
tree = ProcessTree()
code, _, usage = run_measured([sys.executable, "-c", parent], timeout=60, tree=tree)
print(json.dumps({"code": code, "reaped": len(tree.reaped_here),
                  "extra": tree.extra_cpu_seconds, "own": usage.ru_utime + usage.ru_stime}))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    assert result["code"] == 0
    assert result["reaped"] == 1
    assert result["extra"] >= 0.25
    assert result["own"] < result["extra"]  # not in the parent's


def test_store_benchmark_stores_every_release_it_times(tmp_path: Path) -> None:
    from sqlalchemy import func, select

    from bench.bench_store import measure
    from storage import Database
    from storage.models import RawResponse, Release

    url = f"sqlite:///{tmp_path / 'store.db'}"
    figures = measure(url, count=6, rounds=2, batch=4)
    assert set(figures) == {
        "store", "store, batches of one", "store without raw pages", "raw page compression",
        "search tokens",
        "PostgreSQL tsvector literal",
    }  # fmt: skip
    assert all(value > 0 for value in figures.values())
    database = Database(url)
    with database.session(readonly=True) as session:
        # The warm-up batch, then per round the timed releases: in batches, in batches of
        # one, without raw pages.
        assert session.scalar(select(func.count(Release.id))) == 4 + 2 * (6 + 6 + 6)
        assert session.scalar(select(func.count(RawResponse.release_id))) == 4 + 2 * (6 + 6)
    database.dispose()


def test_item_path_benchmark_times_every_step_of_every_release() -> None:
    """``bench.bench_items``'s timed crawl: each pipeline sees each release once, the store's
    batches and the post-crawl linking are timed, and no step's own time is negative (a
    batch written inside the ``process_item`` that filled it is not counted twice)."""
    from bench.bench_items import run_child
    from bench.crawl import recent_start
    from bench.server import SiteServer

    count = 20
    with SiteServer(count, start=recent_start(count), realistic=True) as server:
        result = run_child(server.start_url, "timed")
    assert result["code"] == 0
    calls, spent = result["calls"], result["spent"]
    for step in ("normalize", "interstitial", "field coverage", "validate",
                 "enrich (classify)", "deduplicate", "page versions",
                 "store: process_item (fit, record, submit)"):  # fmt: skip
        assert calls[step] == count, step
    assert calls["store: batches written"] >= 1
    assert calls["linking: signals"] >= 1  # the realistic site has cooperation releases
    assert all(seconds >= 0 for seconds in spent.values())
    assert spent["linking: imports"] > 0

"""The item pipelines' own cost, classifier aside, on a fixed set of items (issue 19, tenth pass).

    .venv/bin/python -m bench.bench_pipes capture ITEMS.pickle [--count 300]
    .venv/bin/python -m bench.bench_pipes run ITEMS.pickle [--rounds 5] [--profile]

Not part of the harness. ``capture`` crawls the bench site's realistic releases (``bench.server
--realistic``) once with ``stnews crawl nstc`` in a child process and keeps each release as it
enters ``NormalizePipeline`` (the 210 KB raw page included) and the classifier's verdict on it.
``run`` puts those items through the project's ``ITEM_PIPELINES`` in process, the store's
batches written with ``BatchWriter`` in batches of ``STORE_BATCH_SIZE`` into a fresh SQLite
database each round, with the classifier replaced by a look-up of the kept verdict: what is left
is the pipelines' own work (the ``EnrichPipeline``'s glue included), the same items every round,
timed per pipeline by thread CPU. Prints milliseconds of CPU a release, medians over rounds.

Load-independent figures: ``run --rounds 2`` against ``run --rounds 1``, each under
``valgrind --tool=cachegrind --cache-sim=no``, gives the instruction count of one warm pass (the
first pass also pays lazy imports and first-call caches); ``--profile`` prints cProfile's top
functions of a second pass.
"""

from __future__ import annotations

import argparse
import copy
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.common import ROOT, crawl_quietly
from bench.crawl import recent_start
from bench.server import SiteServer


def _child(database: Path, start_url: str, output: Path) -> None:
    """One crawl; the items entering normalize and the verdicts, pickled to ``output``."""
    from crawler import pipelines

    items: list[dict[str, Any]] = []
    verdicts: dict[tuple[str, str], dict[str, Any]] = {}
    normalize = pipelines.NormalizePipeline.process_item
    classify = pipelines.classify

    def keep_item(self: Any, item: Any) -> Any:
        items.append(copy.deepcopy(dict(item)))
        return normalize(self, item)

    def keep_verdict(title: str, body: str, *args: Any) -> Any:
        verdict = classify(title, body, *args)
        verdicts[(title, body)] = verdict.to_dict()
        return verdict

    pipelines.NormalizePipeline.process_item = keep_item  # type: ignore[method-assign]
    pipelines.classify = keep_verdict  # type: ignore[assignment]
    crawl_quietly(database, start_url)
    output.write_bytes(pickle.dumps({"items": items, "verdicts": verdicts}))


def capture(output: Path, count: int) -> None:
    site = SiteServer(count, start=recent_start(count), realistic=True)
    with site as server, tempfile.TemporaryDirectory() as directory:
        command = [sys.executable, "-m", "bench.bench_pipes", "child", str(output)]
        command += ["--db", str(Path(directory) / "crawl.db"), "--url", server.start_url]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])


class _Verdict:
    """What ``EnrichPipeline`` reads of a classifier verdict, from the kept dictionary."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.is_cooperation = values["is_cooperation"]

    def to_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self.values)


class _Spider:
    name = "nstc"

    def __init__(self, allowed_domains: list[str]) -> None:
        self.allowed_domains = allowed_domains


def _pipelines(database_url: str, allowed_domains: list[str]) -> list[tuple[str, Any]]:
    from scrapy.utils.misc import load_object
    from scrapy.utils.test import get_crawler

    from crawler import settings as project

    crawler = get_crawler(settings_dict={"DATABASE_URL": database_url})
    crawler.spider = _Spider(allowed_domains)  # type: ignore[assignment]
    built = []
    for path, _ in sorted(project.ITEM_PIPELINES.items(), key=lambda entry: entry[1]):
        if path.endswith("StorePipeline"):
            continue  # its batches are written below, without a reactor
        pipeline = load_object(path).from_crawler(crawler)
        if hasattr(pipeline, "open_spider") and not path.endswith("EnrichPipeline"):
            pipeline.open_spider()
        built.append((path.rsplit(".", 1)[1], pipeline))
    return built


def _prepare(captured: dict[str, Any], database_url: str) -> dict[str, Any]:
    """What a pass needs, made before it: the items, the pipelines, the database."""
    from crawler import pipelines as module
    from crawler.items import ReleaseItem
    from storage.db import Database
    from storage.writer import BatchWriter

    verdicts = captured["verdicts"]
    module.classify = lambda title, body, *_: _Verdict(verdicts[(title, body)])  # type: ignore[assignment]
    allowed = ["127.0.0.1", "localhost"]
    database = Database(database_url)
    return {
        "items": [ReleaseItem(**copy.deepcopy(values)) for values in captured["items"]],
        "chain": _pipelines(database_url, allowed),
        "database": database,
        "writer": BatchWriter(database),
        "allowed": tuple(allowed),
    }


def _one_pass(prepared: dict[str, Any]) -> dict[str, float]:
    """The prepared items through the pipelines once: thread CPU of each, seconds."""
    from crawler.pipelines import to_record
    from crawler.settings import STORE_BATCH_SIZE
    from storage.limits import fit_release

    items, chain, writer = prepared["items"], prepared["chain"], prepared["writer"]
    spent: dict[str, float] = defaultdict(float)
    batch: list[tuple[int, Any]] = []
    clock = time.thread_time
    for sequence, item in enumerate(items):
        for name, pipeline in chain:
            started = clock()
            item = pipeline.process_item(item)
            spent[name] += clock() - started
        started = clock()
        record, _ = fit_release(to_record(item, prepared["allowed"]))
        batch.append((sequence, record))
        spent["StorePipeline: record"] += clock() - started
        if len(batch) == STORE_BATCH_SIZE or sequence == len(items) - 1:
            started = clock()
            report = writer.write(batch)
            spent["StorePipeline: batches"] += clock() - started
            if any(error for _, _, error in report):
                raise RuntimeError(f"a release failed: {report}")
            batch = []
    return spent


def run(path: Path, rounds: int, profile: bool) -> None:
    captured = pickle.loads(path.read_bytes())
    count = len(captured["items"])
    with tempfile.TemporaryDirectory() as directory:
        urls = [f"sqlite:///{directory}/round{n}.db" for n in range(rounds)]
        if profile:
            import cProfile
            import pstats

            _one_pass(_prepare(captured, urls[0]))  # first calls' imports and caches
            prepared = _prepare(captured, urls[-1])
            profiler = cProfile.Profile()
            profiler.enable()
            _one_pass(prepared)
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats(os.environ.get("PIPES_SORT", "tottime"))
            stats.print_stats(int(os.environ.get("PIPES_TOP", "30")))
            return
        results = []
        for url in urls:  # each pass's set-up first: an instruction count takes passes alone
            prepared = _prepare(captured, url)
            results.append(_one_pass(prepared))
            prepared["database"].dispose()
    names = list(results[0])
    print(f"{count} releases, {rounds} rounds, ms of CPU a release (median, min-max):")
    for name in [*names, "all"]:
        values = [
            (sum(result.values()) if name == "all" else result[name]) * 1000 / count
            for result in results
        ]
        print(
            f"  {name:28} {statistics.median(values):7.3f}  ({min(values):.3f}-{max(values):.3f})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("capture", "run", "child"))
    parser.add_argument("items", type=Path)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--db")
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.command == "child":
        _child(Path(args.db), args.url, args.items)
    elif args.command == "capture":
        capture(args.items, args.count)
    else:
        run(args.items, args.rounds, args.profile)


if __name__ == "__main__":
    main()

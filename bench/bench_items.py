"""The item path's cost, release by release, in the crawl process (issue 19, eighth pass).

    .venv/bin/python -m bench.bench_items [--count 300] [--rounds 3]

Not part of the harness. Crawls the bench site's realistic releases (``bench.server
--realistic``) with ``stnews crawl nstc`` run in a child process whose pipelines, store
batches, extensions and post-crawl linking are wrapped in CPU timers (``time.thread_time``:
they all run in the reactor's thread or, for the linking, the main thread after it). Three
kinds of crawl, alternated round by round, each into a fresh SQLite database:

- ``timed``: the project's ``ITEM_PIPELINES``, each step timed;
- ``pass8``: eight pass-through pipelines (``process_item`` returns the item);
- ``none``: ``ITEM_PIPELINES={}``.

Scrapy's own cost of passing an item through pipelines is also measured without a crawl:
``ItemPipelineManager.process_item_async`` over the crawl's releases with 0 and 8 pass-through
pipelines (and 8 returning an already-done Deferred-backed awaitable, as the store does).
Prints a table of milliseconds of CPU a release (medians over the rounds).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import FAST_LOCAL, ROOT
from bench.crawl import recent_start
from bench.server import SiteServer

PASS_THROUGH = {f"bench.bench_items.PassThrough{n}": 100 + n for n in range(8)}


class PassThrough:
    """A pipeline that does nothing: what Scrapy alone costs per pipeline and item."""

    def process_item(self, item: Any) -> Any:
        return item


# Eight distinct classes: Scrapy builds one instance per listed class.
for _n in range(8):
    globals()[f"PassThrough{_n}"] = type(f"PassThrough{_n}", (PassThrough,), {})


# --- the child: one crawl, timed ------------------------------------------------------------

_spent: dict[str, float] = defaultdict(float)
_calls: dict[str, int] = defaultdict(int)
# CPU of timed calls made inside the timed call running: each step's own time is reported
# (a full batch is written inside the store's process_item that filled it).
_inner: list[float] = []


def _timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _inner.append(0.0)
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            elapsed = time.thread_time() - started
            _spent[name] += elapsed - _inner.pop()
            _calls[name] += 1
            if _inner:
                _inner[-1] += elapsed

    return wrapper


def _instrument() -> None:
    """Wrap every step of the item path and what runs at open, close and after the crawl."""
    import crawler.cli.crawl as cli_crawl
    from crawler import extensions, health, page_monitor, pipelines
    from crawler.store_writers import ReactorBatches

    steps = {
        "normalize": pipelines.NormalizePipeline,
        "interstitial": pipelines.InterstitialPipeline,
        "field coverage": health.FieldCoveragePipeline,
        "validate": pipelines.ValidatePipeline,
        "enrich (classify)": pipelines.EnrichPipeline,
        "deduplicate": pipelines.DeduplicatePipeline,
        "page versions": page_monitor.PageVersionPipeline,
        "store: process_item (fit, record, submit)": pipelines.StorePipeline,
    }
    for name, cls in steps.items():
        cls.process_item = _timed(name, cls.process_item)
        for hook in ("open_spider", "close_spider"):
            if hook in vars(cls) and not asyncio.iscoroutinefunction(vars(cls)[hook]):
                setattr(cls, hook, _timed(f"{name.split(':')[0]}: {hook}", vars(cls)[hook]))
    ReactorBatches._write = _timed("store: batches written", ReactorBatches._write)
    pipelines.StorePipeline._take_reports = _timed(
        "store: outcomes reported", pipelines.StorePipeline._take_reports
    )
    run = extensions.CrawlRunRecorder
    run.spider_opened = _timed("run record: open", run.spider_opened)
    run.spider_closed = _timed("run record: close", run.spider_closed)
    health.HealthMonitor.spider_closed = _timed("health record", health.HealthMonitor.spider_closed)

    original_link = cli_crawl.link_events

    def link_events(database: Any) -> Any:
        started = time.thread_time()
        import crawler.service.linking as linking

        _spent["linking: imports"] += time.thread_time() - started
        store = linking.store
        for attr in ("unlinked_cooperation", "members_published_between", "write_events"):
            setattr(store, attr, _timed(f"linking: {attr}", getattr(store, attr)))
        linking._safe_signals = _timed("linking: signals", linking._safe_signals)
        linking.Linker.add = _timed("linking: Linker.add", linking.Linker.add)
        return _timed("linking: the rest (sessions, commits, zones)", original_link)(database)

    cli_crawl.link_events = link_events


def child(database: Path, start_url: str, kind: str) -> None:
    from crawler.cli import main

    if kind == "timed":
        _instrument()
    argv = ["--db", f"sqlite:///{database}", "crawl", "nstc", "--json"]
    argv += ["-a", f"start_url={start_url}"]
    settings = dict(FAST_LOCAL)
    settings["LOG_LEVEL"] = "WARNING"
    if kind == "none":
        settings["ITEM_PIPELINES"] = "{}"
    elif kind == "pass8":
        settings["ITEM_PIPELINES"] = json.dumps(PASS_THROUGH)
    for name, value in settings.items():
        argv += ["-s", f"{name}={value}"]
    saved = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (the crawl's JSON summary)
    try:
        code = main(argv)
    finally:
        sys.stdout.close()
        sys.stdout = saved
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "code": code,
                "cpu": usage.ru_utime + usage.ru_stime,
                "spent": _spent,
                "calls": _calls,
            }
        )
    )


def run_child(start_url: str, kind: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        database = Path(directory) / "bench.db"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "bench.bench_items", "--child", kind]
        command += ["--db", str(database), "--url", start_url]
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        return json.loads(done.stdout.strip().splitlines()[-1])


# --- Scrapy's pipeline manager alone --------------------------------------------------------


def manager_cost(count: int, repeat: int = 5) -> dict[str, float]:
    """Milliseconds of CPU an item through ``ItemPipelineManager.process_item_async``."""
    from scrapy.pipelines import ItemPipelineManager
    from scrapy.utils.test import get_crawler

    from crawler.items import ReleaseItem

    items = [ReleaseItem(url=f"https://example.org/{n}", title="t") for n in range(count)]
    out: dict[str, float] = {}
    for label, setting in (
        ("0 pipelines", {}),
        ("8 pass-through pipelines", PASS_THROUGH),
    ):
        crawler = get_crawler(settings_dict={"ITEM_PIPELINES": setting})
        manager = ItemPipelineManager.from_crawler(crawler)

        async def through(manager: Any = manager) -> None:
            for item in items:
                await manager.process_item_async(item)

        best = float("inf")
        loop = asyncio.new_event_loop()
        for _ in range(repeat):
            started = time.thread_time()
            loop.run_until_complete(through())
            best = min(best, time.thread_time() - started)
        loop.close()
        out[label] = best * 1000 / count
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=("timed", "pass8", "none"))
    parser.add_argument("--db")
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.child:
        child(Path(args.db), args.url, args.child)
        return
    print(f"load: {os.getloadavg()[0]:.1f}", flush=True)
    timed: list[dict[str, Any]] = []
    totals: dict[str, list[float]] = defaultdict(list)
    with SiteServer(args.count, start=recent_start(args.count), realistic=True) as server:
        for _ in range(args.rounds):
            for kind in ("timed", "pass8", "none"):
                result = run_child(server.start_url, kind)
                totals[kind].append(result["cpu"] * 1000 / args.count)
                if kind == "timed":
                    timed.append(result)
    names = sorted({name for result in timed for name in result["spent"]})
    print(f"{'step (own CPU)':<46} {'ms a release':>12} {'ms a crawl':>10}  calls  (medians)")
    for name in names:
        values = [r["spent"].get(name, 0.0) * 1000 for r in timed]
        calls = timed[-1]["calls"].get(name, 0)
        whole = statistics.median(values)
        print(f"{name:<46} {whole / args.count:>12.3f} {whole:>10.1f}  {calls}")
    for kind, values in totals.items():
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(f"whole crawl process, {kind}: {statistics.median(values):.2f} ms ({shown})")
    for label, value in manager_cost(args.count).items():
        print(f"ItemPipelineManager, {label}: {value * 1000:.1f} µs an item")
    print(f"load: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

"""Throughput of ``crawler.classify.classify`` on one core.

Runs the labelled dev set, repeated to about 5,000 releases, five times in one thread (so on
one core) and prints one line: the median releases per second with the minimum and maximum.
``--body-bytes 4500`` lengthens every body (by repeating it) to measure typical 3-6 KB press
releases. Wall-clock and CPU-time rates are both reported: on a busy machine the process
waits for the CPU, which slows the former but not the latter.

    .venv/bin/python bench/bench_classify.py [--releases 5000] [--runs 5] [--body-bytes 0]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import process_cpu_seconds  # noqa: E402
from crawler.classify import classify  # noqa: E402

DEVSET = ROOT / "tests" / "classify" / "devset.jsonl"


def load(releases: int, body_bytes: int) -> list[tuple[str, str, str, str]]:
    with DEVSET.open(encoding="utf-8") as fh:
        items = [json.loads(line) for line in fh if line.strip()]
    rows = []
    for item in items:
        body = item["body"]
        while body_bytes and len(body.encode("utf-8")) < body_bytes:
            body += "\n" + item["body"]
        rows.append((item["title"], body, item["agency_country"], item["language"]))
    return [rows[i % len(rows)] for i in range(releases)]


def run(rows: list[tuple[str, str, str, str]]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) to classify ``rows`` once."""
    wall, cpu = time.perf_counter(), time.process_time()
    for title, body, country, language in rows:
        classify(title, body, country, language)
    return time.perf_counter() - wall, time.process_time() - cpu


@dataclass
class ClassifyBench:
    releases: int
    #: Mean size of title + body, in bytes.
    size: float
    #: Releases per second per run: wall clock, and per CPU second (this process's).
    wall: list[float]
    cpu: list[float]
    #: Seconds of the first call (pattern compilation).
    setup: float


def measure(releases: int = 5000, runs: int = 5, body_bytes: int = 0) -> ClassifyBench:
    rows = load(releases, body_bytes)
    size = sum(len(t.encode()) + len(b.encode()) for t, b, _, _ in rows) / len(rows)
    start = time.perf_counter()
    classify(*rows[0])  # compiles the patterns once (lazily, on first use)
    setup = time.perf_counter() - start
    timings = [run(rows) for _ in range(runs)]
    return ClassifyBench(
        releases=len(rows),
        size=size,
        wall=[len(rows) / w for w, _ in timings],
        cpu=[len(rows) / c for _, c in timings if c > 0],
        setup=setup,
    )


def measure_cli(
    releases: int = 10_000, runs: int = 3, body_bytes: int = 0, timeout: float = 300
) -> tuple[list[float], list[float]]:
    """`stnews classify` releases per second, per wall-clock and per CPU second.

    JSON lines are piped through the command in a child process, timed from its first output
    line to its last (it flushes every line), so interpreter start-up and the first call's
    pattern compilation are left out. Its CPU time over the same stretch comes from
    ``/proc/<pid>/stat``, read every 500 lines.
    """
    rows = load(releases, body_bytes)
    keys = ("title", "body", "agency_country", "language")
    data = "".join(json.dumps(dict(zip(keys, row, strict=True))) + "\n" for row in rows)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    wall_rates, cpu_rates = [], []
    for _ in range(runs):
        with tempfile.TemporaryFile("w+") as feed:
            feed.write(data)
            feed.seek(0)
            child = subprocess.Popen(
                [sys.executable, "-m", "crawler.cli", "classify", "--jobs", "1"],
                stdin=feed,
                stdout=subprocess.PIPE,
                cwd=ROOT,
                env=env,
            )
            killer = threading.Timer(timeout, child.kill)
            killer.start()
            assert child.stdout is not None
            count = 0
            first = last = 0.0
            first_cpu = last_cpu = None
            cpu_lines = 0
            for _line in child.stdout:
                last = time.perf_counter()
                count += 1
                if count == 1:
                    first, first_cpu = last, process_cpu_seconds(child.pid)
                elif count % 500 == 0 and (cpu := process_cpu_seconds(child.pid)) is not None:
                    last_cpu, cpu_lines = cpu, count
            killer.cancel()
            if child.wait() != 0 or count != len(rows):
                raise RuntimeError(f"stnews classify answered {count} of {len(rows)} lines")
        wall_rates.append((count - 1) / (last - first))
        if first_cpu is not None and last_cpu is not None and last_cpu > first_cpu:
            cpu_rates.append((cpu_lines - 1) / (last_cpu - first_cpu))
    return wall_rates, cpu_rates


def realistic_lines(count: int) -> list[str]:
    """JSON lines of the crawl benchmark's realistic releases (``SyntheticSite(realistic=
    True)``: restated real releases, a third cooperation, bodies around 4.5 KB)."""
    from bench.sitegen import SyntheticSite

    site = SyntheticSite(count, realistic=True)
    return [
        json.dumps(
            {
                "title": site.title(seq),
                "body": "\n\n".join(site.paragraphs(seq)),
                "agency_country": "TW",
                "language": "en",
            }
        )
        for seq in range(1, count + 1)
    ]


def measure_end_to_end(
    lines: list[str], runs: int = 3, timeout: float = 300, jobs: int | None = None
) -> tuple[list[float], list[float]]:
    """`stnews classify` on ``lines`` end to end: releases per second of wall clock from
    process start to exit (start-up, imports and table loading included), and per CPU
    second of the whole process and its worker processes (``os.wait4``). ``jobs``: its
    ``--jobs`` (None: the default, one process per usable CPU)."""
    from bench.common import PYTHON, ProcessTree, run_measured

    data = "".join(line + "\n" for line in lines)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    wall, cpu = [], []
    for _ in range(runs):
        with tempfile.TemporaryFile("w+") as feed, tempfile.TemporaryFile() as out:
            feed.write(data)
            feed.seek(0)
            tree = ProcessTree()
            code, seconds, usage = run_measured(
                [PYTHON, "-m", "crawler.cli", "classify"]
                + ([] if jobs is None else ["--jobs", str(jobs)]),
                timeout=timeout,
                stdin=feed,
                stdout=out,
                env=env,
                tree=tree,
            )
            out.seek(0)
            answered = sum(1 for _ in out)
        if code != 0 or answered != len(lines):
            raise RuntimeError(f"stnews classify answered {answered} of {len(lines)} lines")
        wall.append(len(lines) / seconds)
        cpu.append(len(lines) / (usage.ru_utime + usage.ru_stime + tree.extra_cpu_seconds))
    return wall, cpu


def measure_help(runs: int = 5) -> tuple[list[float], list[float]]:
    """`stnews --help` from process start to exit: wall and CPU seconds."""
    from bench.common import PYTHON, run_measured

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    wall, cpu = [], []
    for _ in range(runs):
        code, seconds, usage = run_measured(
            [PYTHON, "-m", "crawler.cli", "--help"],
            timeout=60,
            stdout=subprocess.DEVNULL,
            env=env,
        )
        if code != 0:
            raise RuntimeError(f"stnews --help exited {code}")
        wall.append(seconds)
        cpu.append(usage.ru_utime + usage.ru_stime)
    return wall, cpu


def measure_startup(runs: int = 5) -> tuple[list[float], list[float]]:
    """Seconds for `stnews classify` to answer one line: with the table cache cold (a fresh
    cache directory) and warm. Interpreter start-up, imports and table building included."""
    line = json.dumps({"title": "Taiwan and France Sign MOU", "body": "", "agency_country": "TW"})
    cold, warm = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_CACHE_DIR": cache}
            for bucket in (cold, warm):
                start = time.perf_counter()
                subprocess.run(
                    [sys.executable, "-m", "crawler.cli", "classify"],
                    input=line + "\n", capture_output=True, text=True, env=env, check=True,
                    cwd=ROOT,
                )  # fmt: skip
                bucket.append(time.perf_counter() - start)
    return cold, warm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--body-bytes", type=int, default=0, help="lengthen bodies to this size")
    args = parser.parse_args()
    result = measure(args.releases, args.runs, args.body_bytes)
    wall, cpu = result.wall, result.cpu
    print(
        f"classify: {result.releases} releases (avg {result.size / 1024:.1f} KB), {args.runs} "
        f"runs, 1 thread: median {statistics.median(wall):,.0f} releases/s "
        f"(min {min(wall):,.0f}, max {max(wall):,.0f}); "
        f"CPU-time median {statistics.median(cpu):,.0f}/s; first-call setup {result.setup:.2f} s"
    )


if __name__ == "__main__":
    main()

"""The store step's batches, written again from a real crawl's records (issue 19, ninth pass).

    .venv/bin/python -m bench.bench_batches [--count 300] [--rounds 5]

Not part of the harness. Crawls the bench site's realistic releases (``bench.server
--realistic``) once, with ``stnews crawl nstc`` in a child process that keeps the
``ReleaseRecord``s its store step submits (bodies as normalize and classify left them, the
210 KB pages). Then writes those records again, round by round, with ``BatchWriter`` in batches
of ``STORE_BATCH_SIZE`` into a fresh SQLite database each round, timing the thread's CPU: the
whole, and its parts: raw page compression, search tokens, fitting to the columns, the batch's
look-up of stored rows, and the driver's own ``execute``, ``executemany`` and ``commit`` (the
rest is SQLAlchemy and the store's Python). The same records every round, unlike a crawl's
batches, which the load and the linger cut differently each time. Prints milliseconds of CPU a
release, medians over the rounds.
"""

from __future__ import annotations

import argparse
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import ROOT, crawl_quietly
from bench.crawl import recent_start
from bench.server import SiteServer


def child(database: Path, start_url: str, output: Path) -> None:
    """One crawl; the records its store step submitted, pickled to ``output``."""
    from crawler.store_writers import ReactorBatches

    kept: list[Any] = []
    submit = ReactorBatches.submit

    def keep(self: ReactorBatches, record: Any, on_done: Any) -> None:
        kept.append(record)
        submit(self, record, on_done)

    ReactorBatches.submit = keep  # type: ignore[method-assign]
    crawl_quietly(database, start_url)
    output.write_bytes(pickle.dumps(kept))


def crawl_records(count: int) -> list[Any]:
    site = SiteServer(count, start=recent_start(count), realistic=True)
    with site as server, tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "records.pickle"
        command = [sys.executable, "-m", "bench.bench_batches", "--child"]
        command += ["--db", str(Path(directory) / "crawl.db"), "--url", server.start_url]
        command += ["--output", str(output)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-3000:])
        return pickle.loads(output.read_bytes())


_spent: dict[str, float] = defaultdict(float)


def _timed(owner: Any, name: str, label: str) -> None:
    function = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return function(*args, **kwargs)
        finally:
            _spent[label] += time.thread_time() - started

    setattr(owner, name, wrapper)


def _instrument() -> None:
    from sqlalchemy.engine.default import DefaultDialect

    import storage.releases as releases
    import storage.search as search

    _timed(releases, "compress_page", "raw page compression")
    _timed(search, "_document", "search tokens")
    _timed(releases, "fit_releases", "fitting to the columns")
    read: Callable[..., Any] = releases._StoredMatches.read.__func__  # type: ignore[attr-defined]
    releases._StoredMatches.read = classmethod(  # type: ignore[method-assign,assignment]
        lambda cls, *args: read(cls, *args)
    )
    _timed(releases._StoredMatches, "read", "the batch's look-up (ORM, its SELECT included)")
    for method in ("do_execute", "do_executemany", "do_commit"):
        _timed(DefaultDialect, method, f"driver: {method.removeprefix('do_')}")


def replay(records: list[Any], rounds: int, batch_size: int) -> list[dict[str, float]]:
    from storage.db import Database
    from storage.writer import BatchWriter

    results = []
    with tempfile.TemporaryDirectory() as directory:
        for index in range(rounds):
            database = Database(f"sqlite:///{directory}/round{index}.db")
            writer = BatchWriter(database)
            _spent.clear()
            started = time.thread_time()
            for start in range(0, len(records), batch_size):
                batch = list(enumerate(records[start : start + batch_size], start=start))
                report = writer.write(batch)
                if any(error for _, _, error in report):
                    raise RuntimeError(f"a release failed: {report}")
            results.append({"store (whole)": time.thread_time() - started, **_spent})
            database.dispose()
    return results


def main() -> None:
    from crawler.settings import STORE_BATCH_SIZE

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=STORE_BATCH_SIZE)
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--db")
    parser.add_argument("--url")
    parser.add_argument("--output")
    args = parser.parse_args()
    if args.child:
        child(Path(args.db), args.url, Path(args.output))
        return
    records = crawl_records(args.count)
    print(f"{len(records)} records of a bench crawl; load {os.getloadavg()[0]:.1f}", flush=True)
    _instrument()
    results = replay(records, args.rounds, args.batch)
    for name in results[0]:
        values = [result.get(name, 0.0) * 1000 / len(records) for result in results]
        shown = ", ".join(f"{value:.3f}" for value in values)
        print(f"  {name:50} {statistics.median(values):6.3f} ms a release ({shown})")
    print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()

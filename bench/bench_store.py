"""The store step in process: CPU per release of ``save_releases`` on realistic batches, and
what its parts cost alone (issue 19).

    python -m bench.bench_store                       # SQLite in a temporary directory
    python -m bench.bench_store --db postgresql+psycopg://postgres@127.0.0.1/scratch

Records are the realistic bench site's (``FastSyntheticSite(realistic=True)``): restated real
release bodies of about 5 KB and the 210 KB detail page as the raw page. Each round stores
releases not stored before into one database: in batches of ``STORE_BATCH_SIZE`` (one
transaction each, as a crawl's store step does), then others in batches of one (what batching
saves), then others without raw pages. A ``--db`` database must hold no releases (they would
not be new): a scratch database, which the benchmark leaves filled. The parts are timed
alone over the same records, best of the rounds: raw page compression, search tokens, the
PostgreSQL tsvector literal. CPU of this process only: a PostgreSQL server's own work is not
in it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bench.sitegen import FastSyntheticSite
from crawler.settings import STORE_BATCH_SIZE
from storage.db import Database
from storage.models import Release
from storage.rawpages import compress_page
from storage.releases import RawPage, ReleaseRecord, save_releases
from storage.search import _document, _tsvector


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def records(count: int, first: int = 1) -> list[ReleaseRecord]:
    """Releases ``first`` .. ``first + count - 1`` of a realistic site as the store gets them."""
    site = FastSyntheticSite(first + count, realistic=True)
    out = []
    for seq in range(first, first + count):
        body = "\n\n".join(site.paragraphs(seq))
        url = site.detail_url(seq)
        out.append(
            ReleaseRecord(
                source="nstc",
                native_id=site.release_uuid(seq),
                url=url,
                title=site.title(seq),
                published_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=seq % 3650),
                body=body,
                language="en",
                agency="National Science and Technology Council",
                agency_country="TW",
                fingerprint=hashlib.sha256(body.encode()).hexdigest(),
                is_cooperation=site.is_cooperation(seq),
                partners=["US"] if site.is_cooperation(seq) else [],
                raw=RawPage(site.render_detail(seq), datetime.now(UTC), url, 200, "utf-8", "1"),
            )
        )
    return out


def _store(database: Database, batch: list[ReleaseRecord], size: int) -> float:
    """CPU seconds to store ``batch`` in transactions of ``size``."""
    sources: dict[str, int] = {}
    started = _cpu()
    for start in range(0, len(batch), size):
        with database.session() as session:
            save_releases(session, batch[start : start + size], sources)
    return _cpu() - started


def _best(step: Callable[[], Any], rounds: int) -> float:
    spent = []
    for _ in range(rounds):
        started = _cpu()
        step()
        spent.append(_cpu() - started)
    return min(spent)


def measure(url: str, count: int, rounds: int, batch: int) -> dict[str, float]:
    """Milliseconds of CPU per release: the store (median of rounds), the same in batches of
    one (what batching saves), the store without raw pages, and each part alone (best of
    rounds)."""
    database = Database(url)
    with database.session(readonly=True) as session:
        if session.scalar(select(Release.id).limit(1)) is not None:
            database.dispose()
            raise SystemExit(f"{url}: releases are stored there already; give an empty database")
    spent: dict[str, list[float]] = {"store": [], "batches of one": [], "no raw pages": []}
    try:
        # Warm-up (the first queries are compiled and cached), on releases of its own.
        _store(database, records(batch, first=1 + 3 * rounds * count), batch)
        for index in range(rounds):
            first = 1 + 3 * index * count
            spent["store"].append(_store(database, records(count, first), batch))
            spent["batches of one"].append(_store(database, records(count, first + count), 1))
            no_raw = [replace(r, raw=None) for r in records(count, first + 2 * count)]
            spent["no raw pages"].append(_store(database, no_raw, batch))
    finally:
        database.dispose()
    sample = records(count)
    documents = [_document(r.title, r.body) for r in sample]
    pages = [r.raw.body for r in sample if r.raw is not None]
    per = 1000 / count
    return {
        "store": statistics.median(spent["store"]) * per,
        "store, batches of one": statistics.median(spent["batches of one"]) * per,
        "store without raw pages": statistics.median(spent["no raw pages"]) * per,
        "raw page compression": _best(lambda: [compress_page(p) for p in pages], rounds) * per,
        "search tokens": _best(lambda: [_document(r.title, r.body) for r in sample], rounds) * per,
        "PostgreSQL tsvector literal": _best(lambda: [_tsvector(*d) for d in documents], rounds)
        * per,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temporary directory)")
    parser.add_argument("--releases", type=int, default=300, help="releases a round (300)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=STORE_BATCH_SIZE, help="releases a batch")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        url = args.db or f"sqlite:///{Path(scratch) / 'store.db'}"
        figures = measure(url, args.releases, args.rounds, args.batch)
    print(f"store step in process, {args.releases} releases a round, batches of {args.batch}, "
          f"{args.rounds} rounds; load average {_load()}")  # fmt: skip
    for name, value in figures.items():
        print(f"  {name:30} {value:6.3f} ms of CPU a release")


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


if __name__ == "__main__":
    main()

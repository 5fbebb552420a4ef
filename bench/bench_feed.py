"""How the default feed's build time grows with the database: 1,000 vs 100,000 releases.

    .venv/bin/python bench/bench_feed.py

Fills two SQLite databases with synthetic releases (about 30% cooperation, with partner and
topic tags), then times building the default cooperation feed (query + Atom through feedgen)
from each: one untimed warm-up each, then 5 runs each, alternating between the databases;
prints the median, min and max (``measure()`` returns them to ``python -m bench``). The feed
holds the newest 50 either way, so with an index the time should hardly depend on the table
size; the target is a ratio of at most 1.5. Also prints SQLite's plan for the query, which must read
the index in order (no full scan, no sort). Exits 1 if either check fails.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.dialects import sqlite  # noqa: E402

from crawler.feeds.build import feed_meta, item_from_release  # noqa: E402
from crawler.feeds.render import render_atom  # noqa: E402
from storage import Database  # noqa: E402
from storage.models import Release, ReleaseTag, Source  # noqa: E402
from storage.queries import feed_query, feed_releases  # noqa: E402

SIZES = (1_000, 100_000)
RUNS = 5
LIMIT = 50
TARGET_RATIO = 1.5
#: `stnews feed` end to end, 100,000 / 1,000 releases (issue 19).
COMMAND_TARGET_RATIO = 1.3
COOPERATION_SHARE = 0.3
CHUNK = 10_000

SOURCES = [
    ("nstc", "National Science and Technology Council", "TW", "en", "Asia/Taipei"),
    ("moeaidb", "Industrial Development Administration", "TW", "en", "Asia/Taipei"),
    ("msit", "Ministry of Science and ICT", "KR", "ko", "Asia/Seoul"),
]
PARTNERS = ["FR", "DE", "US", "JP", "GB", "EU", "IN", "AU", "CA", "NL", "SE", "CZ", "PL", "IL"]
TOPICS = ["ai", "semiconductors", "space", "quantum", "biotech", "energy", "6g", "climate"]
COOP_TYPES = ["mou", "joint_call", "joint_committee", "delegation", "joint_centre"]


def synthetic_rows(n: int, seed: int = 7) -> Iterator[tuple[list[dict], list[dict]]]:
    """Releases and their tag rows, in chunks, spread over ten years of publication."""
    rng = random.Random(seed)
    start = datetime(2015, 1, 1, tzinfo=UTC)
    minutes = 10 * 365 * 24 * 60
    releases: list[dict[str, Any]] = []
    tags: list[dict[str, Any]] = []
    for i in range(1, n + 1):
        source_id = rng.randrange(len(SOURCES))
        name, agency, country, language, _ = SOURCES[source_id]
        coop = rng.random() < COOPERATION_SHARE
        partners = rng.sample(PARTNERS, rng.randint(1, 3)) if coop else []
        topics = rng.sample(TOPICS, rng.randint(0, 2)) if coop else []
        published = start + timedelta(minutes=rng.randrange(minutes))
        releases.append(
            {
                "id": i,
                "source_id": source_id + 1,
                "native_id": str(i),
                "url": f"https://{name}.example/news/{i}",
                "title": f"Release {i}: {' and '.join(partners) or 'domestic'} news",
                "published_at": published,
                "body": f"Body of release {i}.\n\nSecond paragraph.",
                "summary": f"Summary of release {i}.",
                "image_url": f"https://{name}.example/img/{i}.jpg" if i % 4 == 0 else None,
                "attachments": [],
                "language": language,
                "agency": agency,
                "agency_country": country,
                "fingerprint": f"{i:064x}",
                "is_cooperation": coop,
                "confidence": 0.9 if coop else 0.1,
                "evidence": [],
                "partners": partners,
                "topics": topics,
                "coop_type": rng.choice(COOP_TYPES) if coop else None,
                "first_seen_at": published,
                "last_seen_at": published,
                "updated_at": published,
            }
        )
        tags += [{"release_id": i, "kind": "partner", "value": p} for p in partners]
        tags += [{"release_id": i, "kind": "topic", "value": t} for t in topics]
        if len(releases) == CHUNK:
            yield releases, tags
            releases, tags = [], []
    if releases:
        yield releases, tags


def fill(database: Database, n: int) -> None:
    sources = [
        {"id": i + 1, "name": s[0], "agency": s[1], "agency_country": s[2], "language": s[3],
         "timezone": s[4], "created_at": datetime(2024, 1, 1, tzinfo=UTC)}
        for i, s in enumerate(SOURCES)
    ]  # fmt: skip
    with database.engine.begin() as conn:
        conn.execute(insert(Source.__table__), sources)
        for releases, tags in synthetic_rows(n):
            conn.execute(insert(Release.__table__), releases)
            if tags:
                conn.execute(insert(ReleaseTag.__table__), tags)


def build_default_feed(database: Database) -> bytes:
    with database.session() as session:
        items = [item_from_release(r) for r in feed_releases(session, cooperation_only=True)]
    meta = feed_meta(
        id="tag:stnews.github.io,2024:feed/cooperation",
        title="stnews: cooperation",
        description="Newest international S&T cooperation announcements.",
        home_url="http://127.0.0.1:8080/feeds/",
        items=items,
    )
    return render_atom(
        meta, items, "http://127.0.0.1:8080/feeds/cooperation.atom", "application/atom+xml"
    )


def time_runs(database: Database, runs: int = RUNS) -> list[float]:
    build_default_feed(database)  # warm-up: connection, statement cache, page cache
    return [time_once(database) for _ in range(runs)]


def time_once(database: Database) -> float:
    started = time.perf_counter()
    data = build_default_feed(database)
    elapsed = time.perf_counter() - started
    assert data.count(b"<entry") == LIMIT
    return elapsed


def query_plan(database: Database, **filters: Any) -> list[str]:
    query = feed_query(limit=LIMIT, **filters)
    sql = str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    with database.engine.connect() as conn:
        return [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")]


@dataclass
class FeedBench:
    """Build times (seconds) per database size, paired run by run, and the query plans."""

    sizes: tuple[int, ...]
    #: Database URL per size; the files stay where ``measure`` was told to put them.
    urls: dict[int, str]
    times: dict[int, list[float]]
    fill_seconds: dict[int, float]
    plan: list[str]
    partner_plan: list[str]

    @property
    def ratios(self) -> list[float]:
        """Largest / smallest, run by run (the runs of one index are back to back)."""
        small, large = self.times[self.sizes[0]], self.times[self.sizes[-1]]
        return [b / a for a, b in zip(small, large, strict=True)]

    @property
    def plan_ok(self) -> bool:
        # A scan of releases that is not an index walk, or a sort, would grow with the table.
        return not any(
            ("SCAN releases" in line and "INDEX" not in line) or "TEMP B-TREE" in line
            for line in self.plan
        )


def measure(directory: Path, sizes: tuple[int, ...] = SIZES, runs: int = RUNS) -> FeedBench:
    """Fill one database per size under ``directory`` and time the default feed on each,
    alternating sizes run by run so that a change in machine load hits both alike."""
    urls = {n: f"sqlite:///{directory / f'bench-feed-{n}.db'}" for n in sizes}
    databases: dict[int, Database] = {}
    fill_seconds: dict[int, float] = {}
    for n in sizes:
        databases[n] = Database(urls[n])
        started = time.perf_counter()
        fill(databases[n], n)
        fill_seconds[n] = time.perf_counter() - started
    for database in databases.values():
        build_default_feed(database)  # warm-up: connection, statement cache, page cache
    times: dict[int, list[float]] = {n: [] for n in sizes}
    for index in range(runs):
        for n in sizes if index % 2 == 0 else tuple(reversed(sizes)):
            times[n].append(time_once(databases[n]))
    largest = databases[sizes[-1]]
    result = FeedBench(
        sizes=sizes,
        urls=urls,
        times=times,
        fill_seconds=fill_seconds,
        plan=query_plan(largest, cooperation_only=True),
        partner_plan=query_plan(largest, cooperation_only=True, partner="FR"),
    )
    for database in databases.values():
        database.dispose()
    return result


@dataclass
class CommandRuns:
    """``stnews feed`` end to end, per database size: wall and CPU seconds of the process
    (start-up included: what an operator or the scheduler pays), paired run by run."""

    wall: dict[int, list[float]]
    cpu: dict[int, list[float]]
    files: dict[int, int]

    def ratios(self, which: str) -> list[float]:
        table = self.wall if which == "wall" else self.cpu
        small, large = (table[n] for n in sorted(table))
        return [b / a for a, b in zip(small, large, strict=True)]


def measure_command(
    directory: Path, urls: dict[int, str], runs: int, warm_up: bool = True
) -> CommandRuns:
    """Run the real ``stnews feed`` (``python -m crawler.cli --db URL feed --out DIR``) on
    each database, into a fresh directory each time (so every file is written), one untimed
    warm-up each (page cache, the classifier's disk cache), then ``runs`` runs alternating."""
    from bench.common import PYTHON, ROOT, ProcessTree, run_measured

    sizes = sorted(urls)
    wall: dict[int, list[float]] = {n: [] for n in sizes}
    cpu: dict[int, list[float]] = {n: [] for n in sizes}
    files: dict[int, int] = {}
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)

    def once(n: int, tag: str) -> tuple[float, float]:
        out = directory / f"feeds-{n}-{tag}"
        command = [PYTHON, "-m", "crawler.cli", "--db", urls[n], "feed", "--out", str(out)]
        tree = ProcessTree()
        with tempfile.TemporaryFile() as log:
            code, seconds, usage = run_measured(
                command, timeout=600, stdout=log, stderr=log, env=env, tree=tree
            )
            if code != 0:
                log.seek(0)
                raise RuntimeError(f"stnews feed exited {code}: {log.read()[-2000:]!r}")
        files[n] = sum(1 for path in out.rglob("*") if path.is_file())
        shutil.rmtree(out, ignore_errors=True)
        return seconds, usage.ru_utime + usage.ru_stime + tree.extra_cpu_seconds

    for n in sizes if warm_up else ():
        once(n, "warm")
    for index in range(runs):
        for n in sizes if index % 2 == 0 else list(reversed(sizes)):
            seconds, used = once(n, str(index))
            wall[n].append(seconds)
            cpu[n].append(used)
    return CommandRuns(wall, cpu, files)


def profile_command(directory: Path, url: str) -> str:
    """cProfile of one ``stnews feed`` run in this process (top 15 by cumulative time)."""
    from bench.common import profile_call
    from crawler.cli import main as cli_main

    out = directory / "feeds-profiled"
    text = profile_call(lambda: cli_main(["--db", url, "feed", "--out", str(out)]))
    shutil.rmtree(out, ignore_errors=True)
    return text


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="stnews-bench-") as tmp:
        result = measure(Path(tmp))
    medians = {n: statistics.median(result.times[n]) for n in SIZES}
    for n in SIZES:
        times = result.times[n]
        print(
            f"{n:>7,} releases (filled in {result.fill_seconds[n]:5.2f} s): default feed "
            f"median {medians[n] * 1000:6.2f} ms  min {min(times) * 1000:6.2f} ms  "
            f"max {max(times) * 1000:6.2f} ms  ({RUNS} runs)"
        )
    ratio = medians[SIZES[-1]] / medians[SIZES[0]]
    ratio_ok = ratio <= TARGET_RATIO
    verdict = "ok" if ratio_ok else "TOO SLOW"
    print(f"ratio {SIZES[-1]:,} / {SIZES[0]:,}: {ratio:.2f} (target <= {TARGET_RATIO}) {verdict}")
    print("EXPLAIN QUERY PLAN, default feed:")
    for line in result.plan:
        print(f"  {line}")
    print("EXPLAIN QUERY PLAN, partner feed (FR):")
    for line in result.partner_plan:
        print(f"  {line}")
    plan_ok = result.plan_ok
    print("plan: index walk, no full scan, no sort" if plan_ok else "plan: FULL SCAN OR SORT")
    return 0 if ratio_ok and plan_ok else 1


if __name__ == "__main__":
    sys.exit(main())

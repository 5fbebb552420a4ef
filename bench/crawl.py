"""Crawl benchmarks: the real CLI (`stnews crawl nstc --json`) in a child process against a
synthetic NSTC site served by ``bench/server.py`` on 127.0.0.1.

- throughput: full item pipelines versus ``ITEM_PIPELINES={}`` on the same site, paired
  rounds in alternating order, each crawl a fresh backfill into an empty SQLite database;
- backfill: peak memory (and time) of one large backfill;
- incremental: polls of an unchanged site over a small and a large archive;
- site server: its own capacity, and how busy it was while the crawls ran.

Crawl time is measured from the first Scrapy log line (after interpreter start-up and
imports) to the exit of the process, so it includes crawler set-up, the crawl, the close
handlers (health, validators, run record) and the CLI's summary: everything a poll costs but
the fixed start-up, which is the same at any archive size and would only dilute the ratios.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from bench.common import (
    Config,
    CrawlFailed,
    CrawlRun,
    Figure,
    Section,
    Target,
    crawl,
    cumulative_seconds,
    profile_top,
    project_cumulative,
)
from bench.server import SiteServer, pages_per_second

THROUGHPUT_RELEASES = 1_000
THROUGHPUT_ROUNDS = 3
#: Releases of the profiled crawl (it stops there): enough for the shares to settle.
PROFILED_RELEASES = 300
BACKFILL_RELEASES = 20_000
POLLS = 9

#: Log lines as "<epoch seconds> ...": the first one dates the end of start-up.
LOG_FORMAT = "%(created).6f [%(name)s] %(levelname)s: %(message)s"
_CREATED = re.compile(r"^(\d{9,}\.\d+) \[", re.MULTILINE)


def recent_start(count: int) -> date:
    """Day 0 of a site whose newest release is dated yesterday: every date is plausible to
    the validate step, and the source is not stale to the health check."""
    return date.today() - timedelta(days=count + 1)


def timed_crawl(
    database: Path, server: SiteServer, settings: dict[str, str] | None = None, **kwargs: object
) -> tuple[CrawlRun, float]:
    """One crawl and its time from the first log line to process exit."""
    run = crawl(
        f"sqlite:///{database}",
        server.start_url,
        settings={"LOG_FORMAT": LOG_FORMAT, **(settings or {})},
        **kwargs,  # type: ignore[arg-type]
    )
    first = _CREATED.search(run.log)
    if first is None:
        raise CrawlFailed(f"no timestamped log line:\n{run.log[-2000:]}")
    return run, run.exited_at - float(first.group(1))


@dataclass
class Archive:
    """A site and a database holding its backfill, for incremental polls."""

    count: int
    server: SiteServer
    database: Path


# --- throughput --------------------------------------------------------------------------


#: The three crawls of a round: the project as configured, the same without item pipelines,
#: and the spider alone under Scrapy's defaults (``bench/bare.py``).
VARIANTS = ("full", "nopipe", "bare")
NAMES = {"full": "full crawl", "nopipe": "no item pipelines", "bare": "bare Scrapy"}
#: Issue 19's targets, wall clock and CPU alike.
TARGET_NOPIPE = 0.90
TARGET_BARE = 0.80


def throughput(config: Config, server: SiteServer) -> tuple[Section, Archive, list[float]]:
    """Full crawl versus no item pipelines versus bare Scrapy. Returns the section, the
    database of the last full crawl (a backfilled archive of ``server``'s site), and the
    server's CPU share per crawl."""
    count = server.count
    rounds = config.pick(config.rounds or THROUGHPUT_ROUNDS, 1)
    rates: dict[str, list[float]] = {v: [] for v in VARIANTS}
    cpu_ms: dict[str, list[float]] = {v: [] for v in VARIANTS}
    ratios: dict[str, list[float]] = {"nopipe": [], "bare": []}
    cpu_ratios: dict[str, list[float]] = {"nopipe": [], "bare": []}
    orphan_ms: list[float] = []
    batch_means: list[float] = []
    rss: list[float] = []
    coop_share: list[float] = []
    busy: list[float] = []
    last_full = config.tmp / "missing.db"
    for index in range(rounds):
        # Rotate the order so that a drift in machine load favours no variant.
        order = VARIANTS[index % len(VARIANTS) :] + VARIANTS[: index % len(VARIANTS)]
        pair: dict[str, float] = {}
        cpu_pair: dict[str, float] = {}
        for variant in order:
            database = config.tmp / f"throughput-{variant}-{index}.db"
            before = server.stats()
            run, seconds = timed_crawl(
                database, server, pipelines=variant == "full", bare=variant == "bare"
            )
            after = server.stats()
            scraped = run.summary["new"] if variant == "full" else run.stats["item_scraped_count"]
            if scraped != count:
                raise CrawlFailed(f"{variant} crawl got {scraped} of {count} releases")
            pair[variant] = count / seconds
            rates[variant].append(pair[variant])
            # Every process of the crawl: its own CPU, the children it reaped, the orphans.
            cpu_pair[variant] = run.all_cpu_seconds / count * 1000
            cpu_ms[variant].append(cpu_pair[variant])
            if variant == "full":
                orphan_ms.append(run.tree.extra_cpu_seconds / count * 1000)
                coop_share.append(run.stats.get("releases/cooperation", 0) / count * 100)
                if run.stats.get("release_writer/batches"):
                    batch_means.append(
                        run.stats["release_writer/releases"] / run.stats["release_writer/batches"]
                    )
                rss.append(run.all_peak_mb)
                last_full = database
            busy.append((after["cpu_seconds"] - before["cpu_seconds"]) / seconds)
        for other in ("nopipe", "bare"):
            ratios[other].append(pair["full"] / pair[other])
            cpu_ratios[other].append(cpu_pair[other] / cpu_pair["full"])

    section = Section(
        "throughput", "Crawl throughput: full crawl vs no item pipelines vs bare Scrapy"
    )
    section.figures = [
        Figure(
            "full ÷ no pipelines, releases/s (wall clock)",
            ratios["nopipe"],
            target=Target(">=", TARGET_NOPIPE),
        ),
        Figure(
            "full ÷ no pipelines, per CPU second (all processes)",
            cpu_ratios["nopipe"],
            target=Target(">=", TARGET_NOPIPE),
        ),
        Figure(
            "full ÷ bare Scrapy, releases/s (wall clock)",
            ratios["bare"],
            target=Target(">=", TARGET_BARE),
        ),
        Figure(
            "full ÷ bare Scrapy, per CPU second (all processes)",
            cpu_ratios["bare"],
            target=Target(">=", TARGET_BARE),
        ),
        *(Figure(NAMES[v], rates[v], "releases/s", digits=1) for v in VARIANTS),
        *(
            Figure(f"{NAMES[v]}, CPU per release (all processes)", cpu_ms[v], "ms", digits=2)
            for v in VARIANTS
        ),
        Figure(
            "full crawl: of which processes reaped by the harness (none by default)",
            orphan_ms,
            "ms",
            digits=3,
        ),
        Figure("store: releases per batch (mean)", batch_means, digits=1, note="context"),
        Figure("releases classified as cooperation", coop_share, "%", digits=0, note="context"),
        Figure(
            f"peak RSS, {count:,}-release backfill, all processes", rss, "MB", digits=0,
            note="context",
        ),
    ]  # fmt: skip
    sizes = body_sizes(server)
    section.notes = [
        f"Site: {count:,} releases ({count + -(-count // 10):,} pages: list pages of 10 and one "
        "detail page each), served by `bench/server.py` with realistic bodies "
        "(`SyntheticSite(realistic=True)`: restated real releases from "
        "`tests/classify/realset.jsonl`, a third of them cooperation releases, body lengths "
        f"log-normal around 4.5 KB: median {statistics.median(sizes):,.0f} bytes, quartiles "
        f"{_quartiles(sizes)}). Each crawl is a fresh backfill into an empty SQLite database; "
        f"{rounds} round(s), each one crawl per variant, the order rotated each round."
        + (
            ""
            if count == THROUGHPUT_RELEASES
            else f" **A smaller site than the default {THROUGHPUT_RELEASES:,}** "
            "(`--throughput`): fixed costs (the classifier's tables, the post-crawl event "
            "linking's imports) weigh more per release."
        ),
        "Full crawl = the project as configured (`stnews crawl nstc`): its middlewares, "
        "extensions and `ITEM_PIPELINES` (normalize, field coverage, validate, classify, dedupe, "
        "page monitor, store in batches in the reactor thread). No item pipelines = the same with "
        "`-s ITEM_PIPELINES={}`. Bare Scrapy = the same spider class and parse code "
        "(`python -m bench.bare`) under Scrapy's default settings: none of the project's "
        "middlewares, extensions, pipelines or add-ons. Local-site settings in the first two: "
        "`DOWNLOAD_DELAY=0`, `AUTOTHROTTLE_ENABLED=False`, `CONCURRENT_REQUESTS(_PER_DOMAIN)=16`, "
        "`ROBOTSTXT_OBEY=False`, `ALLOW_PRIVATE_ADDRESSES=127.0.0.1`; the same delay, "
        "concurrency and robots settings in the bare crawl.",
        "releases/s = releases / crawl time; crawl time = first Scrapy log line to process "
        "exit (interpreter start-up and imports excluded, everything else included). CPU: "
        "every process of the crawl over the same stretch: the crawl process's rusage from "
        "`os.wait4` (which includes any child it reaps) minus its CPU at the first log line, "
        "plus its descendants it did not reap, which the harness, a child subreaper, reaps and "
        "reads with `os.wait4`. Memory: the crawl process's `ru_maxrss` plus each descendant's "
        "`VmHWM` (sampled every 5 ms).",
    ]
    return section, Archive(count, server, last_full), busy


def body_sizes(server: SiteServer) -> list[int]:
    """UTF-8 bytes of every release body the server's site serves."""
    from bench.sitegen import SyntheticSite

    site = SyntheticSite(server.count, realistic=server.realistic)
    return [len("\n\n".join(site.paragraphs(seq)).encode()) for seq in range(1, site.count + 1)]


def _quartiles(values: list[int]) -> str:
    q1, _, q3 = statistics.quantiles(values, n=4)
    return f"{q1:,.0f}–{q3:,.0f}"


def explain_throughput(config: Config, server: SiteServer, section: Section) -> None:
    """Profile one full-pipeline crawl: time per release in each pipeline, and the top 15."""
    profile = config.tmp / "throughput.prof"
    database = config.tmp / "throughput-profiled.db"
    limit = min(server.count, config.pick(PROFILED_RELEASES, 100))
    run, seconds = timed_crawl(
        database,
        server,
        # Stops the crawl (exit status 1, "closespider_itemcount") after that many releases.
        settings={"CLOSESPIDER_ITEMCOUNT": str(limit)},
        profile=profile,
        check=False,
    )
    count = run.summary["new"]  # a few more than the limit: requests already in flight
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.misc import load_object

    from crawler.project import project_settings

    settings = project_settings()
    spent = cumulative_seconds(profile)
    rows = []
    total = 0.0
    pipelines = settings.getdict("ITEM_PIPELINES")
    for dotted in sorted(pipelines, key=pipelines.__getitem__):
        cls = load_object(dotted)
        # The pipeline's own step; the shared ReleasePipeline.process_item only dispatches.
        method = cls.__dict__.get("process_release") or cls.__dict__.get("process_item")
        if method is not None:
            total += spent(method)
            rows.append((cls.__name__, spent(method)))
    spider = SpiderLoader.from_settings(settings).load("nstc")
    parse = spent(spider.parse) + spent(spider.parse_detail)
    table = [
        "| step (profiled crawl) | ms per release | share of crawl time |",
        "|---|---:|---:|",
    ]
    for name, used in [("spider parse + parse_detail", parse), *rows]:
        table.append(f"| {name} | {used / count * 1000:.2f} | {used / seconds:.0%} |")
    table.append(f"| all item pipelines | {total / count * 1000:.2f} | {total / seconds:.0%} |")
    table.append(f"| whole crawl (under cProfile) | {seconds / count * 1000:.2f} | 100% |")
    section.extra.append(
        f"Where a full-pipeline crawl spends its time: one more crawl of the same site under "
        f"cProfile, stopped after {count:,} releases (`CLOSESPIDER_ITEMCOUNT`), run alongside "
        "the backfill; cProfile and the shared CPU slow everything, so read the shares, not the "
        "milliseconds. Each pipeline's row is the cumulative time of its `process_release`:"
        "\n\n" + "\n".join(table)
    )
    section.profile = (
        f"cProfile of that crawl, top 15 functions of this project by cumulative time "
        f"(of {seconds:.1f} s):\n\n" + profile_top(profile)
    )
    section.why = throughput_why(section, rows, total)


def throughput_why(section: Section, rows: list[tuple[str, float]], total: float) -> str:
    cpu = {
        v: section.figure(f"{NAMES[v]}, CPU per release (all processes)").median for v in VARIANTS
    }
    rate = {v: section.figure(NAMES[v]).median for v in VARIANTS}
    shares = (
        ", ".join(
            f"{name} {used / total:.0%}" for name, used in sorted(rows, key=lambda r: -r[1])[:3]
        )
        if rows and total
        else "(not profiled)"
    )
    return (
        f"CPU per release, every process counted: bare Scrapy {cpu['bare']:.2f} ms, with the "
        f"project's middlewares and extensions but no item pipelines {cpu['nopipe']:.2f} ms "
        f"(+{cpu['nopipe'] - cpu['bare']:.2f} ms), full crawl {cpu['full']:.2f} ms "
        f"(+{cpu['full'] - cpu['nopipe']:.2f} ms for the item pipelines). "
        f"Wall clock: {rate['bare']:.0f}, "
        f"{rate['nopipe']:.0f} and {rate['full']:.0f} releases/s. A ratio of "
        f"{TARGET_NOPIPE:.2f} against no pipelines leaves the pipelines "
        f"{(1 / TARGET_NOPIPE - 1) * cpu['nopipe']:.2f} ms per release; "
        f"{TARGET_BARE:.2f} against bare Scrapy leaves everything the project adds "
        f"{(1 / TARGET_BARE - 1) * cpu['bare']:.2f} ms. Shares of the pipelines' time in the "
        f"profiled crawl: {shares}. The table above gives each pipeline's time per release "
        "(cumulative, under cProfile); the profile below shows what inside them."
    )


# --- backfill memory ---------------------------------------------------------------------


def backfill(config: Config, server: SiteServer) -> tuple[Section, Archive]:
    count = server.count
    database = config.tmp / f"backfill-{count}.db"
    run, seconds = timed_crawl(database, server, timeout=2400)
    if run.summary["new"] != count:
        raise CrawlFailed(f"backfill stored {run.summary['new']} of {count} releases")
    section = Section("memory", f"Peak memory of a {count:,}-release backfill crawl")
    others = run.all_peak_mb - run.max_rss_mb
    section.figures = [
        Figure(
            "peak RSS, every process of the crawl (sum of their peaks)",
            [run.all_peak_mb],
            "MB",
            Target("<=", 300),
            0,
        ),
        Figure("peak RSS of the crawl process", [run.max_rss_mb], "MB", digits=0, note="context"),
        Figure(
            "peak RSS of its other processes (none by default)",
            [others],
            "MB",
            digits=0,
            note="context",
        ),
        Figure(
            "CPU per release, all processes",
            [run.all_cpu_seconds / count * 1000],
            "ms",
            digits=2,
            note="context",
        ),
        Figure("crawl time", [seconds], "s", digits=1, note="context"),
        Figure("releases per second", [count / seconds], "releases/s", digits=1, note="context"),
        Figure("pages fetched", [run.summary["pages"]], digits=0, note="context"),
    ]
    section.notes = [
        f"One full-pipeline backfill of a {count:,}-release site ({run.summary['pages']:,} "
        "pages) into an empty SQLite database, run once (a long crawl: its figure is one run). "
        "Peak RSS is the crawl process's own `ru_maxrss` from `os.wait4` (the kernel's "
        "high-water mark of resident memory: no peak can fall between samples), plus the peak "
        "of each of its descendants (none by default: a crawl starts no other process), read as "
        "`VmHWM` (their peak since exec) every 5 ms while they run. The target figure adds the "
        "peaks, an upper bound of what the crawl held at once. "
        "Processes seen: "
        + ", ".join(
            f"`{name.split(' -c ')[0][-60:] or pid}` {run.tree.peak_kib.get(pid, 0) / 1000:.0f} MB"
            for pid, name in run.tree.names.items()
        )
        + ".",
        (
            ""
            if count == BACKFILL_RELEASES
            else f"**Not the issue's figure**: this run's backfill has {count:,} releases, not "
            f"{BACKFILL_RELEASES:,} (`--backfill`), so the target is judged on a smaller crawl. "
        )
        + f"Scrapy's own `memusage/max` (sampled once a minute): "
        f"{run.stats.get('memusage/max', 0) / 1e6:.0f} MB.",
    ]
    return section, Archive(count, server, database)


# --- incremental polls -------------------------------------------------------------------


#: Archive sizes of the polls: the throughput crawl's, the backfill's, and that one grown.
HUGE_ARCHIVE = 100_000


def grow_archive(source: Archive, database: Path, count: int) -> Archive:
    """A copy of ``source``'s database grown to ``count`` releases of the same source.

    Crawling 100,000 releases would take most of an hour, so the backfilled archive is copied
    and its rows (releases and their tags) are repeated by SQL under new site ids and URLs,
    each copy dated a few minutes earlier than its original: the same source, the same kind
    of rows, the same newest releases and validators (so a poll of the unchanged site still
    gets its 304). Raw pages are not repeated (a poll never reads them; the synthetic NSTC
    page is 213 KB, 47 KB compressed, which would make a 6.5 GB file). The copies' events
    are linked before any poll, as their crawls would have done."""
    import shutil
    import sqlite3

    shutil.copyfile(source.database, database)
    with sqlite3.connect(database) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(releases)")]
        have = db.execute("SELECT count(*), max(id) FROM releases").fetchone()
        base, top = have[0], have[1]
        copies = -(-(count - base) // base)
        changed = {
            "id": "id + :shift",
            "native_id": "native_id || '-copy' || :k",
            "url": "url || '&copy=' || :k",
            "fingerprint": "substr(fingerprint, 1, 56) || printf('%08d', :k)",
            "published_at": "datetime(published_at, '-' || :k || ' minutes')",
        }
        picked = ", ".join(changed.get(c, c) for c in columns)
        for k in range(1, copies + 1):
            shift = k * top
            limit = min(base, count - base * k)
            params = {"shift": shift, "k": k, "limit": limit}
            db.execute(
                f"INSERT INTO releases ({', '.join(columns)}) SELECT {picked} FROM releases "
                "WHERE id <= :top ORDER BY id LIMIT :limit",
                {**params, "top": top},
            )
            db.execute(
                "INSERT INTO release_tags (release_id, kind, value) SELECT release_id + :shift, "
                "kind, value FROM release_tags WHERE release_id IN "
                "(SELECT id FROM releases WHERE id <= :top ORDER BY id LIMIT :limit)",
                {**params, "top": top},
            )
        db.commit()
        stored = db.execute("SELECT count(*) FROM releases").fetchone()[0]
    if stored != count:
        raise CrawlFailed(f"grown archive holds {stored} releases, not {count}")
    # The crawls that stored them would have linked their events; untimed here, or the first
    # poll of the grown archive does it (94 s of CPU at 100,000) and is timed as a poll.
    from crawler.service.linking import link_new
    from storage import Database

    link_new(Database(f"sqlite:///{database}"))
    return Archive(count, source.server, database)


def health_query_ms(
    database: Path, source: str = "nstc", repeat: int = 20, migrate: bool = True
) -> float:
    """Median milliseconds of the health check's rhythm query (``publishing_rhythm``: the
    source's newest 30 publication dates) on an archive, in this process."""
    from storage import Database
    from storage.health import publishing_rhythm

    db = Database(f"sqlite:///{database}", migrate=migrate)
    try:
        times = []
        with db.session() as session:
            publishing_rhythm(session, source)  # warm: connection, page cache
            for _ in range(repeat):
                started = time.perf_counter()
                publishing_rhythm(session, source)
                times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)
    finally:
        db.dispose()


def health_without_index(database: Path) -> float:
    """``health_query_ms`` on ``database`` with migration 0006's index dropped (it is made
    again afterwards, as the migration makes it)."""
    import sqlite3

    with sqlite3.connect(database) as db:
        db.execute("DROP INDEX IF EXISTS ix_release_source_published")
    try:
        return health_query_ms(database, migrate=False)
    finally:
        with sqlite3.connect(database) as db:
            db.execute(
                "CREATE INDEX IF NOT EXISTS ix_release_source_published "
                "ON releases (source_id, published_at)"
            )


def incremental(config: Config, archives: list[Archive]) -> Section:
    """Polls of the unchanged site over each archive, end to end, in rotating order."""
    polls = config.pick(config.polls or POLLS, 2)
    counts = [a.count for a in archives]
    requests: dict[int, list[float]] = {n: [] for n in counts}
    wall: dict[int, list[float]] = {n: [] for n in counts}
    cpu: dict[int, list[float]] = {n: [] for n in counts}
    elapsed: dict[int, list[float]] = {n: [] for n in counts}
    for index in range(polls):
        shift = index % len(archives)
        for archive in archives[shift:] + archives[:shift]:
            before = archive.server.stats()["requests"]
            run, _ = timed_crawl(archive.database, archive.server)
            served = archive.server.stats()["requests"] - before
            if run.summary["new"] or run.summary["updated"]:
                raise CrawlFailed(f"a poll of an unchanged site stored something: {run.summary}")
            if served < 1:  # at least the conditional list request: else it never polled
                raise CrawlFailed(f"the poll sent no request:\n{run.log[-3000:]}")
            if "health/status" not in run.log:
                raise CrawlFailed(f"the poll recorded no health verdict:\n{run.log[-3000:]}")
            requests[archive.count].append(served)
            wall[archive.count].append(run.wall)
            cpu[archive.count].append(run.cpu_seconds + run.tree.extra_cpu_seconds)
            elapsed[archive.count].append(run.elapsed)
    health = {a.count: health_query_ms(a.database) for a in archives}
    unindexed = health_without_index(archives[-1].database)
    small, *_, large = counts
    s, n = f"{small:,}", f"{large:,}"

    def per_pair(table: dict[int, list[float]], size: int) -> list[float]:
        return [b / a for a, b in zip(table[small], table[size], strict=True)]

    section = Section(
        "incremental",
        "Incremental poll of an unchanged source: "
        + ", ".join(f"{c:,}" for c in counts)
        + " archived releases",
    )
    figures = [Figure(f"requests, {c:,} archived", requests[c], digits=0) for c in counts]
    figures.append(
        Figure(
            f"requests {n} − requests {s}",
            [b - a for a, b in zip(requests[small], requests[large], strict=True)],
            digits=0,
            target=Target("==", 0, "= 0 (one request each)"),
        )
    )
    figures.append(
        Figure(
            f"poll CPU ratio {n} / {s} (all processes, end to end)",
            per_pair(cpu, large),
            target=Target("<=", 1.10),
        )
    )
    for c in counts[1:-1]:
        figures.append(Figure(f"poll CPU ratio {c:,} / {s}", per_pair(cpu, c)))
    figures.append(Figure(f"poll wall time ratio {n} / {s} (end to end)", per_pair(wall, large)))
    for c in counts:
        figures.append(
            Figure(f"poll CPU, {c:,} archived", [t * 1000 for t in cpu[c]], "ms", digits=0)
        )
    for c in counts:
        figures.append(
            Figure(f"poll wall time, {c:,} archived", [t * 1000 for t in wall[c]], "ms", digits=0)
        )
    for c in counts:
        figures.append(
            Figure(
                f"crawl part (spider open to close), {c:,} archived",
                [t * 1000 for t in elapsed[c]],
                "ms",
                digits=0,
            )
        )
    for c in counts:
        figures.append(
            Figure(
                f"health rhythm query, {c:,} archived",
                [health[c]],
                "ms",
                digits=2,
                note="in process, median of 20",
            )
        )
    figures.append(
        Figure(
            f"health rhythm query, {n} archived, without ix_release_source_published",
            [unindexed],
            "ms",
            digits=2,
            note="the same archive with migration 0006's index dropped (then made again)",
        )
    )
    section.figures = figures  # fmt: skip
    section.notes = [
        f"Archives: the throughput benchmark's last full backfill ({s} releases), the memory "
        f"benchmark's backfill ({counts[1]:,}), and a copy of that one grown to {n} by SQL "
        "(`grow_archive`: its releases and tags repeated under new site ids and URLs, each "
        "copy dated minutes before its original, raw pages not repeated; crawling 100,000 "
        "releases would take most of an hour). A poll is a plain `stnews crawl` (incremental, "
        f"the default) of the unchanged site; {polls} polls per archive, the order rotated "
        "each time; ratios are taken per round.",
        "Requests are counted by the site server. An unchanged site answers the first list "
        "page's conditional request with 304 (`If-None-Match` with the ETag the backfill "
        "saved), so nothing else is fetched; the health check then runs (its verdict is "
        "checked in the log) and the run is recorded.",
        "End to end: from process start to exit, interpreter start-up included; CPU is the "
        "whole process's (`os.wait4`) plus any descendant's. The crawl part alone (Scrapy's "
        "`elapsed_time_seconds`: spider open to close) is context. The health rhythm query "
        "(`storage.health.publishing_rhythm`: the source's 30 newest publication dates) is "
        "timed in the harness process on each archive.",
    ]
    return section


def explain_incremental(config: Config, small: Archive, large: Archive, section: Section) -> None:
    """Profile polls of each archive and compare: which functions grew with the archive.

    One profiled run is as noisy as the polls themselves, so each archive is polled
    ``runs`` times, alternating, and each function's median is compared. Call counts do not
    depend on machine load: a function that reads in proportion to the archive makes the
    whole poll's count grow."""
    runs = config.pick(3, 1)
    spent: dict[int, list[dict[str, float]]] = {small.count: [], large.count: []}
    calls: dict[int, list[int]] = {small.count: [], large.count: []}
    for index in range(runs):
        for archive in (small, large) if index % 2 == 0 else (large, small):
            path = config.tmp / f"poll-{archive.count}-{index}.prof"
            timed_crawl(archive.database, archive.server, profile=path)
            cumulative, total_calls = project_cumulative(path)
            spent[archive.count].append(cumulative)
            calls[archive.count].append(total_calls)

    def median_ms(count: int, label: str) -> float:
        return statistics.median(run.get(label, 0.0) for run in spent[count]) * 1000

    labels = set().union(*spent[large.count])
    growth = {
        label: median_ms(large.count, label) - median_ms(small.count, label) for label in labels
    }
    top = sorted(growth, key=growth.__getitem__, reverse=True)[:10]
    s, n = f"{small.count:,}", f"{large.count:,}"
    table = [f"| function (median cumulative, under cProfile) | {s} | {n} | growth |"]
    table.append("|---|---:|---:|---:|")
    for label in top:
        table.append(
            f"| `{label}` | {median_ms(small.count, label):.1f} ms | "
            f"{median_ms(large.count, label):.1f} ms | {growth[label]:+.1f} ms |"
        )
    call_a, call_b = statistics.median(calls[small.count]), statistics.median(calls[large.count])
    diff = statistics.median(section.figure(f"poll CPU, {n} archived").values) - statistics.median(
        section.figure(f"poll CPU, {s} archived").values
    )
    section.why = (
        "A poll should cost the same whatever the archive: one conditional request and a few "
        f"indexed lookups. Polls at {n} and {s} releases differ by {diff:+.0f} ms of CPU "
        f"(medians; mind the min and max, a spread of the same order). {runs} more poll(s) of each "
        "archive under cProfile compare each function of this project (median cumulative time; "
        "the functions that grew most are below). Function calls per poll, which machine load "
        f"does not change: {call_a:,.0f} at {s}, {call_b:,.0f} at {n} "
        f"({(call_b - call_a) / call_a:+.1%}). Work that grows with the archive shows as more "
        "calls and as a function growing by tens of milliseconds in every run; a few "
        "milliseconds either way is noise.\n\n" + "\n".join(table)
    )
    section.profile = (
        f"cProfile of the last poll of the {n}-release archive, top 15 functions of this "
        "project by cumulative time:\n\n"
        + profile_top(config.tmp / f"poll-{large.count}-{runs - 1}.prof")
    )


# --- the site server ---------------------------------------------------------------------


def site_server(
    config: Config, server: SiteServer, busy: list[float], crawl_pages: float | None = None
) -> Section:
    """``busy``: the server's CPU share per throughput crawl; ``crawl_pages``: the fastest
    crawl's pages per second (no pipelines), to compare with what the server can serve."""
    runs = config.pick(3, 1)
    duration = config.pick(1.0, 0.5)
    pages_per_second(server, clients=16, duration=duration)  # warm-up: every page cached
    rates = [pages_per_second(server, clients=16, duration=duration) for _ in range(runs)]
    section = Section("site", "Synthetic site server (is it the bottleneck?)")
    section.figures = [
        Figure("pages served per second, 16 keep-alive clients", rates, "pages/s", digits=0)
    ]
    if crawl_pages:
        section.figures.append(
            Figure(
                "headroom: server pages/s ÷ fastest crawl's pages/s",
                [rate / crawl_pages for rate in rates],
                "×",
                digits=0,
            )
        )
    if busy:  # measured during the throughput crawls, when they ran
        section.figures.append(
            Figure(
                "server CPU share during the throughput crawls",
                [b * 100 for b in busy],
                "% of one core",
                digits=1,
            )
        )
    if busy:
        section.notes.append(
            "CPU share = the server process's CPU seconds during a crawl / that crawl's time: "
            "how much of one core the server needed to keep up. Far below 100% means the crawl "
            "never waited for it."
        )
    section.notes.append(
        f"Client: asyncio, raw sockets, 16 keep-alive connections (the crawls' concurrency) "
        f"cycling over every page of the {server.count:,}-release site for {duration:g} s per "
        "run, after one warm-up pass; the client runs in the harness process, the server in "
        "its own. Pages are rendered once from string templates cut from `SyntheticSite`'s "
        "own lxml output (checked byte for byte on sample pages at start-up) and kept ready."
    )
    return section

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


def throughput(config: Config, server: SiteServer) -> tuple[Section, Archive, list[float]]:
    """Full pipelines versus none. Returns the section, the database of the last full crawl
    (a backfilled archive of ``server``'s site), and the server's CPU share per crawl."""
    count = server.count
    rounds = config.pick(THROUGHPUT_ROUNDS, 1)
    rates: dict[str, list[float]] = {"full": [], "bare": []}
    cpu_ms: dict[str, list[float]] = {"full": [], "bare": []}
    writer_ms: list[float] = []
    batch_means: list[float] = []
    ratios: list[float] = []
    cpu_ratios: list[float] = []
    all_cpu_ratios: list[float] = []
    rss: list[float] = []
    busy: list[float] = []
    last_full = config.tmp / "missing.db"
    for index in range(rounds):
        # Alternate the order so that a drift in machine load does not favour one variant.
        order = ("full", "bare") if index % 2 == 0 else ("bare", "full")
        pair: dict[str, float] = {}
        cpu_pair: dict[str, float] = {}
        for variant in order:
            database = config.tmp / f"throughput-{variant}-{index}.db"
            before = server.stats()
            run, seconds = timed_crawl(database, server, pipelines=variant == "full")
            after = server.stats()
            scraped = run.summary["new"] if variant == "full" else run.stats["item_scraped_count"]
            if scraped != count:
                raise CrawlFailed(f"{variant} crawl got {scraped} of {count} releases")
            pair[variant] = count / seconds
            rates[variant].append(pair[variant])
            # The crawl process's own CPU: wait4 counts its writer child's too, taken out here.
            cpu_pair[variant] = (run.crawl_cpu_seconds - run.writer_cpu_seconds) / count * 1000
            cpu_ms[variant].append(cpu_pair[variant])
            if variant == "full":
                cpu_pair["all"] = run.crawl_cpu_seconds / count * 1000
                writer_ms.append(run.writer_cpu_seconds / count * 1000)
                if run.stats.get("release_writer/batches"):
                    batch_means.append(
                        run.stats["release_writer/releases"] / run.stats["release_writer/batches"]
                    )
            busy.append((after["cpu_seconds"] - before["cpu_seconds"]) / seconds)
            if variant == "full":
                rss.append(run.max_rss_mb)
                last_full = database
        ratios.append(pair["full"] / pair["bare"])
        cpu_ratios.append(cpu_pair["bare"] / cpu_pair["full"])
        all_cpu_ratios.append(cpu_pair["bare"] / cpu_pair["all"])

    section = Section("throughput", "Crawl throughput, full pipeline vs no item pipelines")
    section.figures = [
        Figure(
            "full pipeline / no pipelines (releases/s ratio)",
            ratios,
            target=Target(">=", 0.85),
            note="paired: the two crawls of one round, back to back",
        ),
        Figure(
            "the same ratio per CPU second of the crawl process",
            cpu_ratios,
            target=Target(">=", 0.85),
            note="load-independent check",
        ),
        Figure(
            "the same ratio per CPU second, the writer child's CPU counted too",
            all_cpu_ratios,
            note="context: all the CPU a crawl costs",
        ),
        Figure("full pipeline", rates["full"], "releases/s", digits=1),
        Figure("no item pipelines", rates["bare"], "releases/s", digits=1),
        Figure("full pipeline, CPU per release", cpu_ms["full"], "ms", digits=1),
        Figure("no item pipelines, CPU per release", cpu_ms["bare"], "ms", digits=1),
        Figure("full pipeline, CPU per release of the writer child", writer_ms, "ms", digits=1),
        Figure("writer: releases per batch (mean)", batch_means, digits=1, note="context"),
        Figure(f"peak RSS, {count:,}-release backfill", rss, "MB", digits=0, note="context"),
    ]
    section.notes = [
        f"Site: {count:,} releases ({count + -(-count // 10):,} pages: list pages of 10 and one "
        "detail page each), served by `bench/server.py`. Each crawl is a fresh backfill into an "
        f"empty SQLite database; {rounds} round(s), each one crawl per variant, alternating "
        "which goes first.",
        "Full pipeline = the project's `ITEM_PIPELINES` (normalize, field coverage, validate, "
        "classify, dedupe, page monitor, store); no pipelines = `-s ITEM_PIPELINES={}`, the "
        "same spider, middlewares and extensions. Settings for a local site in both: "
        "`DOWNLOAD_DELAY=0`, `AUTOTHROTTLE_ENABLED=False`, `CONCURRENT_REQUESTS(_PER_DOMAIN)=16`, "
        "`ROBOTSTXT_OBEY=False`, `ALLOW_PRIVATE_ADDRESSES=127.0.0.1`.",
        "Storing: the project's settings, `STORE_WRITER=process` and `STORE_BATCH_SIZE=50`. "
        "StorePipeline hands each release to a writer child process (`storage/writer.py`, "
        "started with the first release), which writes whatever is waiting (up to 50 "
        "releases; short of 50 it waits up to 50 ms for more) in one transaction with a "
        "savepoint per release, on the other core; the item completes when its transaction "
        "has committed, and the crawl waits for the writer to finish before it closes the run.",
        "releases/s = releases / crawl time; crawl time = first Scrapy log line to process "
        "exit (interpreter start-up and imports excluded, everything else included). CPU per "
        "release: the crawl process's CPU time over the same stretch (its rusage at exit minus "
        "`/proc/<pid>/stat` sampled at the first log line); other work on a shared machine "
        "slows the wall clock but not this, so the CPU ratio checks the wall-clock one. The "
        "rusage from `os.wait4` includes the writer child (the crawl waits for it), so the "
        "writer's own CPU, which it reports at close (Scrapy stat `release_writer/cpu_seconds`, "
        "its start-up included), is subtracted from the crawl process's and shown apart; the "
        "context ratio counts both.",
    ]
    return section, Archive(count, server, last_full), busy


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
    full = section.figure("full pipeline").median
    bare = section.figure("no item pipelines").median
    cpu_full = section.figure("full pipeline, CPU per release").median
    cpu_bare = section.figure("no item pipelines, CPU per release").median
    writer = section.figure("full pipeline, CPU per release of the writer child").median
    added = (1 / full - 1 / bare) * 1000
    # full/bare >= 0.85 means pipelines <= (1/0.85 - 1) of the time without them.
    budget = (1 / 0.85 - 1) * 1000 / bare
    shares = ", ".join(
        f"{name} {used / total:.0%}" for name, used in sorted(rows, key=lambda r: -r[1])[:3]
    )
    text = (
        f"Without item pipelines the crawl takes {1000 / bare:.1f} ms per release "
        f"({cpu_bare:.1f} ms of CPU); the pipelines add {added:.1f} ms ({cpu_full - cpu_bare:.1f}"
        f" ms of the crawl process's CPU). The database writes are no longer among them: the "
        f"writer child spends {writer:.1f} ms of CPU per release on the other core. What "
        "remains runs in the reactor thread, where Scrapy runs item pipelines, so its time "
        "adds to the crawl's instead of overlapping downloads: a ratio of 0.85 leaves the "
        f"pipelines {budget:.1f} ms per release, about {budget / added:.0%} of what they take. "
        f"Shares of the pipelines' time in the profiled crawl: {shares}."
    )
    if rows and max(rows, key=lambda row: row[1])[0] in ("NormalizePipeline", "EnrichPipeline"):
        text += (
            " Normalize parses two dates per release (`parse_date`: strptime for numeric dates, "
            "dateparser for the rest) and cleans the text; Enrich classifies title and body "
            "(its first call builds the gazetteer, once per crawl); StorePipeline only builds the "
            "record and hands it over. The profile below shows those calls."
        )
    return text


# --- backfill memory ---------------------------------------------------------------------


def backfill(config: Config, server: SiteServer) -> tuple[Section, Archive]:
    count = server.count
    database = config.tmp / f"backfill-{count}.db"
    run, seconds = timed_crawl(database, server, timeout=1500)
    if run.summary["new"] != count:
        raise CrawlFailed(f"backfill stored {run.summary['new']} of {count} releases")
    writer_rss = run.stats.get("release_writer/peak_rss_mb", 0.0)
    section = Section("memory", f"Peak memory of a {count:,}-release backfill crawl")
    section.figures = [
        Figure(
            "peak RSS of the crawl process plus that of its writer child",
            [run.max_rss_mb + writer_rss],
            "MB",
            Target("<=", 300),
            0,
        ),
        Figure("peak RSS of the crawl process", [run.max_rss_mb], "MB", digits=0, note="context"),
        Figure("peak RSS of the writer child", [writer_rss], "MB", digits=0, note="context"),
        Figure("crawl time", [seconds], "s", digits=1, note="context"),
        Figure("releases per second", [count / seconds], "releases/s", digits=1, note="context"),
        Figure("pages fetched", [run.summary["pages"]], digits=0, note="context"),
    ]
    section.notes = [
        f"One full-pipeline backfill of a {count:,}-release site ({run.summary['pages']:,} "
        "pages) into an empty SQLite database, run once (a long crawl: its figure is one run). "
        "Peak RSS is the crawl process's own `ru_maxrss` from `os.wait4` (the kernel's "
        "high-water mark of resident memory: no peak can fall between samples). The releases "
        "are stored by a writer child process (`STORE_WRITER=process`), which reports its own "
        "`ru_maxrss` (Scrapy stat `release_writer/peak_rss_mb`); the target figure adds the two "
        "peaks, an upper bound of what the crawl held at once.",
        f"Scrapy's own `memusage/max` (sampled once a minute): "
        f"{run.stats.get('memusage/max', 0) / 1e6:.0f} MB.",
    ]
    return section, Archive(count, server, database)


# --- incremental polls -------------------------------------------------------------------


def incremental(config: Config, small: Archive, large: Archive) -> Section:
    polls = config.pick(POLLS, 2)
    requests: dict[int, list[float]] = {small.count: [], large.count: []}
    times: dict[int, list[float]] = {small.count: [], large.count: []}
    elapsed: dict[int, list[float]] = {small.count: [], large.count: []}
    ratios: list[float] = []
    for index in range(polls):
        pair: dict[int, float] = {}
        order = (small, large) if index % 2 == 0 else (large, small)
        for archive in order:
            before = archive.server.stats()["requests"]
            run, seconds = timed_crawl(archive.database, archive.server)
            served = archive.server.stats()["requests"] - before
            if run.summary["new"] or run.summary["updated"]:
                raise CrawlFailed(f"a poll of an unchanged site stored something: {run.summary}")
            if served < 1:  # at least the conditional list request: else it never polled
                raise CrawlFailed(f"the poll sent no request:\n{run.log[-3000:]}")
            requests[archive.count].append(served)
            times[archive.count].append(seconds)
            elapsed[archive.count].append(run.elapsed)
            pair[archive.count] = seconds
        ratios.append(pair[large.count] / pair[small.count])
    diff = [b - a for a, b in zip(requests[small.count], requests[large.count], strict=True)]
    section = Section(
        "incremental",
        f"Incremental poll of an unchanged source: {small.count:,} vs {large.count:,} "
        "archived releases",
    )
    s, n = f"{small.count:,}", f"{large.count:,}"
    section.figures = [
        Figure(f"requests, {s} archived", requests[small.count], digits=0),
        Figure(f"requests, {n} archived", requests[large.count], digits=0),
        Figure(
            f"requests {n} − requests {s}", diff, digits=0, target=Target("==", 0, "= 0 (equal)")
        ),
        Figure(f"poll time, {s} archived", [t * 1000 for t in times[small.count]], "ms", digits=0),
        Figure(f"poll time, {n} archived", [t * 1000 for t in times[large.count]], "ms", digits=0),
        Figure(f"poll time ratio {n} / {s}", ratios, target=Target("<=", 1.2)),
        Figure(
            f"poll time {n} − poll time {s}",
            [(b - a) * 1000 for a, b in zip(times[small.count], times[large.count], strict=True)],
            "ms",
            digits=0,
        ),
        Figure(
            f"crawl part (spider open to close), {s} archived",
            [t * 1000 for t in elapsed[small.count]],
            "ms",
            digits=0,
        ),
        Figure(
            f"crawl part (spider open to close), {n} archived",
            [t * 1000 for t in elapsed[large.count]],
            "ms",
            digits=0,
        ),
        Figure(
            f"crawl part ratio {n} / {s}",
            [b / a for a, b in zip(elapsed[small.count], elapsed[large.count], strict=True)],
            target=Target("<=", 1.2),
        ),
    ]
    section.notes = [
        "Each archive is a finished full-pipeline backfill of its site (the throughput and "
        "memory benchmarks' databases); a poll is a plain `stnews crawl` (incremental, the "
        f"default) of the unchanged site. {polls} polls per archive, alternating which goes "
        "first; the ratio is taken per pair.",
        "Requests are counted by the site server (every request it answered during the poll). "
        "An unchanged site answers the first list page's conditional request with 304 "
        "(`If-None-Match` with the ETag saved by the backfill), so nothing else is fetched.",
        "Poll time = first Scrapy log line to process exit (start-up excluded, close handlers "
        "and the CLI's summary included): what an operator pays per poll, minus the fixed "
        "interpreter start-up. Most of it is fixed too (crawler set-up, interpreter shutdown), "
        "which flattens the ratio; so the crawl part alone (Scrapy's `elapsed_time_seconds`, "
        "spider open to close: the conditional request, the health check, the run record) is "
        "held to the same target.",
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
    diff = statistics.median(section.figure(f"poll time {n} − poll time {s}").values)
    section.why = (
        "A poll should cost the same whatever the archive: one conditional request and a few "
        f"indexed lookups. Paired polls at {n} and {s} releases differ by {diff:+.0f} ms "
        f"(median; mind the min and max, a spread of the same order). {runs} more poll(s) of each "
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

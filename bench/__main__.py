"""`python -m bench`: run every benchmark and write bench/RESULTS.md.

    .venv/bin/python -m bench                   # everything, about 20 minutes on 2 idle cores
    .venv/bin/python -m bench --quick           # small sizes, one run each: a smoke test
    .venv/bin/python -m bench --only classify --only feed

A full run writes ``bench/RESULTS.md``; a partial or quick one prints its Markdown instead
(or writes ``--output``), so it never replaces the figures of a real run.

Schedule (2 cores): the crawl-throughput comparison (and its profile, when a target is
missed) runs first, alone; then the 20,000-release backfill (one core, in a child process)
runs in the background, alongside the single-process benchmarks (site server, extraction,
feed build), which take the other core. The throughput crawls once ran beside the backfill:
sharing the machine with it raised the full crawl's CPU per release more than the others'
(full ÷ no pipelines per CPU second 0.72 beside it, 0.82 alone, same code, 15 minutes
apart, 2026-12-08). The incremental polls need that backfill, and `stnews classify` (one
worker per core) and the feed-server load need both cores, so they come last. Every section
records the load average it ran under.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bench import crawl as crawls
from bench.common import ROOT, Config, Figure, Section, Target, profile_call
from bench.server import SiteServer

RESULTS = ROOT / "bench" / "RESULTS.md"
ORDER = (
    "throughput",
    "site",
    "memory",
    "incremental",
    "feed",
    "classify",
    "server",
    "extraction",
)
TITLES = {
    "throughput": "crawl throughput, full pipeline vs no item pipelines",
    "site": "the synthetic site server's own capacity",
    "memory": "peak memory of the 20,000-release backfill",
    "incremental": "incremental polls at 1,000, 20,000 and 100,000 archived releases",
    "feed": "feed build from 1,000 and 100,000 stored releases",
    "classify": "`stnews classify` releases per second",
    "server": "feed server responses per second (200 and 304), 50 clients",
    "extraction": "extraction quality and speed, stnews vs trafilatura",
}
LIBRARIES = (
    "scrapy",
    "twisted",
    "sqlalchemy",
    "feedgen",
    "apscheduler",
    "trafilatura",
    "dateparser",
    "lxml",
    "starlette",
    "uvicorn",
)


# --- the benchmarks that are not crawls ----------------------------------------------------


def feed_section(config: Config) -> Section:
    from bench import bench_feed

    sizes = config.pick((1_000, 100_000), (1_000, 3_000))
    runs = config.pick(7, 2)
    result = bench_feed.measure(config.tmp, sizes, runs)
    command_runs = config.pick(5, 1)
    command = bench_feed.measure_command(
        config.tmp, result.urls, command_runs, warm_up=not config.quick
    )
    small, large = (f"{n:,}" for n in sizes)
    section = Section("feed", f"`stnews feed` from {small} and {large} stored releases")
    section.figures = [
        Figure(
            f"stnews feed, end to end, wall time ratio {large} / {small}",
            command.ratios("wall"),
            target=Target("<=", bench_feed.COMMAND_TARGET_RATIO),
        ),
        Figure(
            f"stnews feed, end to end, CPU ratio {large} / {small} (all processes)",
            command.ratios("cpu"),
            target=Target("<=", bench_feed.COMMAND_TARGET_RATIO),
            note="load-independent check",
        ),
        Figure(f"stnews feed, {small} releases, wall", [t * 1000 for t in command.wall[sizes[0]]],
               "ms", digits=0),
        Figure(f"stnews feed, {large} releases, wall", [t * 1000 for t in command.wall[sizes[1]]],
               "ms", digits=0),
        Figure(f"stnews feed, {small} releases, CPU", [t * 1000 for t in command.cpu[sizes[0]]],
               "ms", digits=0),
        Figure(f"stnews feed, {large} releases, CPU", [t * 1000 for t in command.cpu[sizes[1]]],
               "ms", digits=0),
        Figure(
            f"one feed (cooperation.atom) in process, build time ratio {large} / {small}",
            result.ratios,
            note="context: the query and one render",
        ),
        Figure(f"one feed in process, {small} releases", [t * 1000 for t in result.times[sizes[0]]],
               "ms"),
        Figure(f"one feed in process, {large} releases", [t * 1000 for t in result.times[sizes[1]]],
               "ms"),
    ]  # fmt: skip
    plan = "; ".join(result.plan)
    section.notes = [
        f"The real command, `stnews feed` (`python -m crawler.cli --db URL feed --out DIR`), in "
        f"a child process on SQLite databases of synthetic releases (`bench/bench_feed.py`: "
        f"about 30% cooperation, partner and topic tags): every feed, page and list it writes "
        f"({command.files[sizes[0]]:,} files at {small}, {command.files[sizes[1]]:,} at "
        f"{large}), into a fresh directory each run so that every file is written. Timed end "
        "to end, interpreter start-up included (what the scheduler pays after each crawl); "
        "CPU is the process's own and its descendants' (`os.wait4`). One warm-up each, then "
        f"{command_runs} runs each, alternating; the ratio is taken per pair.",
        f"Context: the default cooperation feed alone (query + Atom) in process, {runs} runs "
        f"each after a warm-up. Databases filled in {result.fill_seconds[sizes[0]]:.1f} s and "
        f"{result.fill_seconds[sizes[1]]:.1f} s (not timed). SQLite plan for that query on "
        f"{large}: `{plan}` — "
        + (
            "an index walk with no full scan and no sort."
            if result.plan_ok
            else "**a full scan or a sort: the time grows with the table.**"
        ),
    ]
    if section.missed:
        section.profile = (
            f"cProfile of `stnews feed` on {large} releases (in process), top 15 by cumulative "
            "time:\n\n" + bench_feed.profile_command(config.tmp, result.urls[sizes[-1]])
        )
    return section


def classify_section(config: Config) -> Section:
    from bench import bench_classify

    releases = config.pick(5_000, 1_000)
    runs = config.pick(3, 1)
    typical = 4_500
    devset_wall, devset_cpu = bench_classify.measure_cli(releases, runs)
    long_wall, long_cpu = bench_classify.measure_cli(config.pick(2_000, 500), runs, typical)
    inner = bench_classify.measure(config.pick(3_000, 500), runs)
    inner_long = bench_classify.measure(config.pick(1_000, 200), runs, typical)
    cold, warm = bench_classify.measure_startup(config.pick(5, 2))
    e2e_count = config.pick(2_000, 300)
    e2e_lines = bench_classify.realistic_lines(e2e_count)
    e2e_wall, e2e_cpu = bench_classify.measure_end_to_end(e2e_lines, runs)
    one_wall, one_cpu = bench_classify.measure_end_to_end(e2e_lines, runs, jobs=1)
    help_wall, help_cpu = bench_classify.measure_help(config.pick(5, 2))
    target = Target(">=", 1_000)
    section = Section("classify", "`stnews classify` releases per second")
    dev = f"dev-set releases ({inner.size / 1024:.1f} KB)"
    long = f"typical-length releases ({inner_long.size / 1024:.1f} KB)"
    section.figures = [
        Figure(
            f"stnews classify end to end, {e2e_count:,} realistic releases, wall clock",
            e2e_wall,
            "releases/s",
            target,
            0,
        ),
        Figure(
            f"stnews classify end to end, {e2e_count:,} realistic releases, per CPU second "
            "(all its processes)",
            e2e_cpu,
            "releases/s",
            target,
            0,
            note="load-independent check",
        ),
        Figure(
            f"stnews classify --jobs 1 end to end, {e2e_count:,} realistic releases, wall clock",
            one_wall,
            "releases/s",
            digits=0,
        ),
        Figure(
            f"stnews classify --jobs 1 end to end, {e2e_count:,} realistic releases, per CPU "
            "second",
            one_cpu,
            "releases/s",
            digits=0,
        ),
        Figure("stnews --help, wall clock", help_wall, "s", digits=2),
        Figure("stnews --help, CPU", help_cpu, "s", digits=2),
        Figure(
            f"stnews classify steady state, {dev}, per CPU second",
            devset_cpu,
            "releases/s",
            digits=0,
        ),
        Figure(
            f"stnews classify steady state, {long}, per CPU second",
            long_cpu,
            "releases/s",
            digits=0,
        ),
        Figure(f"stnews classify, {dev}, wall clock", devset_wall, "releases/s", digits=0),
        Figure(f"stnews classify, {long}, wall clock", long_wall, "releases/s", digits=0),
        Figure("classify() in process, dev set, per CPU second", inner.cpu, "releases/s", digits=0),
        Figure(
            "classify() in process, typical length, per CPU second",
            inner_long.cpu,
            "releases/s",
            digits=0,
        ),
        Figure("stnews classify, one line, table cache cold", cold, "s", digits=2),
        Figure("stnews classify, one line, table cache warm", warm, "s", digits=2),
    ]
    section.notes = [
        f"End to end: `stnews classify` on {e2e_count:,} JSON lines of the crawl benchmark's "
        "realistic releases (restated real releases, a third of them cooperation, bodies "
        "around 4.5 KB), from process start to exit: interpreter start-up, imports, the "
        "classifier's tables (from their disk cache, warm after the first run) and every line "
        f"written; {runs} run(s). The command as a user runs it, with its default `--jobs` "
        "(one forked worker per usable CPU, here 2, sharing the tables the parent loaded); "
        "then the same with `--jobs 1` (all in one process, one core). The target is judged "
        "on the wall clock and on the CPU rate (every process of the command, `os.wait4`), "
        "which does not depend on the machine's load. `stnews --help`: process start to exit.",
        "Steady state: `stnews classify --jobs 1` (`python -m crawler.cli classify`, the "
        "console script's module) in a child process reading JSON "
        "lines (title, body, agency_country, language) from a file on stdin; a single-threaded "
        "process, so one core. Timed from its first output line to its last, which leaves out "
        f"interpreter start-up and the first call's pattern compilation ({inner.setup:.2f} s "
        f"in process); {runs} run(s) of {releases:,} dev-set lines "
        "(`tests/classify/devset.jsonl` repeated).",
        f"Typical length: press releases run 3–6 KB, the dev set's bodies are shorter, so "
        f"each body is repeated to at least {typical:,} bytes (`bench_classify.py "
        "--body-bytes`).",
        "Per CPU second: the same stretch in the process's own CPU time (`/proc/<pid>/stat`), "
        "which is what one core delivers. The "
        "wall-clock rate equals it when the process has a core to itself and falls below it "
        "when the process waits for one, as on this shared machine.",
    ]
    if section.missed:
        from crawler.classify.jsonl import classify_lines

        keys = ("title", "body", "agency_country", "language")
        lines = [
            json.dumps(dict(zip(keys, row, strict=True)))
            for row in bench_classify.load(300, typical)
        ]
        section.profile = (
            "cProfile of the command's own loop (`classify_lines`, JSON in and out) over 300 "
            "typical-length releases, top 15 by cumulative time:\n\n"
            + profile_call(lambda: list(classify_lines(lines)))
        )
    return section


def server_section(config: Config) -> Section:
    from bench import bench_server

    duration = config.pick(2.0, 0.5)
    runs = config.pick(3, 1)
    results, feed = bench_server.measure(clients=50, duration=duration, runs=runs)
    section = Section("server", "Feed server responses per second, 50 concurrent clients")
    target = Target(">=", bench_server.TARGET_304_PER_S, "≥ 1,000 (bench_server.py's)")
    section.figures = [
        Figure(name, rates, "responses/s", target if "304" in name else None, 0)
        for name, rates in results.items()
    ]
    section.notes = [
        f"`stnews serve` (uvicorn) in a child process on 127.0.0.1 over a SQLite database of "
        f"{bench_server.RELEASES:,} synthetic releases; 50 concurrent keep-alive HTTP/1.1 "
        f"clients (asyncio, raw sockets, in the harness process) for {duration:g} s per run, "
        f"{runs} run(s) per scenario (`bench/bench_server.py`). {feed}.",
        "The issue sets no target here; the 304 target is bench_server.py's own.",
    ]
    return section


def extraction_section(config: Config) -> Section:
    from bench import extraction

    return extraction.run(config)


# --- the schedule --------------------------------------------------------------------------


def run_all(
    config: Config,
    selected: list[str],
    on_section: Callable[[dict[str, Section]], None] | None = None,
) -> dict[str, Section]:
    """Run the selected benchmarks; ``on_section(sections so far)`` after each one."""
    sections: dict[str, Section] = {}
    want = set(selected)
    small_count = config.pick(config.throughput or crawls.THROUGHPUT_RELEASES, 100)
    large_count = config.pick(config.backfill or crawls.BACKFILL_RELEASES, 300)
    need_small = want & {"throughput", "site", "incremental"}
    need_large = want & {"memory", "incremental"}

    def attempt(key: str, work: Callable[[], Section | None]) -> None:
        started = time.perf_counter()
        load = os.getloadavg()[0]
        print(f"[bench] {key}: {TITLES[key]} ...", file=sys.stderr, flush=True)
        try:
            section = work()
        except Exception:  # one broken benchmark must not lose the others' figures
            section = Section(key, TITLES[key])
            section.notes = ["**FAILED**:\n\n```\n" + traceback.format_exc()[-3000:] + "```"]
        if section is not None:
            section.seconds = time.perf_counter() - started
            section.loads = [load, os.getloadavg()[0]]
            sections[key] = section
            print(f"[bench] {key}: {section.seconds:.0f} s", file=sys.stderr, flush=True)
            if on_section is not None:
                on_section(sections)

    with ExitStack() as stack, ThreadPoolExecutor(max_workers=1) as background:
        small = small_archive = None
        busy: list[float] = []
        backfill: Future[tuple[Section, crawls.Archive]] | None = None
        if need_small:
            small = stack.enter_context(
                SiteServer(small_count, start=crawls.recent_start(small_count), realistic=True)
            )
        if "throughput" in want and small is not None:

            def throughput() -> Section:
                nonlocal small_archive, busy
                section, small_archive, busy = crawls.throughput(config, small)
                return section

            attempt("throughput", throughput)
            if sections["throughput"].missed:
                # Why: one more crawl under cProfile, alone like the crawls it explains.
                explain(
                    sections["throughput"], lambda s: crawls.explain_throughput(config, small, s)
                )
        started = time.perf_counter()
        if need_large:
            # The long backfill then takes one core, alongside the single-process benchmarks
            # (not beside the throughput crawls: it raised their CPU per release unevenly).
            large = stack.enter_context(
                SiteServer(large_count, start=crawls.recent_start(large_count), realistic=True)
            )
            print(
                f"[bench] memory: {large_count:,}-release backfill, in the background",
                file=sys.stderr,
            )
            backfill = background.submit(crawls.backfill, config, large)
        if "site" in want and small is not None:
            bare = sections.get("throughput")
            # Pages per second of the crawl without pipelines: detail pages plus list pages.
            per_release = (small_count + -(-small_count // 10)) / small_count
            fastest = None
            if bare is not None and bare.figures:
                fastest = bare.figure("no item pipelines").median * per_release
            attempt("site", lambda: crawls.site_server(config, small, busy, fastest))

        for key, work in (
            ("extraction", lambda: extraction_section(config)),
            ("feed", lambda: feed_section(config)),
        ):
            if key in want:
                attempt(key, work)

        large_archive = None
        if backfill is not None:

            def memory() -> Section:
                nonlocal large_archive
                section, large_archive = backfill.result()
                return section

            attempt("memory", memory)
            if "memory" in sections:
                sections["memory"].seconds = time.perf_counter() - started
        if "incremental" in want and small is not None and large_archive is not None:

            def incremental() -> Section:
                nonlocal small_archive
                if small_archive is None:  # throughput not run: backfill the small site now
                    _, small_archive = crawls.backfill(config, small)
                huge_count = config.pick(crawls.HUGE_ARCHIVE, 1_000)
                huge = crawls.grow_archive(
                    large_archive, config.tmp / f"grown-{huge_count}.db", huge_count
                )
                archives[:] = [small_archive, large_archive, huge]
                return crawls.incremental(config, archives)

            archives: list[crawls.Archive] = []
            attempt("incremental", incremental)
            both = (archives[0], archives[-1]) if archives else (None, None)
            if "incremental" in sections and sections["incremental"].missed and all(both):
                explain(
                    sections["incremental"],
                    lambda s: crawls.explain_incremental(config, *both, s),  # type: ignore[arg-type]
                )
        if "memory" not in want:
            sections.pop("memory", None)
        if "classify" in want:  # after the backfill: `stnews classify` uses both cores
            attempt("classify", lambda: classify_section(config))
        if "server" in want:
            attempt("server", lambda: server_section(config))
    return sections


def explain(section: Section, work: Callable[[Section], None]) -> None:
    """Add a profile to a section whose target was missed; a failure only adds a note."""
    started = time.perf_counter()
    print(f"[bench] {section.key}: target missed, profiling ...", file=sys.stderr, flush=True)
    try:
        work(section)
    except Exception:
        section.notes.append("Profiling failed:\n\n```\n" + traceback.format_exc()[-2000:] + "```")
    section.seconds += time.perf_counter() - started


# --- RESULTS.md ----------------------------------------------------------------------------


def machine() -> list[str]:
    cpus = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    model = ""
    memory = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 2**20:.1f} GiB"
                break
    except OSError:
        pass
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [
        f"- CPU: {cpus} logical cores ({usable} usable by this process)"
        + (f", {model}" if model else ""),
        f"- Memory: {memory or 'unknown'}",
        f"- OS: {platform.platform()}",
        f"- Python: {platform.python_implementation()} {platform.python_version()}",
        f"- Libraries: {', '.join(versions)}",
    ]


def render(
    sections: dict[str, Section],
    config: Config,
    started: datetime,
    seconds: float,
    loads: list[float],
    cpu: float,
) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python -m bench{' --quick' if config.quick else ''}"
        + (f" --throughput {config.throughput}" if config.throughput else "")
        + (f" --backfill {config.backfill}" if config.backfill else "")
        + (f" --rounds {config.rounds}" if config.rounds else "")
        + (f" --polls {config.polls}" if config.polls else "")
        + "` on "
        + f"{started:%Y-%m-%d %H:%M} UTC; the whole run took {seconds / 60:.1f} min "
        f"({cpu / 60:.1f} min of CPU in the harness and its child processes). "
        "Each figure is the median of its runs, with the minimum and maximum; ratios are "
        "taken between runs made back to back in the same harness run and are the headline, "
        "absolute times are context. How each figure is measured: under its table and in "
        "`bench/README.md`.",
        "",
        "## Machine",
        "",
        *machine(),
        f"- Load average (1 min) at start and end: {loads[0]:.2f}, {loads[1]:.2f} "
        "(a shared machine: other work was running; see each section's method notes)",
        "",
        "## Targets",
        "",
        "| benchmark | figure | median | target | |",
        "|---|---|---:|---|---|",
    ]
    for key in ORDER:
        section = sections.get(key)
        if section is None:
            continue
        if not section.figures:
            lines.append(f"| {section.title} | – | – | – | **FAILED** (see below) |")
        for figure in section.figures:
            if figure.target is None:
                continue
            verdict = "met" if figure.met else "**MISSED**"
            lines.append(
                f"| {section.title} | {figure.name} | {figure.show(figure.median)} "
                f"| {figure.target} | {verdict} |"
            )
    for number, key in enumerate((k for k in ORDER if k in sections), start=1):
        section = sections[key]
        lines += ["", f"## {number}. {section.title}", ""]
        if section.figures:
            lines += [
                "| figure | median | min | max | runs | target | |",
                "|---|---:|---:|---:|---:|---|---|",
            ]
            for f in section.figures:
                verdict = "" if f.met is None else ("met" if f.met else "**MISSED**")
                target = str(f.target) if f.target else (f.note or "")
                lines.append(
                    f"| {f.name} | {f.show(f.median)} | {f.show(min(f.values))} | "
                    f"{f.show(max(f.values))} | {len(f.values)} | {target} | {verdict} |"
                )
            lines.append("")
        for note in section.notes:
            lines += [note, ""]
        for extra in section.extra:
            lines += [extra, ""]
        if section.missed:
            names = ", ".join(f"“{f.name}”" for f in section.missed)
            lines += [f"### Target missed: {names}", ""]
            lines += [section.why or why(section), ""]
            if section.profile:
                head, _, table = section.profile.partition("\n\n")
                lines += [head, "", "```", table, "```", ""]
        loads = ""
        if section.loads:
            loads = (
                f" Load average (1 min) at its start and end: {section.loads[0]:.2f}, "
                f"{section.loads[-1]:.2f} (2 cores)."
            )
        lines += [f"_Section time: {section.seconds:.0f} s; machine as above.{loads}_"]
    return "\n".join(lines).rstrip() + "\n"


def why(section: Section) -> str:
    """The plain-language reason, from the figures the section measured."""
    if section.key == "throughput":
        return crawls.throughput_why(section, [], 0.0)
    if section.key == "classify":
        inner = section.figure("classify() in process, typical length, per CPU second").median
        missed = ", ".join(f"{f.name}: {f.show(f.median)}" for f in section.missed)
        warm = section.figure("stnews classify, one line, table cache warm").median
        cpu = next(f for f in section.figures if f.name.endswith("per CPU second")).median
        return (
            f"Missed: {missed}. End to end the command needs {warm:.2f} s (wall) to answer "
            f"one line with a warm table cache, start-up included, and then classifies "
            f"{inner:,.0f} typical-length releases per CPU second in process; per CPU second "
            f"of the whole process, start-up included, the end-to-end rate is {cpu:,.0f}/s. "
            "Where the wall-clock rate falls below the CPU rate, the process waited for a core "
            "(see the load average). The profile shows the command's own loop."
        )
    if section.key == "memory":
        peak = section.figures[0].median
        return (
            f"The crawl process peaked at {peak:,.0f} MB. Compare the peak of a 1,000-release "
            "backfill in the throughput section: the difference is what the crawl keeps per "
            "release (Scrapy's request queue and duplicate filter, the deduplicate pipeline's "
            "keys, the validators saved at the end)."
        )
    if section.key == "incremental":
        return (
            "A poll should cost the same whatever the archive: one conditional request, a few "
            "indexed lookups. The profile of a poll of the larger archive shows what grew."
        )
    return "The profile below shows where the time goes."


# --- main ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one run each")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these (repeatable, or comma-separated): {', '.join(ORDER)}",
    )
    parser.add_argument("--output", type=Path, help="write the Markdown here")
    parser.add_argument(
        "--throughput",
        type=int,
        metavar="N",
        help=f"releases of the throughput site (default {crawls.THROUGHPUT_RELEASES:,})",
    )
    parser.add_argument("--rounds", type=int, metavar="N", help="throughput rounds (default 3)")
    parser.add_argument("--polls", type=int, metavar="N", help="polls per archive (default 9)")
    parser.add_argument(
        "--backfill",
        type=int,
        metavar="N",
        help=f"releases of the memory benchmark's backfill (default {crawls.BACKFILL_RELEASES:,}"
        "; a smaller one misses the issue's figure, and RESULTS.md says so)",
    )
    args = parser.parse_args(argv)
    selected = [name for text in args.only for name in text.split(",") if name]
    unknown = sorted(set(selected) - set(ORDER))
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    partial = bool(selected) or args.quick
    output = args.output or (None if partial else RESULTS)

    started_at = datetime.now(UTC)
    started = time.perf_counter()
    loads = [os.getloadavg()[0]]
    tmp = Path(tempfile.mkdtemp(prefix="stnews-bench-"))
    config = Config(
        quick=args.quick,
        tmp=tmp,
        backfill=args.backfill,
        throughput=args.throughput,
        rounds=args.rounds,
        polls=args.polls,
    )

    def rendered(sections: dict[str, Section], done: bool) -> str:
        own, children = (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
        cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
        now_loads = [*loads[:1], os.getloadavg()[0]]
        text = render(sections, config, started_at, time.perf_counter() - started, now_loads, cpu)
        if not done:
            missing = [key for key in (selected or ORDER) if key not in sections]
            text = text.replace(
                "## Machine",
                f"**Run in progress** (written after each section): not yet measured: "
                f"{', '.join(missing) or 'none'}.\n\n## Machine",
                1,
            )
        return text

    def progress(sections: dict[str, Section]) -> None:
        # A long run on a busy machine may be cut short: keep what is measured so far. Never
        # at the cost of the run itself.
        if output is not None:
            try:
                output.write_text(rendered(sections, done=False), encoding="utf-8")
            except Exception:
                traceback.print_exc()

    try:
        sections = run_all(config, selected or list(ORDER), progress)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    loads.append(os.getloadavg()[0])
    seconds = time.perf_counter() - started
    text = rendered(sections, done=True)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        print(f"[bench] wrote {output} ({seconds / 60:.1f} min)", file=sys.stderr)
    failed = [s.key for s in sections.values() if not s.figures]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

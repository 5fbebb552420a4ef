"""What every benchmark shares: figures and targets, child-process crawls, profiles.

A benchmark module exposes ``run(config) -> Section``; the harness (``bench/__main__.py``)
renders the sections into ``bench/RESULTS.md``.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


# --- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """``median <op> value``: ``>=`` for rates, ``<=`` for costs, ``==`` for counts."""

    op: str
    value: float
    text: str = ""

    def met(self, median: float) -> bool:
        if self.op == ">=":
            return median >= self.value
        if self.op == "<=":
            return median <= self.value
        return median == self.value

    def __str__(self) -> str:
        symbol = {">=": "≥", "<=": "≤"}.get(self.op, "=")
        return self.text or f"{symbol} {self.value:,.{0 if self.value >= 100 else 2}f}"


@dataclass
class Figure:
    name: str
    values: list[float]
    unit: str = ""
    target: Target | None = None
    #: Decimal places shown; the harness never rounds the values it keeps.
    digits: int = 2
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def met(self) -> bool | None:
        return None if self.target is None or not self.values else self.target.met(self.median)

    def show(self, value: float) -> str:
        if value != value:  # NaN: no value
            return "–"
        text = f"{value:,.{self.digits}f}"
        return f"{text} {self.unit}".strip()


@dataclass
class Section:
    key: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    #: How it was measured, one Markdown paragraph or list item each.
    notes: list[str] = field(default_factory=list)
    #: Extra Markdown (tables) shown after the figures.
    extra: list[str] = field(default_factory=list)
    #: Why a target was missed: a Markdown paragraph (or table) from its explanation, and
    #: profile text, shown in a code block.
    why: str | None = None
    profile: str | None = None
    seconds: float = 0.0
    #: Load average (1 min) when the section started and ended: each figure's conditions.
    loads: list[float] = field(default_factory=list)

    def figure(self, name: str) -> Figure:
        return next(f for f in self.figures if f.name == name)

    @property
    def missed(self) -> list[Figure]:
        return [f for f in self.figures if f.met is False]


@dataclass(frozen=True)
class Config:
    quick: bool = False
    #: Scratch directory for databases and profiles (deleted by the harness).
    tmp: Path = Path(tempfile.gettempdir())
    #: Releases of the memory benchmark's backfill, when not the default.
    backfill: int | None = None
    #: Releases of the throughput site, when not the default.
    throughput: int | None = None
    #: Rounds of the throughput comparison and polls per archive, when not the defaults.
    rounds: int | None = None
    polls: int | None = None

    def pick(self, full: Any, quick: Any) -> Any:
        return quick if self.quick else full


# --- crawls in child processes -------------------------------------------------------------

#: The politeness settings a real site needs and a local server does not; nothing else changes.
FAST_LOCAL = {
    "DOWNLOAD_DELAY": "0",
    "AUTOTHROTTLE_ENABLED": "False",
    "CONCURRENT_REQUESTS": "16",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "16",
    "ROBOTSTXT_OBEY": "False",
    # The benchmark site is a local server: allow loopback explicitly (docs/security.md).
    "ALLOW_PRIVATE_ADDRESSES": "127.0.0.1",
    # INFO so that Scrapy's closing stats dump (elapsed_time_seconds, counts) is in the log.
    "LOG_LEVEL": "INFO",
}
def crawl_quietly(database: Path, start_url: str) -> None:
    """`stnews crawl nstc` of the benchmark site in this process, into ``database``, with
    warnings only and its JSON summary discarded: for children that patch a step of the
    crawl first and keep what passes through it (bench_batches, bench_pipes)."""
    from crawler.cli import main

    argv = ["--db", f"sqlite:///{database}", "crawl", "nstc", "--json"]
    argv += ["-a", f"start_url={start_url}"]
    for name, value in {**FAST_LOCAL, "LOG_LEVEL": "WARNING"}.items():
        argv += ["-s", f"{name}={value}"]
    saved = sys.stdout
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (the crawl's JSON summary)
    try:
        main(argv)
    finally:
        sys.stdout.close()
        sys.stdout = saved


_STAT = re.compile(r"'([^']+)': (-?\d+(?:\.\d+)?(?:e-?\d+)?)[,}]")


@dataclass
class CrawlRun:
    summary: dict[str, Any]
    #: Numeric Scrapy stats from the closing dump.
    stats: dict[str, float]
    #: Process wall time, start-up and shutdown included.
    wall: float
    #: Peak resident set of the crawl process (wait4 rusage), in MB (10^6 bytes, as the target).
    max_rss_mb: float
    cpu_seconds: float
    #: CPU seconds spent before the first log line (start-up), when it could be sampled.
    startup_cpu_seconds: float | None = None
    #: Scrapy's log (stderr).
    log: str = ""
    #: When the process was seen to exit (epoch seconds, within 5 ms).
    exited_at: float = 0.0
    #: The crawl's other processes (none by default).
    tree: ProcessTree = field(default_factory=lambda: ProcessTree())

    @property
    def all_cpu_seconds(self) -> float:
        """CPU of every process of the crawl from its first log line to exit: the crawl
        process and the descendants it reaped (``wait4``), plus those reaped here."""
        return self.crawl_cpu_seconds + self.tree.extra_cpu_seconds

    @property
    def all_peak_mb(self) -> float:
        """The crawl process's peak RSS plus every descendant's sampled ``VmHWM``: an upper
        bound of what it held at once."""
        return self.max_rss_mb + self.tree.peak_mb

    @property
    def crawl_cpu_seconds(self) -> float:
        """CPU seconds from the first log line to exit (the whole process's if unsampled).

        Children the crawl waited for are in ``os.wait4``'s figure."""
        return self.cpu_seconds - (self.startup_cpu_seconds or 0.0)

    @property
    def elapsed(self) -> float:
        """Spider open to spider close (Scrapy's ``elapsed_time_seconds``): no start-up."""
        return self.stats["elapsed_time_seconds"]


class CrawlFailed(RuntimeError):
    pass


def crawl(
    database_url: str,
    start_url: str,
    *,
    pipelines: bool = True,
    full: bool = False,
    profile: Path | None = None,
    timeout: float = 600,
    settings: dict[str, str] | None = None,
    check: bool = True,
    bare: bool = False,
) -> CrawlRun:
    """Run ``stnews crawl nstc --json`` in a child process against ``start_url``.

    ``check=False`` accepts a crawl that did not finish (a non-zero exit with its summary),
    such as one stopped early by ``CLOSESPIDER_ITEMCOUNT``. ``bare``: the same spider under
    Scrapy's defaults (``bench/bare.py``), none of the project's components."""
    command = [PYTHON]
    if profile is not None:
        command += ["-m", "cProfile", "-o", str(profile)]
    if bare:
        command += ["-m", "bench.bare", "nstc", start_url]
        settings = {k: v for k, v in (settings or {}).items() if k in ("LOG_FORMAT",)}
    else:
        command += ["-m", "crawler.cli", "--db", database_url, "crawl", "nstc", "--json"]
        command += ["-a", f"start_url={start_url}"]
    local = {} if bare else FAST_LOCAL
    for name, value in {**local, **(settings or {})}.items():
        command += ["-s", f"{name}={value}"]
    if not pipelines:
        command += ["-s", "ITEM_PIPELINES={}"]
    if full:
        command.append("--full")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_LOG_LEVEL": "INFO"}
    env.pop("DATABASE_URL", None)
    startup_cpu: list[float] = []
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:

        def note_startup(pid: int) -> None:
            # The first log line ends start-up: from here on the CPU is the crawl's.
            if not startup_cpu and b"[scrapy" in os.pread(err.fileno(), 8192, 0):
                cpu = process_cpu_seconds(pid)
                if cpu is not None:
                    startup_cpu.append(cpu)

        tree = ProcessTree()
        code, wall, usage = run_measured(
            command,
            stdout=out,
            stderr=err,
            timeout=timeout,
            env=env,
            on_poll=note_startup,
            tree=tree,
        )
        exited_at = time.time()
        out.seek(0)
        err.seek(0)
        stdout, log = out.read().decode(), err.read().decode(errors="replace")
    if code != 0 and (check or not (stdout.strip() or bare)):
        raise CrawlFailed(f"crawl exited {code}:\n{stdout[-2000:]}\n{log[-4000:]}")
    if bare:
        summary: dict[str, Any] = {}
    else:
        (summary,) = (row for row in json.loads(stdout) if row["source"] == "nstc")
    dump = log[log.rfind("Dumping Scrapy stats:") :]
    stats = {name: float(value) for name, value in _STAT.findall(dump)}
    if "elapsed_time_seconds" not in stats:
        raise CrawlFailed(f"no stats dump in the crawl log:\n{log[-4000:]}")
    return CrawlRun(
        summary=summary,
        stats=stats,
        wall=wall,
        max_rss_mb=usage.ru_maxrss * 1024 / 1e6,  # Linux: KiB
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        startup_cpu_seconds=startup_cpu[0] if startup_cpu else None,
        log=log,
        exited_at=exited_at,
        tree=tree,
    )


@dataclass
class ProcessTree:
    """What a measured child's own descendants used (``stnews classify``'s workers, anything
    a crawl starts), so that no process of a command goes uncounted.

    ``extra_cpu_seconds``: CPU of descendants the child did *not* reap itself (they are
    orphaned at its exit, re-parented to this process, which is made a child subreaper, and
    reaped here with ``os.wait4``: their exact rusage). A descendant the child reaped itself
    (a worker joined before exit) is already in the child's own ``wait4`` rusage.
    ``peak_kib``: each descendant's ``VmHWM`` (its peak resident set since exec), the last
    value sampled every 5 ms: a high-water mark, so a later sample never misses an earlier
    peak of the same program."""

    extra_cpu_seconds: float = 0.0
    peak_kib: dict[int, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    reaped_here: list[int] = field(default_factory=list)

    @property
    def peak_mb(self) -> float:
        return sum(self.peak_kib.values()) * 1024 / 1e6


def become_subreaper() -> bool:
    """Orphaned grandchildren are re-parented to this process (Linux ``prctl``), so it can
    reap them and read their rusage. Hand-written: no library wraps this one call.

    Called by ``run_measured`` when it measures a process tree, never on import: a process
    that only imports this module (a test worker) must not collect other programs' orphans,
    which it would never reap."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _descendants(pid: int) -> list[int]:
    """Every descendant of ``pid`` now (``/proc/<pid>/task/*/children``; psutil's
    ``children(recursive=True)`` reads the same files, and is not a dependency here)."""
    found: list[int] = []
    stack = [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                text = Path(f"/proc/{parent}/task/{task}/children").read_text()
            except OSError:
                continue
            for child in map(int, text.split()):
                if child not in found:
                    found.append(child)
                    stack.append(child)
    return found


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _sample_tree(pid: int, tree: ProcessTree) -> None:
    own = _command(pid)
    for child in _descendants(pid):
        try:
            status = Path(f"/proc/{child}/status").read_text()
        except OSError:
            continue
        command = _command(child)
        if command and command == own:
            # Forked and not yet exec'd (the crawl's own command line): its resident set is
            # the crawl's pages, shared. A short-lived one (``uname -p``, run by
            # ``platform.processor()``) could exit before a sample after its exec and leave
            # the crawl's size as its peak: 127 MB counted twice in a measured run.
            tree.peak_kib.setdefault(child, 0)
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                # The last sample, not the largest: a sample taken between fork and exec
                # reads the parent's high-water mark; after exec it restarts, then only grows.
                tree.peak_kib[child] = int(line.split()[1])
        # Every time: the first samples may come before its exec (the parent's name).
        name = command.replace(b"\0", b" ").decode(errors="replace").strip()[:160]
        if name:  # a zombie's is empty: keep the last one seen
            tree.names[child] = name


def _reap_orphans(tree: ProcessTree, timeout: float = 5.0) -> None:
    """Reap the descendants re-parented here; add their CPU (exact, from ``wait4``)."""
    deadline = time.perf_counter() + timeout
    for pid in list(tree.peak_kib):
        while True:
            try:
                done, _, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:  # reaped by its own parent: counted in that one's rusage
                break
            if done:
                tree.extra_cpu_seconds += usage.ru_utime + usage.ru_stime
                tree.reaped_here.append(pid)
                break
            if time.perf_counter() > deadline:  # still running: leave it, say nothing false
                break
            time.sleep(0.005)


def run_measured(
    command: list[str],
    *,
    timeout: float,
    stdin: Any = None,
    stdout: Any = None,
    stderr: Any = None,
    env: dict[str, str] | None = None,
    on_poll: Callable[[int], None] | None = None,
    tree: ProcessTree | None = None,
) -> tuple[int, float, Any]:
    """Run a child; return (exit code, wall seconds, its own rusage).

    ``os.wait4`` gives the rusage of this child alone (peak RSS, CPU) plus that of the
    descendants it reaped, unlike ``RUSAGE_CHILDREN``, which keeps the maximum over every
    child ever waited for. ``tree`` (when given) is filled with what the child's other
    descendants used (see ``ProcessTree``). ``on_poll(pid)`` is called every 5 ms while the
    child runs.
    """
    if tree is not None:
        become_subreaper()
    started = time.perf_counter()
    child = subprocess.Popen(command, stdin=stdin, stdout=stdout, stderr=stderr, cwd=ROOT, env=env)
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            child.send_signal(signal.SIGKILL)
            os.wait4(child.pid, 0)
            child.returncode = -9
            raise CrawlFailed(f"timed out after {timeout:.0f} s: {' '.join(command[:6])} ...")
        if on_poll is not None:
            on_poll(child.pid)
        if tree is not None:
            _sample_tree(child.pid, tree)
        time.sleep(0.005)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it is reaped
    if tree is not None:
        _reap_orphans(tree)
    return child.returncode, wall, usage


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a running process so far (Linux ``/proc``), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- profiles --------------------------------------------------------------------------------

#: Functions of this project, as opposed to the frameworks it runs on (module bodies, which
#: are import time, left out).
PROJECT_CODE = re.compile(
    r"^(?!.*\(<module>\))" + re.escape(str(ROOT)) + r"/(crawler|storage|spiders)/(\w+/)?\w+\.py:"
)


def profile_top(path: Path, limit: int = 15) -> str:
    """cProfile top ``limit`` functions of this project by cumulative time, as text: the
    reactor and event-loop frames above them say nothing about where the time goes."""
    stream = io.StringIO()
    stats = pstats.Stats(str(path), stream=stream)
    stats.sort_stats("cumulative").print_stats(PROJECT_CODE.pattern, limit)
    return _trim_profile(stream.getvalue())


def profile_call(function: Callable[[], Any], limit: int = 15) -> str:
    """Profile one call in this process: top ``limit`` by cumulative time."""
    profiler = cProfile.Profile()
    profiler.runcall(function)
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(limit)
    return _trim_profile(stream.getvalue())


def cumulative_seconds(path: Path) -> Callable[[Callable[..., Any]], float]:
    """A lookup of the cumulative seconds a profiled function took, by the function itself
    (its code's file, first line and name are cProfile's key); 0 for one never called."""
    stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
    by_code = {key: row[3] for key, row in stats.items()}

    def seconds(function: Callable[..., Any]) -> float:
        code = function.__code__
        return by_code.get((code.co_filename, code.co_firstlineno, code.co_name), 0.0)

    return seconds


def project_cumulative(path: Path) -> tuple[dict[str, float], int]:
    """Cumulative seconds per function of this project (module bodies left out), keyed
    ``path:line(name)`` relative to the repository, and the profile's total call count."""
    profile = pstats.Stats(str(path))
    found: dict[str, float] = {}
    for (filename, line, name), row in profile.stats.items():  # type: ignore[attr-defined]
        label = f"{filename}:{line}({name})"
        if PROJECT_CODE.search(label):
            found[label.replace(str(ROOT) + "/", "")] = row[3]
    return found, profile.total_calls  # type: ignore[attr-defined]


_SITE_PACKAGES = re.compile(r"\S*/site-packages/|\S*/lib/python3\.\d+/")


def _trim_profile(text: str) -> str:
    """pstats output without its preamble (file name, date), with short paths."""
    lines = [
        _SITE_PACKAGES.sub("", line.replace(str(ROOT) + "/", "")).rstrip()
        for line in text.splitlines()
    ]
    start = next((i for i, line in enumerate(lines) if "function calls" in line), 0)
    return "\n".join(
        line for line in lines[start:] if line.strip() and "due to restriction" not in line
    )

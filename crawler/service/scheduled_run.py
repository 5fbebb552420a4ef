"""`stnews schedule`, one scheduled run: crawl (or enqueue) a source, then rebuild the feeds.
The daemon that fires the runs is ``crawler.service.daemon``.

- One APScheduler 3 job per source (job id = source name) in a `SQLAlchemyJobStore` in the
  application database, so a restart resumes the persisted schedule instead of starting over.
- Each run is a crawl in a child process (`python -m crawler.cli crawl SOURCE --json`): Twisted's
  reactor cannot be restarted inside one process. The child records its own `crawl_runs` row;
  a child that overruns the time limit is stopped (SIGTERM, then SIGKILL) and its run recorded
  as "timeout"; a child that died without a row gets one.
- A leader lease row (`storage.scheduling`) makes one scheduler process per database run jobs;
  others stand by and take over when the lease lapses. A per-source crawl lock additionally
  keeps two runs of one source apart whoever starts them.
- SIGTERM / SIGINT: no new runs, running crawls stopped gracefully and recorded, lease released.
- Enqueue mode (`stnews schedule --enqueue`, `SCHEDULE_ENQUEUE`): a run crawls nothing here; it
  puts the source's start URLs on the shared Redis queue with `crawler.service.workers.enqueue()`,
  as `stnews enqueue` does, for the `stnews worker` processes, unless the source's last round
  is still queued there. The workers store the releases, so a periodic job rebuilds the feed
  files whenever the database changed since the last build.

Jobs are stored pickled, so the job function is a module-level function taking plain values
(the source and a registry key); the process's runtime configuration is looked up in a
module-level registry filled at startup, never pickled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from crawler.config import default, setting
from crawler.feeds.write import (
    DEFAULT_BASE_URL,
    DEFAULT_LIMIT,
    DEFAULT_OUT_DIR,
    OPML_NAME,
    write_feeds,
)
from storage.db import Database
from storage.models import utcnow
from storage.queries import feed_data_version
from storage.runs import RUN_COUNTERS, finish_run, start_run
from storage.scheduling import (
    Holder,
    acquire_crawl_lock,
    crawl_lock,
    release_crawl_lock,
    set_lock_child,
    settle_child_run,
)

if TYPE_CHECKING:  # the distributed extra (redis, scrapy-redis) loads only in enqueue mode
    from crawler.service.workers import Enqueued

logger = logging.getLogger(__name__)

JOBSTORE_TABLE = "apscheduler_jobs"
TRIGGER = "schedule"
#: Enqueue mode: the `crawl_runs` rows of enqueues have this trigger, and status ENQUEUED when
#: the start URLs went on Redis ("failed" when they could not). Not "finished": that status
#: means a crawl that ran (feed sources count those as their polls).
ENQUEUE_TRIGGER = "enqueue"
ENQUEUED = "enqueued"
#: Outcomes of a run that are no failure.
OK_STATUSES = ("finished", "skipped", ENQUEUED)
#: Enqueue mode: the job that rebuilds the feeds when the database changed. Kept in memory,
#: not in the persisted job store, whose jobs are one per source.
FEED_JOB = ":feeds"
DEFAULT_STORE = "default"
LOCAL_STORE = "local"


# After SIGTERM a crawl gets this long to close its spider and record its run: Scrapy lets
# in-flight downloads finish, so a live crawl may need a good part of DOWNLOAD_TIMEOUT.
KILL_GRACE = 20.0
POLL_SECONDS = 0.2


# --- configuration -------------------------------------------------------------------------


@dataclass(frozen=True)
class ScheduleConfig:
    intervals: Mapping[str, float]  # source -> seconds between runs
    # The defaults are the settings' (crawler/settings.py).
    jitter: float = default("SCHEDULE_JITTER")
    misfire_grace: float = default("SCHEDULE_MISFIRE_GRACE")
    lease_seconds: float = default("SCHEDULE_LEASE_SECONDS")
    #: Enqueue mode: seconds between looks for database changes to rebuild the feeds from.
    feed_check: float = default("SCHEDULE_FEED_CHECK")


def schedule_config(
    settings: Any,
    sources: Iterable[str],
    *,
    interval: float | None = None,
    jitter: float | None = None,
    lease_seconds: float | None = None,
    feed_check: float | None = None,
) -> ScheduleConfig:
    """The schedule: each source's `interval` from the sources file (SCHEDULE_DEFAULT_INTERVAL
    for a source the file does not declare); `interval` (all sources) and the rest override."""
    from crawler.sources import load_sources

    fallback = setting(settings, "SCHEDULE_DEFAULT_INTERVAL")
    declared = {source.name: source.interval for source in load_sources()}
    if jitter is None:
        jitter = setting(settings, "SCHEDULE_JITTER")
    if lease_seconds is None:
        lease_seconds = setting(settings, "SCHEDULE_LEASE_SECONDS")
    if feed_check is None:
        feed_check = setting(settings, "SCHEDULE_FEED_CHECK")
    return ScheduleConfig(
        intervals={
            source: float(interval if interval is not None else declared.get(source, fallback))
            for source in sources
        },
        jitter=jitter,
        misfire_grace=setting(settings, "SCHEDULE_MISFIRE_GRACE"),
        lease_seconds=lease_seconds,
        feed_check=feed_check,
    )


# --- runtime -------------------------------------------------------------------------------

#: Builds the child command line for one run of a source.
CommandBuilder = Callable[[str, "Runtime"], Sequence[str]]


def crawl_command(source: str, runtime: Runtime) -> list[str]:
    """`stnews crawl SOURCE --json`, as a child. The database URL goes in the environment,
    not the command line, so that a password in it is not shown by `ps`."""
    command = [sys.executable, "-m", "crawler.cli", "crawl", source, "--json"]
    command += ["-s", f"STNEWS_TRIGGER={runtime.trigger}"]
    if runtime.replay_dir is not None:
        command += ["--replay", str(runtime.replay_dir)]
    return command


@dataclass
class EnqueueTarget:
    """Enqueue mode: the Redis the `stnews worker` processes take their work from."""

    redis_url: str
    prefix: str
    #: The Scrapy settings the sources' spiders (their start URLs) are loaded with.
    settings: Any
    _client: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def push(self, source: str) -> Enqueued:
        """`stnews enqueue SOURCE`, except that nothing is pushed while the source's last
        round is still queued (see `enqueue_source`). Raises what Redis raises."""
        from crawler.service.workers import enqueue

        return enqueue(
            source, prefix=self.prefix, settings=self.settings, client=self.client(), if_idle=True
        )

    def client(self) -> Any:
        # One client (a connection pool) for every job thread; after an outage it reconnects.
        with self._lock:
            if self._client is None:
                from crawler.service.workers import connect

                self._client = connect(self.redis_url)
            return self._client

    def describe(self) -> str:
        from crawler.service.workers import display_url

        return f"{display_url(self.redis_url)} (prefix {self.prefix})"

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()


@dataclass
class Runtime:
    """What a run needs beyond its source; one per scheduler process, never pickled."""

    database_url: str
    feeds_dir: Path = DEFAULT_OUT_DIR
    replay_dir: Path | None = None
    base_url: str = DEFAULT_BASE_URL
    feed_limit: int = DEFAULT_LIMIT
    hub_url: str | None = None  # WebSub hub pinged after a rebuild that changed feeds
    time_limit: float = default("CRAWL_TIME_LIMIT")
    kill_grace: float = KILL_GRACE
    trigger: str = TRIGGER
    command: CommandBuilder = crawl_command
    #: Enqueue mode: runs put start URLs on this Redis instead of crawling in a child.
    enqueue: EnqueueTarget | None = None
    holder: Holder = field(default_factory=Holder.current)
    #: Set on SIGTERM/SIGINT: start nothing new, stop running crawls gracefully.
    stop: threading.Event = field(default_factory=threading.Event)
    #: Set on a second signal: kill running crawls now.
    force: threading.Event = field(default_factory=threading.Event)
    database: Database = field(init=False)
    _feed_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    #: Enqueue mode: `feed_data_version()` as of the last feed build of this process.
    feeds_version: tuple[Any, ...] | None = field(default=None, init=False)
    _active: int = field(default=0, init=False)  # scheduled runs in progress
    _idle: threading.Condition = field(default_factory=threading.Condition, init=False)

    def __post_init__(self) -> None:
        # Creates the lease and lock tables too: this module imports storage.scheduling.
        self.database = Database(self.database_url)

    @property
    def lock_ttl(self) -> float:
        # A run never holds its source longer than its time limit plus the stop sequence.
        return self.time_limit + self.kill_grace + 60

    @property
    def key(self) -> str:
        return runtime_key(self.database_url)

    @contextlib.contextmanager
    def active_run(self) -> Iterator[None]:
        with self._idle:
            self._active += 1
        try:
            yield
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no scheduled run is in progress; False if one still is after `timeout`."""
        with self._idle:
            return self._idle.wait_for(lambda: self._active == 0, timeout)


_RUNTIMES: dict[str, Runtime] = {}


def runtime_key(database_url: str) -> str:
    # Stored in the job's arguments: no password in it.
    return make_url(database_url).render_as_string(hide_password=True)


def register_runtime(runtime: Runtime) -> str:
    _RUNTIMES[runtime.key] = runtime
    return runtime.key


def unregister_runtime(runtime: Runtime) -> None:
    if _RUNTIMES.get(runtime.key) is runtime:
        del _RUNTIMES[runtime.key]


# --- one run -------------------------------------------------------------------------------


@dataclass
class RunOutcome:
    source: str
    #: finished, failed, interrupted, timeout (as recorded), or skipped (not run).
    status: str
    run_id: int | None = None
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    dropped: int = 0
    reason: str | None = None
    feeds: str | None = None  # what the feed rebuild did, if one ran
    #: False for an enqueue: nothing was crawled, there are no counts.
    crawl: bool = True

    @property
    def ok(self) -> bool:
        return self.status == "finished"

    def line(self) -> str:
        if self.status == "skipped":
            return f"{self.source}: skipped: {self.reason}"
        if not self.crawl:
            what = ENQUEUED if self.status == ENQUEUED else f"enqueue {self.status}"
            run = f" (run {self.run_id})" if self.run_id is not None else ""
            return f"{self.source}: {what}{run}: {self.reason}"
        text = f"{self.source}: {self.status} in {self.seconds:.1f}s"
        if self.run_id is not None:
            text += f" (run {self.run_id})"
        if self.reason and not self.ok:
            text += f" [{self.reason}]"
        counts = self.counts
        text += (
            f": pages {counts.get('pages', 0)}, new {counts.get('new', 0)}, "
            f"updated {counts.get('updated', 0)}, dropped {self.dropped}, "
            f"errors {counts.get('errors', 0)}"
        )
        return text + (f"; feeds: {self.feeds}" if self.feeds else "")


def run_job(source: str, key: str) -> None:
    """The APScheduler job: one run of `source` with the runtime registered under `key`."""
    runtime = _RUNTIMES.get(key)
    if runtime is None:
        logger.error("%s: no scheduler runtime for %s in this process; run skipped", source, key)
        return
    try:
        with runtime.active_run():
            run_source(source, runtime)
    except Exception:  # keep the scheduler thread alive whatever one run does
        logger.exception("%s: scheduled run failed", source)


def run_source(source: str, runtime: Runtime) -> RunOutcome:
    """Crawl `source` once in a child process under its crawl lock; log and return the outcome.
    In enqueue mode, put its start URLs on Redis instead (`enqueue_source`)."""
    if runtime.enqueue is not None:
        return enqueue_source(source, runtime)
    if runtime.stop.is_set():
        outcome = RunOutcome(source, "skipped", reason="scheduler stopping")
    elif not acquire_crawl_lock(runtime.database, source, runtime.holder, runtime.lock_ttl):
        lock = crawl_lock(runtime.database, source)
        holder = lock.holder if lock else "another process"
        outcome = RunOutcome(source, "skipped", reason=f"already running ({holder})")
    else:
        try:
            outcome = _run_locked(source, runtime)
        finally:
            try:
                release_crawl_lock(runtime.database, source, runtime.holder)
            except SQLAlchemyError:  # it expires on its own
                logger.exception("%s: could not release the crawl lock", source)
    level = logging.INFO if outcome.status in OK_STATUSES else logging.WARNING
    logger.log(level, "%s", outcome.line())
    return outcome


def enqueue_source(source: str, runtime: Runtime) -> RunOutcome:
    """Enqueue mode: start a round of `source` by the workers; log and return the outcome.

    No crawl lock is taken: nothing is crawled here, and what keeps two rounds of a source
    from piling up is what Redis holds of the last one (below). An enqueue is recorded in
    `crawl_runs` (trigger "enqueue"), as is one that failed, e.g. with Redis down; a skipped
    one is only logged, like a skipped crawl. Never raises: the scheduler goes on.
    """
    target = runtime.enqueue
    assert target is not None
    clock = time.monotonic()
    if runtime.stop.is_set():
        outcome = RunOutcome(source, "skipped", reason="scheduler stopping", crawl=False)
    else:
        try:
            done = target.push(source)
        except Exception as exc:  # Redis unreachable, an unknown source: this run fails
            reason = str(exc) or type(exc).__name__
            run_id = _record_enqueue(runtime, source, "failed", reason)
            outcome = RunOutcome(
                source, "failed", run_id, time.monotonic() - clock, reason=reason, crawl=False
            )
        else:
            if done.pushed:
                reason = f"{len(done.urls)} start URL(s) on {done.key}"
                run_id = _record_enqueue(runtime, source, ENQUEUED, reason)
                outcome = RunOutcome(
                    source, ENQUEUED, run_id, time.monotonic() - clock, reason=reason, crawl=False
                )
            else:
                # The last round is still waiting for the workers (start messages not taken,
                # requests queued): the pool is behind the schedule. Another round now would
                # pile up more of the same work on it, round after round, and fetch the list
                # pages again for nothing; the next run looks again.
                outcome = RunOutcome(
                    source,
                    "skipped",
                    reason=f"its last round is still queued on Redis ({done.waiting} start "
                    f"message(s), {done.queued} request(s))",
                    crawl=False,
                )
    level = logging.INFO if outcome.status in OK_STATUSES else logging.WARNING
    logger.log(level, "%s", outcome.line())
    return outcome


def _record_enqueue(runtime: Runtime, source: str, status: str, reason: str) -> int | None:
    """One finished `crawl_runs` row for an enqueue; None if the database is unreachable."""
    try:
        with runtime.database.session() as session:
            run_id = start_run(session, source, ENQUEUE_TRIGGER)
            finish_run(session, run_id, status, {}, {}, finish_reason=reason[:64])
    except SQLAlchemyError as exc:
        logger.warning("%s: could not record the enqueue: %s", source, exc)
        return None
    return run_id


def _run_locked(source: str, runtime: Runtime) -> RunOutcome:
    database = runtime.database
    started, clock = utcnow(), time.monotonic()
    env = {**os.environ, "DATABASE_URL": runtime.database_url}
    try:
        child = subprocess.Popen(
            list(runtime.command(source, runtime)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=env,
            # Its own process group: a terminal's Ctrl-C reaches the scheduler only, which
            # decides how the crawl stops; and the whole group can be signalled.
            start_new_session=True,
        )
    except OSError as exc:
        run = settle_child_run(
            database,
            source,
            host=runtime.holder.host,
            pid=None,
            since=started,
            trigger=runtime.trigger,
            status="failed",
            reason=f"could not start: {exc}",
        )
        return RunOutcome(source, "failed", run.id, reason=run.finish_reason)
    try:
        set_lock_child(database, source, runtime.holder, child.pid)
    except SQLAlchemyError as exc:  # the lock stays ours anyway; the child must be waited for
        logger.warning("%s: could not note the crawl's pid on its lock: %s", source, exc)
    stdout, stderr, ended_by = _wait(child, source, runtime, clock + runtime.time_limit)
    seconds = time.monotonic() - clock

    if ended_by == "timeout":
        status, reason, force = "timeout", f"time limit {runtime.time_limit:g}s", True
    elif ended_by == "stopped":
        status, reason, force = "interrupted", "scheduler stopped", False
    else:
        status, reason, force = "failed", _failure(child.returncode, stderr), False
    # Whatever the child recorded stands, except a timeout; a row left "running" or missing
    # is settled here.
    run = settle_child_run(
        database,
        source,
        host=runtime.holder.host,
        pid=child.pid,
        since=started,
        trigger=runtime.trigger,
        status=status,
        reason=reason,
        force=force,
    )
    if run.status != "finished" and stderr.strip():
        logger.warning("%s: crawl output:\n%s", source, _tail(stderr))

    summary = _summary(stdout, source)
    if summary is not None:
        counts = {k: int(v) for k, v in summary.items() if isinstance(v, int)}
        dropped = sum(int(v) for v in (summary.get("dropped") or {}).values())
    else:  # no JSON (killed, crashed): the recorded row has what was counted
        counts = {name: getattr(run, name) for name in RUN_COUNTERS}
        dropped = sum(int(v) for v in (run.dropped or {}).values())
    outcome = RunOutcome(
        source, run.status, run.id, seconds, counts, dropped, reason=run.finish_reason
    )

    # New or changed releases, or page versions a page monitor stored.
    changed = sum(counts.get(name, 0) for name in ("new", "updated", "page_versions")) > 0
    # Also build them when they were never written (a new deployment, a new feeds dir).
    if changed or not (runtime.feeds_dir / OPML_NAME).exists():
        outcome.feeds = rebuild_feeds(runtime)
    return outcome


def _wait(
    child: subprocess.Popen[str], source: str, runtime: Runtime, deadline: float
) -> tuple[str, str, str]:
    """Wait for the child; stop it at the deadline or on shutdown. Returns its stdout, stderr
    and why it ended: "exit", "timeout" or "stopped"."""
    ended_by = "exit"
    kill_at: float | None = None
    killed = False
    while True:
        try:
            stdout, stderr = child.communicate(timeout=POLL_SECONDS)
            return stdout or "", stderr or "", ended_by
        except subprocess.TimeoutExpired:
            pass  # communicate() keeps what it read so far; calling it again loses nothing
        now = time.monotonic()
        if kill_at is None:
            if runtime.stop.is_set():
                ended_by = "stopped"
            elif now >= deadline:
                ended_by = "timeout"
                logger.warning("%s: time limit of %gs reached", source, runtime.time_limit)
            else:
                continue
            # Scrapy takes SIGTERM as "shut down gracefully": the spider closes and the run
            # is recorded as interrupted.
            _signal_group(child, signal.SIGTERM)
            kill_at = now + runtime.kill_grace
        elif not killed and (now >= kill_at or runtime.force.is_set()):
            logger.warning("%s: crawl did not stop after SIGTERM; killing it", source)
            _signal_group(child, signal.SIGKILL)
            killed = True


def _signal_group(child: subprocess.Popen[str], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)  # start_new_session: the group id is the child's pid


def _summary(stdout: str, source: str) -> dict[str, Any] | None:
    try:
        rows = json.loads(stdout)
    except ValueError:
        return None
    if not isinstance(rows, list):
        return None
    return next((r for r in rows if isinstance(r, dict) and r.get("source") == source), None)


def _failure(returncode: int | None, stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    code = f"exit {returncode}"
    if returncode is not None and returncode < 0:
        with contextlib.suppress(ValueError):
            code = f"killed by {signal.Signals(-returncode).name}"
    return f"{code}: {lines[-1]}" if lines else code


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def rebuild_feeds(runtime: Runtime, version: tuple[Any, ...] | None = None) -> str:
    """Rewrite the feed files (atomically, each replaced only if changed); a summary line.
    `version`: the `feed_data_version()` read before, noted once the build succeeded."""
    try:
        with runtime._feed_lock:  # runs of two sources may finish together
            report = write_feeds(
                runtime.database,
                runtime.feeds_dir,
                runtime.base_url,
                runtime.feed_limit,
                hub_url=runtime.hub_url,
            )
            if version is not None:
                runtime.feeds_version = version
    except Exception as exc:  # a broken feed must not stop the crawling
        logger.exception("feed rebuild failed")
        return f"rebuild failed: {exc}"
    return report.summary()


def refresh_feeds(runtime: Runtime) -> str | None:
    """Enqueue mode: rebuild the feed files if the database changed since this process last
    built them (the workers store the releases; no run here says when). Returns the
    rebuild's summary, or None when nothing changed or the database could not be read."""
    try:
        with runtime.database.session(readonly=True) as session:
            version = feed_data_version(session)
    except SQLAlchemyError as exc:  # the database may be back at the next look
        logger.warning("feeds: could not read the database: %s", exc)
        return None
    if version == runtime.feeds_version and (runtime.feeds_dir / OPML_NAME).exists():
        return None
    # Read before the build: a release stored during it is at worst built again next time,
    # never missed.
    summary = rebuild_feeds(runtime, version)
    logger.info("feeds: %s", summary)
    return summary


def feeds_job(key: str) -> None:
    """The APScheduler job of enqueue mode that keeps the feed files current."""
    runtime = _RUNTIMES.get(key)
    if runtime is None or runtime.stop.is_set():
        return
    try:
        with runtime.active_run():
            refresh_feeds(runtime)
    except Exception:  # keep the scheduler thread alive
        logger.exception("feed check failed")

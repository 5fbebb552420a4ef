"""`stnews schedule`: cycles over replayed fixtures, standby, restart, signals, limits, leases."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import select, text

from bench.sitegen import SyntheticSite
from crawler.service.daemon import next_runs, sync_jobs
from crawler.service.scheduled_run import (
    JOBSTORE_TABLE,
    Runtime,
    ScheduleConfig,
    run_source,
    schedule_config,
)
from storage import CrawlRun, Database
from storage.scheduling import (
    Holder,
    acquire_crawl_lock,
    acquire_lease,
    crawl_lock,
    current_lease,
    release_crawl_lock,
    release_lease,
)
from tests import forked_cli, support
from tests.support import FIXTURES, ROOT

START = date.today() - timedelta(days=13)  # the 13th release is dated today: not stale
SCHEDULE_TIMEOUT = 90  # generous for a loaded machine: polling returns once the runs are there


# --- helpers -------------------------------------------------------------------------------


class Schedulers:
    """Scheduler processes of one test; every one, and every crawl they started, is killed
    at the end whatever happened."""

    def __init__(self, tmp_path: Path, db: str) -> None:
        self.tmp_path = tmp_path
        self.db = db
        self.procs: list[forked_cli.Forked] = []

    def start(self, *args: str, log: str) -> forked_cli.Forked:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_LOG_LEVEL": "WARNING"}
        env.pop("DATABASE_URL", None)
        proc = forked_cli.Forked(
            ["--db", self.db, "schedule", *args],
            stdout=self.tmp_path / log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=self.tmp_path,
        )
        self.procs.append(proc)
        return proc

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        # Crawl children run in their own sessions; they carry the database URL in their
        # environment (the schedulers in their arguments).
        marker = str(self.tmp_path).encode()
        for entry in Path("/proc").glob("[0-9]*"):
            pid = int(entry.name)
            if pid == os.getpid():
                continue
            try:
                found = marker in (entry / "cmdline").read_bytes()
                found = found or marker in (entry / "environ").read_bytes()
            except OSError:
                continue
            if found:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def schedulers(tmp_path: Path, database_url: str) -> Iterator[Schedulers]:
    procs = Schedulers(tmp_path, database_url)
    try:
        yield procs
    finally:
        procs.cleanup()


def wait_for(
    condition: Callable[[], bool], what: str, timeout: float = SCHEDULE_TIMEOUT, every=0.2
) -> None:
    support.wait_for(condition, what, timeout, every)


def runs(database: Database, source: str = "nstc") -> list[CrawlRun]:
    with database.session() as session:
        query = select(CrawlRun).where(CrawlRun.source == source).order_by(CrawlRun.started_at)
        return list(session.scalars(query))


def finished(database: Database, source: str = "nstc") -> list[CrawlRun]:
    return [run for run in runs(database, source) if run.status == "finished"]


def assert_no_overlap(database: Database, source: str = "nstc") -> None:
    ordered = runs(database, source)
    for before, after in itertools.pairwise(ordered):
        assert before.finished_at is not None, f"run {before.id} never finished"
        assert after.started_at >= before.finished_at, (
            f"runs {before.id} and {after.id} of {source} overlap"
        )


def job_rows(database: Database) -> list[tuple[str, float | None]]:
    with database.engine.connect() as connection:
        query = text(f"SELECT id, next_run_time FROM {JOBSTORE_TABLE} ORDER BY id")
        return [(row[0], row[1]) for row in connection.execute(query)]


def publish(site: SyntheticSite, fixtures: Path, staging: Path) -> None:
    """Replace the site's fixtures file by file (each atomically, the index last), so that a
    crawl reading them meanwhile never sees half a file."""
    site.write_fixtures(staging)
    files = sorted((staging / "nstc").rglob("*.html"), key=lambda p: "list" in p.parts)
    for path in [*files, staging / "nstc" / "index.json"]:
        target = fixtures / "nstc" / path.relative_to(staging / "nstc")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, target)


def feed_titles(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [entry.title for entry in feedparser.parse(path.read_bytes()).entries]


def log_of(tmp_path: Path, name: str) -> str:
    return (tmp_path / name).read_text(errors="replace")


# --- the scheduler process -----------------------------------------------------------------


@pytest.mark.slow
def test_cycles_publish_a_new_release_and_a_second_scheduler_stands_by(
    tmp_path: Path, database: Database, schedulers: Schedulers
) -> None:
    fixtures, feeds = tmp_path / "fixtures", tmp_path / "feeds"
    SyntheticSite(12, start=START).write_fixtures(fixtures)
    args = ("--source", "nstc", "--interval", "2", "--jitter", "0", "--lease-seconds", "6")
    args += ("--replay", str(fixtures), "--feeds-dir", str(feeds))

    leader = schedulers.start(*args, log="leader.log")
    wait_for(lambda: len(feed_titles(feeds / "all.atom")) == 12, "a first run's feed")
    standby = schedulers.start(*args, log="standby.log")

    # A new release between cycles appears in the feed.
    newest = SyntheticSite(13, start=START)
    publish(newest, fixtures, tmp_path / "staging")
    wait_for(lambda: newest.title(13) in feed_titles(feeds / "all.atom"), "the new release")
    wait_for(lambda: len(finished(database)) >= 3, "three scheduled runs")
    # The standby's start-up may take longer than three 2 s cycles on a loaded machine.
    wait_for(
        lambda: "standby: the scheduler lease is held by" in log_of(tmp_path, "standby.log"),
        "the second scheduler standing by",
    )
    assert "leader:" not in log_of(tmp_path, "standby.log")
    assert all(run.trigger == "schedule" for run in runs(database))
    assert_no_overlap(database)
    assert set(next_runs(database.url)) == {"nstc"}
    assert next_runs(database.url)["nstc"] is not None

    for proc in (standby, leader):
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert_no_overlap(database)
    assert current_lease(database) is None


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_killed_scheduler_restarts_with_the_persisted_jobs(
    tmp_path: Path, database: Database, schedulers: Schedulers
) -> None:
    fixtures = tmp_path / "fixtures"
    SyntheticSite(12, start=START).write_fixtures(fixtures)
    (fixtures / "nstc_pages").symlink_to(FIXTURES / "nstc_pages")
    args = ("--source", "nstc", "--source", "nstc_pages", "--interval", "2", "--jitter", "0")
    args += ("--replay", str(fixtures), "--feeds-dir", str(tmp_path / "feeds"))

    first = schedulers.start(*args, log="first.log")
    wait_for(lambda: bool(finished(database) and finished(database, "nstc_pages")), "runs")
    assert [job for job, _ in job_rows(database)] == ["nstc", "nstc_pages"]

    first.kill()  # SIGKILL: no cleanup at all
    first.wait(10)
    # A crawl it started lives on in its own session and keeps its source's lock until it
    # ends (the lock outlives a dead holder only while its child lives). Here the machine's
    # crash takes it too, so the restart is not timed by a crawl the loaded machine may make
    # slow to finish.
    for source in ("nstc", "nstc_pages"):
        lock = crawl_lock(database, source)
        if lock is not None and lock.pid == first.pid and lock.child_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(lock.child_pid, signal.SIGKILL)
    restarted = datetime.now(UTC)
    second = schedulers.start(*args, log="second.log")

    def ran_again(source: str) -> bool:
        return any(run.started_at > restarted for run in finished(database, source))

    wait_for(lambda: ran_again("nstc") and ran_again("nstc_pages"), "runs after the restart")

    # No job lost or doubled; the persisted schedule was resumed, not started over.
    assert [job for job, _ in job_rows(database)] == ["nstc", "nstc_pages"]
    log = log_of(tmp_path, "second.log")
    assert "job nstc: resumed" in log and "job nstc_pages: resumed" in log
    assert "added" not in log
    assert_no_overlap(database)
    assert_no_overlap(database, "nstc_pages")

    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0


@pytest.mark.slow
def test_sigterm_during_a_run_stops_cleanly(
    tmp_path: Path, database: Database, schedulers: Schedulers
) -> None:
    fixtures, feeds = tmp_path / "fixtures", tmp_path / "feeds"
    SyntheticSite(40, start=START - timedelta(days=30)).write_fixtures(fixtures)
    proc = schedulers.start(
        "--source", "nstc", "--interval", "60", "--jitter", "0",
        "--replay", str(fixtures), "--feeds-dir", str(feeds),
        log="scheduler.log",
    )  # fmt: skip
    wait_for(lambda: any(r.status == "running" for r in runs(database)), "a run", every=0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(40) == 0

    (run,) = runs(database)
    assert run.status in ("interrupted", "finished")
    assert run.finished_at is not None
    assert current_lease(database) is None
    assert crawl_lock(database, "nstc") is None
    assert not list(feeds.glob(".*.tmp"))  # no half-written feed file
    assert "scheduler stopped" in log_of(tmp_path, "scheduler.log")


@pytest.mark.slow
def test_once_runs_each_source_and_exits(
    tmp_path: Path, database: Database, schedulers: Schedulers
) -> None:
    fixtures, feeds = tmp_path / "fixtures", tmp_path / "feeds"
    SyntheticSite(12, start=START).write_fixtures(fixtures)
    proc = schedulers.start(
        "--once", "--source", "nstc", "--replay", str(fixtures), "--feeds-dir", str(feeds),
        log="once.log",
    )  # fmt: skip
    assert proc.wait(60) == 0, log_of(tmp_path, "once.log")
    (run,) = runs(database)
    assert (run.status, run.trigger, run.new) == ("finished", "schedule", 12)
    assert len(feed_titles(feeds / "all.atom")) == 12


@pytest.mark.slow
def test_serve_runs_the_feed_server_beside_the_scheduler(
    tmp_path: Path, database: Database, schedulers: Schedulers
) -> None:
    pytest.importorskip("crawler.server", reason="the feed server (crawler/server) is not there")
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    fixtures = tmp_path / "fixtures"
    SyntheticSite(12, start=START).write_fixtures(fixtures)
    proc = schedulers.start(
        "--source", "nstc", "--interval", "60", "--replay", str(fixtures),
        "--feeds-dir", str(tmp_path / "feeds"), "--serve", "--port", str(port),
        log="serve.log",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/feeds/all.atom"

    def served() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(served, "the feed server")
    assert feedparser.parse(httpx.get(url).content).feed.title == "stnews: all releases"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert not served()  # stopped with the scheduler


# --- one run, in process -------------------------------------------------------------------


def _runtime(database_url: str, tmp_path: Path, script: str, **kwargs) -> Runtime:
    return Runtime(
        database_url,
        feeds_dir=tmp_path / "feeds",
        command=lambda source, runtime: [sys.executable, "-c", script],
        **kwargs,
    )


def test_a_hanging_crawl_is_stopped_at_the_time_limit(tmp_path: Path, database_url: str) -> None:
    runtime = _runtime(database_url, tmp_path, "import time; time.sleep(60)", time_limit=1)
    try:
        started = time.monotonic()
        outcome = run_source("nstc", runtime)
        assert time.monotonic() - started < 10
        assert outcome.status == "timeout"
        (run,) = runs(runtime.database)
        assert (run.status, run.trigger, run.finish_reason) == (
            "timeout",
            "schedule",
            outcome.reason,
        )
        assert run.finish_reason == "time limit 1s"
        assert run.finished_at is not None
        assert crawl_lock(runtime.database, "nstc") is None
    finally:
        runtime.database.dispose()


def test_a_crawl_ignoring_sigterm_is_killed_and_its_own_run_marked(
    tmp_path: Path, database_url: str
) -> None:
    # The child records its run as a crawl would, then hangs and ignores SIGTERM.
    script = (
        "import os, signal, time\n"
        "from storage import Database\n"
        "from storage.runs import start_run\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "with Database(os.environ['DATABASE_URL']).session() as s:\n"
        "    start_run(s, 'nstc', 'schedule')\n"
        "time.sleep(60)\n"
    )
    runtime = _runtime(database_url, tmp_path, script, time_limit=4, kill_grace=1)
    try:
        outcome = run_source("nstc", runtime)
        (run,) = runs(runtime.database)
        assert outcome.status == run.status == "timeout"
        assert outcome.run_id == run.id
        assert run.finished_at is not None
        with pytest.raises(ProcessLookupError):
            os.kill(run.pid, 0)
    finally:
        runtime.database.dispose()


def test_a_child_dying_without_a_run_leaves_a_failed_run(tmp_path: Path, database_url: str) -> None:
    script = "import sys; sys.stderr.write('boom\\n'); sys.exit(3)"
    runtime = _runtime(database_url, tmp_path, script)
    try:
        outcome = run_source("nstc", runtime)
        (run,) = runs(runtime.database)
        assert outcome.status == run.status == "failed"
        assert run.finish_reason == "exit 3: boom"
    finally:
        runtime.database.dispose()


def test_a_locked_source_is_not_run_twice(tmp_path: Path, database_url: str) -> None:
    runtime = _runtime(database_url, tmp_path, "pass")
    try:
        other = Holder("elsewhere:1:x", "elsewhere", 1)
        assert acquire_crawl_lock(runtime.database, "nstc", other, 60)
        outcome = run_source("nstc", runtime)
        assert outcome.status == "skipped" and "elsewhere:1:x" in (outcome.reason or "")
        assert runs(runtime.database) == []
    finally:
        runtime.database.dispose()


# --- job store -----------------------------------------------------------------------------


def test_sync_keeps_the_persisted_next_run_unless_the_schedule_changed(database_url: str) -> None:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    def scheduler() -> BackgroundScheduler:
        store = SQLAlchemyJobStore(url=database_url, tablename=JOBSTORE_TABLE)
        instance = BackgroundScheduler(jobstores={"default": store}, timezone=UTC)
        instance.start(paused=True)
        return instance

    first = scheduler()
    sync_jobs(first, ScheduleConfig({"nstc": 1800, "msit": 1800}, jitter=0), "key")
    assert {job.id for job in first.get_jobs()} == {"nstc", "msit"}
    later = (datetime.now(UTC) + timedelta(minutes=17)).replace(microsecond=0)
    first.modify_job("nstc", next_run_time=later)
    first.shutdown()

    # A restart with the same configuration resumes: same next run, one job per source.
    second = scheduler()
    sync_jobs(second, ScheduleConfig({"nstc": 1800, "msit": 1800}, jitter=0), "key")
    assert second.get_job("nstc").next_run_time == later
    second.shutdown()
    assert next_runs(database_url)["nstc"] == later

    # A changed interval reschedules; a source no longer configured loses its job.
    third = scheduler()
    sync_jobs(third, ScheduleConfig({"nstc": 60}, jitter=0), "key")
    job = third.get_job("nstc")
    assert job.next_run_time < later and job.trigger.interval == timedelta(seconds=60)
    assert [j.id for j in third.get_jobs()] == ["nstc"]
    third.shutdown()


def test_schedule_config_from_settings() -> None:
    from scrapy.settings import Settings

    sources = ["nstc", "nstc_pages", "undeclared"]
    config = schedule_config(Settings(), sources)  # intervals from sources.toml
    assert dict(config.intervals) == {"nstc": 1800, "nstc_pages": 86400, "undeclared": 1800}
    assert (config.jitter, config.misfire_grace, config.lease_seconds) == (120, 600, 60)
    settings = Settings({"SCHEDULE_DEFAULT_INTERVAL": 600})
    assert dict(schedule_config(settings, sources).intervals)["undeclared"] == 600
    flags = schedule_config(settings, sources, interval=2, jitter=0, lease_seconds=6)
    assert dict(flags.intervals) == {"nstc": 2, "nstc_pages": 2, "undeclared": 2}
    assert (flags.jitter, flags.lease_seconds) == (0, 6)


def test_next_runs_without_a_schedule(database_url: str) -> None:
    assert next_runs(database_url) == {}


# --- leader lease and crawl locks -------------------------------------------------------------


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_lease_acquire_renew_expire_takeover(database: Database) -> None:
    a, b = Holder("host-a:1:a", "host-a", 1), Holder("host-b:2:b", "host-b", 2)
    now = datetime.now(UTC)
    assert acquire_lease(database, a, 60, now=now)
    assert not acquire_lease(database, b, 60, now=now)
    assert acquire_lease(database, a, 60, now=now + timedelta(seconds=30))  # renewal
    assert current_lease(database, now=now).holder == a.id
    # Still held 80 s on (renewed at 30 s); lapsed at 100 s: B takes over, A cannot renew.
    assert not acquire_lease(database, b, 60, now=now + timedelta(seconds=80))
    assert acquire_lease(database, b, 60, now=now + timedelta(seconds=100))
    assert not acquire_lease(database, a, 60, now=now + timedelta(seconds=101))
    assert not release_lease(database, a)
    assert release_lease(database, b)
    assert current_lease(database) is None
    assert acquire_lease(database, a, 60)


def test_lease_of_a_dead_process_on_this_host_is_taken_at_once(database: Database) -> None:
    host = socket.gethostname()
    dead = Holder(f"{host}:x:dead", host, _dead_pid())
    assert acquire_lease(database, dead, 3600)
    me = Holder.current()
    assert acquire_lease(database, me, 60)
    assert current_lease(database).holder == me.id


def test_only_one_of_racing_processes_gets_the_lease(database: Database) -> None:
    holders = [Holder(f"race:{n}:x", "race", n) for n in range(8)]
    barrier = threading.Barrier(len(holders))
    results: dict[str, bool] = {}

    def contend(holder: Holder) -> None:
        barrier.wait()
        results[holder.id] = acquire_lease(database, holder, 60)

    threads = [threading.Thread(target=contend, args=(h,)) for h in holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(results.values()) == 1
    assert current_lease(database).holder == next(h for h, won in results.items() if won)


def test_crawl_locks(database: Database) -> None:
    a, b = Holder("host-a:1:a", "host-a", 1), Holder("host-b:2:b", "host-b", 2)
    now = datetime.now(UTC)
    assert acquire_crawl_lock(database, "nstc", a, 60, now=now)
    assert acquire_crawl_lock(database, "msit", b, 60, now=now)  # per source
    assert not acquire_crawl_lock(database, "nstc", b, 60, now=now)
    assert acquire_crawl_lock(database, "nstc", b, 60, now=now + timedelta(seconds=61))
    assert not release_crawl_lock(database, "nstc", a)
    assert release_crawl_lock(database, "nstc", b)
    assert acquire_crawl_lock(database, "nstc", a, 60)


def test_a_zombie_holder_counts_as_gone() -> None:
    """A crawl that has ended but is not reaped yet (its scheduler died, or a parent that
    does not wait) holds no lock: only a living process does."""
    from storage.scheduling import process_alive

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    assert process_alive(os.getpid())
    support.wait_for(lambda: not process_alive(child.pid), "the child to end", 20)
    assert os.path.exists(f"/proc/{child.pid}")  # a zombie still: not reaped yet
    child.wait()
    assert not process_alive(child.pid)

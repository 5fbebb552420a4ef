"""`stnews schedule`, the daemon: leader election, the persisted APScheduler job store (one job
per source, id = source name), signals and a clean shutdown. What one run of a source does is
in ``crawler.service.scheduled_run``.

APScheduler stores jobs pickled by reference to ``crawler.service.scheduled_run:run_job``; a
job stored under an older path cannot be restored, and APScheduler drops it with a logged
error, after which ``sync_jobs`` adds it again to run at once.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor as PoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Float, MetaData, Table, Unicode, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from crawler.service.notifying import DEFAULT_NOTIFY_CHECK, NOTIFY_JOB, run_notify
from crawler.service.scheduled_run import (
    _RUNTIMES,
    DEFAULT_STORE,
    FEED_JOB,
    JOBSTORE_TABLE,
    LOCAL_STORE,
    OK_STATUSES,
    RunOutcome,
    Runtime,
    ScheduleConfig,
    feeds_job,
    refresh_feeds,
    register_runtime,
    run_job,
    run_source,
    unregister_runtime,
)
from storage.db import Database, make_engine
from storage.scheduling import acquire_lease, current_lease, release_lease

logger = logging.getLogger(__name__)




def sync_jobs(scheduler: Any, config: ScheduleConfig, key: str) -> None:
    """Make the job store hold exactly one job per configured source.

    An existing job keeps its persisted next run time (a restart resumes the schedule) unless
    its interval or jitter changed; then it is rescheduled from now. A new job runs at once.
    Jobs of sources no longer configured are removed.
    """
    from apscheduler.triggers.interval import IntervalTrigger

    options: dict[str, Any] = {
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": max(1, int(config.misfire_grace)),
    }
    for source, seconds in config.intervals.items():
        jitter = int(config.jitter) or None
        trigger = IntervalTrigger(seconds=seconds, jitter=jitter, timezone=UTC)
        job = scheduler.get_job(source, DEFAULT_STORE)
        if job is None:
            scheduler.add_job(
                run_job,
                trigger,
                id=source,
                name=f"crawl {source}",
                args=[source, key],
                replace_existing=True,
                next_run_time=datetime.now(UTC),
                **options,
            )
            logger.info("job %s: added, every %gs, first run now", source, seconds)
            continue
        scheduler.modify_job(source, func=run_job, args=[source, key], **options)
        old = job.trigger
        if (
            isinstance(old, IntervalTrigger)
            and old.interval == trigger.interval
            and (old.jitter or None) == jitter
        ):
            logger.info("job %s: resumed, every %gs, next run %s", source, seconds, _when(job))
        else:
            job = scheduler.reschedule_job(source, trigger=trigger)
            logger.info("job %s: now every %gs, next run %s", source, seconds, _when(job))
    for job in scheduler.get_jobs(DEFAULT_STORE):
        if job.id not in config.intervals:
            job.remove()
            logger.info("job %s: removed (source not scheduled)", job.id)


def add_feeds_job(scheduler: Any, config: ScheduleConfig, key: str) -> None:
    """Enqueue mode: look for database changes every `feed_check` seconds, first at once."""
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler.add_job(
        feeds_job,
        IntervalTrigger(seconds=config.feed_check, timezone=UTC),
        id=FEED_JOB,
        name="rebuild the feeds if the database changed",
        args=[key],
        jobstore=LOCAL_STORE,
        replace_existing=True,
        next_run_time=datetime.now(UTC),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=max(1, int(config.feed_check)),
    )


def notify_job(key: str) -> None:
    """The APScheduler job that sends digests when their period ends, and retries."""
    runtime = _RUNTIMES.get(key)
    if runtime is None or runtime.stop.is_set():
        return
    with runtime.active_run():
        run_notify(runtime.database)


def add_notify_job(scheduler: Any, key: str, every: float = DEFAULT_NOTIFY_CHECK) -> None:
    """Digests are due when their period ends, and failed alerts when their backoff does:
    look every `every` seconds (crawls also notify when they stored something)."""
    from apscheduler.triggers.interval import IntervalTrigger

    scheduler.add_job(
        notify_job,
        IntervalTrigger(seconds=every, timezone=UTC),
        id=NOTIFY_JOB,
        name="send due digests and retries",
        args=[key],
        jobstore=LOCAL_STORE,
        replace_existing=True,
        next_run_time=datetime.now(UTC),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=max(1, int(every)),
    )


def _when(job: Any) -> str:
    next_run = getattr(job, "next_run_time", None)
    return next_run.astimezone(UTC).isoformat(timespec="seconds") if next_run else "never (paused)"


def next_runs(database: str | Database) -> dict[str, datetime | None]:
    """Next scheduled run per source, read from the job store without starting a scheduler.

    None for a paused job; an empty dict when nothing was ever scheduled.
    """
    own = isinstance(database, str)
    engine = make_engine(database) if isinstance(database, str) else database.engine
    # Reads only: on SQLite, a deferred BEGIN that never waits for a writer.
    reader = engine.execution_options(stnews_readonly=True)
    try:
        if not inspect(reader).has_table(JOBSTORE_TABLE):
            return {}
        jobs = Table(
            JOBSTORE_TABLE,
            MetaData(),
            Column("id", Unicode(191), primary_key=True),
            Column("next_run_time", Float(25)),
        )
        with reader.connect() as connection:
            rows = connection.execute(select(jobs.c.id, jobs.c.next_run_time)).all()
    finally:
        if own:
            engine.dispose()
    return {
        job_id: None if stamp is None else datetime.fromtimestamp(stamp, UTC)
        for job_id, stamp in rows
    }


class ScheduleService:
    """The scheduler process: leader election, the APScheduler, signals, clean shutdown."""

    def __init__(self, runtime: Runtime, config: ScheduleConfig) -> None:
        self.runtime = runtime
        self.config = config
        #: Called once on shutdown, after the crawls have stopped (e.g. the feed server).
        self.on_stop: list[Callable[[], None]] = []
        self._scheduler: Any = None
        self._standby_holder: str | None = None

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.runtime.stop.is_set():
            logger.warning("%s again: killing running crawls", name)
            self.runtime.force.set()
        else:
            logger.info("%s: stopping; running crawls are stopped gracefully", name)
            self.runtime.stop.set()

    # --- --once ------------------------------------------------------------------------

    def run_once(self) -> int:
        """Run every source once, side by side; 0 unless a run failed, timed out or was
        interrupted (a source skipped because it is being crawled already is no failure)."""
        sources = list(self.config.intervals)

        def run(source: str) -> RunOutcome:
            try:
                return run_source(source, self.runtime)
            except Exception as exc:  # e.g. the database unreachable: the others still run
                logger.exception("%s: run failed", source)
                return RunOutcome(source, "failed", reason=str(exc))

        try:
            with PoolExecutor(max_workers=max(1, len(sources))) as pool:
                outcomes = list(pool.map(run, sources))
            if self.runtime.enqueue is not None and not self.runtime.stop.is_set():
                # What the workers stored since the last build (this process knows of none).
                refresh_feeds(self.runtime)
            if not self.runtime.stop.is_set():
                run_notify(self.runtime.database)  # due digests and retries too
        finally:
            self._close()
        return 0 if all(o.status in OK_STATUSES for o in outcomes) else 1

    # --- the daemon --------------------------------------------------------------------

    def run_forever(self) -> int:
        """Lead or stand by until SIGTERM/SIGINT; then stop cleanly. Returns the exit code."""
        runtime, lease = self.runtime, self.config.lease_seconds
        key = register_runtime(runtime)
        period = max(0.5, lease / 3)  # renew well before expiry; standbys poll as often
        plan = ", ".join(f"{s} every {i:g}s" for s, i in self.config.intervals.items())
        logger.info("scheduler %s on %s: %s", runtime.holder.id, runtime.key, plan)
        if runtime.enqueue is not None:
            logger.info(
                "enqueue mode: start URLs go to the workers on %s; feeds rebuilt on changes, "
                "looked for every %gs",
                runtime.enqueue.describe(),
                self.config.feed_check,
            )
        leading = False
        last_renewed = 0.0
        try:
            while not runtime.stop.is_set():
                held = self._acquire(lease)
                if held:
                    last_renewed = time.monotonic()
                    if not leading:
                        leading = self._lead(key)
                elif leading and (held is False or time.monotonic() - last_renewed > lease):
                    # Someone else holds it now (we stalled past the expiry, or the database
                    # was unreachable that long): stop scheduling at once.
                    logger.error("lost the scheduler lease; standing by")
                    self._scheduler.pause()
                    leading = False
                elif not leading:
                    self._log_standby()
                runtime.stop.wait(period)
        finally:
            self._shutdown()
            unregister_runtime(runtime)
        return 0

    def _acquire(self, lease: float) -> bool | None:
        try:
            return acquire_lease(self.runtime.database, self.runtime.holder, lease)
        except SQLAlchemyError as exc:  # the database may be back next time
            logger.warning("scheduler lease: database error: %s", exc)
            return None

    def _lead(self, key: str) -> bool:
        try:
            if self._scheduler is None:
                self._scheduler = self._new_scheduler()
                self._scheduler.start(paused=True)  # jobs are synced before any runs
            sync_jobs(self._scheduler, self.config, key)
            if self.runtime.enqueue is not None:
                add_feeds_job(self._scheduler, self.config, key)
            add_notify_job(self._scheduler, key)
            self._scheduler.resume()
        except Exception:
            logger.exception("could not start the schedule; retrying")
            return False
        logger.info("leader: %s holds the scheduler lease", self.runtime.holder.id)
        self._standby_holder = None
        return True

    def _log_standby(self) -> None:
        try:
            lease = current_lease(self.runtime.database)
        except SQLAlchemyError:
            return
        holder = lease.holder if lease else "nobody"
        if holder != self._standby_holder:  # once per holder, not every poll
            until = f" until {lease.expires_at.isoformat(timespec='seconds')}" if lease else ""
            logger.info("standby: the scheduler lease is held by %s%s", holder, until)
            self._standby_holder = holder

    def _new_scheduler(self) -> Any:
        from apscheduler.events import (
            EVENT_JOB_ERROR,
            EVENT_JOB_EXECUTED,
            EVENT_JOB_MISSED,
            JobExecutionEvent,
        )
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.jobstores.memory import MemoryJobStore
        from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.schedulers.base import STATE_STOPPED

        class Scheduler(BackgroundScheduler):
            def _process_jobs(self) -> float | None:
                # APScheduler 3's loop makes one more pass after shutdown(): a job due then
                # would go to the executor just closed (an error, logged with a traceback).
                if self.state == STATE_STOPPED:
                    return None
                return super()._process_jobs()

        store = SQLAlchemyJobStore(
            # The project's engine setup: WAL and a busy timeout on SQLite.
            engine=make_engine(self.runtime.database_url),
            tablename=JOBSTORE_TABLE,
        )
        threads = max(1, len(self.config.intervals)) + 1  # and the notify job
        if self.runtime.enqueue is not None:
            threads += 1  # the feeds job
        scheduler = Scheduler(
            jobstores={DEFAULT_STORE: store, LOCAL_STORE: MemoryJobStore()},
            # One thread per source: each only waits for its child process (or Redis).
            executors={"default": ThreadPoolExecutor(threads)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": max(1, int(self.config.misfire_grace)),
            },
            timezone=UTC,
        )

        def missed(event: JobExecutionEvent) -> None:
            logger.warning(
                "%s: run due %s missed by more than the grace time; next on schedule",
                event.job_id,
                event.scheduled_run_time,
            )

        scheduler.add_listener(missed, EVENT_JOB_MISSED)
        database = self.runtime.database

        def ran(event: JobExecutionEvent) -> None:
            # After each crawl (or, in enqueue mode, each feed check): alerts of what it
            # stored. In the job's thread, once the run is over; the delivery log keeps
            # runs finishing together from sending anything twice.
            if event.job_id != NOTIFY_JOB and not self.runtime.stop.is_set():
                run_notify(database)

        scheduler.add_listener(ran, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        return scheduler

    def _shutdown(self) -> None:
        runtime = self.runtime
        runtime.stop.set()  # running jobs stop their crawls; no new run starts
        if self._scheduler is not None and self._scheduler.running:
            try:
                # Paused, and the running jobs waited for, before the shutdown, so that no job
                # is handed to the executor while it closes. Bounded: each run stops its
                # child within kill_grace of the stop signal.
                self._scheduler.pause()
                runtime.wait_idle(runtime.kill_grace + 30)
                self._scheduler.shutdown(wait=True)
            except Exception:
                logger.exception("scheduler shutdown failed")
        try:
            if release_lease(runtime.database, runtime.holder):
                logger.info("released the scheduler lease")
        except SQLAlchemyError:
            logger.exception("could not release the scheduler lease; it expires on its own")
        self._close()
        logger.info("scheduler stopped")

    def _close(self) -> None:
        for callback in self.on_stop:
            try:
                callback()
            except Exception:
                logger.exception("shutdown step failed")
        self.on_stop.clear()
        if self.runtime.enqueue is not None:
            self.runtime.enqueue.close()
        self.runtime.database.dispose()

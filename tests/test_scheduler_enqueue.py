"""`stnews schedule --enqueue`: the scheduler starts the workers' rounds through Redis and
rebuilds the feeds from what they store. Needs Redis at 127.0.0.1:6379 (skipped without it,
except in CI)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
import redis
from scrapy.settings import Settings
from scrapy.spiderloader import get_spider_loader
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select

from bench.sitegen import SyntheticSite
from crawler.cli import main as stnews
from crawler.distributed import RedisKeys, distributed_settings, redis_spider_class
from crawler.feeds.write import OPML_NAME
from crawler.normalize import fingerprint
from crawler.project import project_settings
from crawler.release_spider import LIST_PAGE
from crawler.service.daemon import ScheduleService, next_runs
from crawler.service.scheduled_run import (
    EnqueueTarget,
    Runtime,
    ScheduleConfig,
    refresh_feeds,
    run_source,
)
from storage import CrawlRun, Database, Release, ReleaseRecord, save_release
from storage.feed_polls import finished_runs
from storage.runs import finish_run, start_run
from storage.scheduling import crawl_lock, current_lease
from tests import forked_cli
from tests.databases import REDIS_URL
from tests.support import ROOT, wait_for

START = date.today() - timedelta(days=13)  # the 13th release is dated today: not stale


# --- fixtures and helpers ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def settings() -> Settings:
    return project_settings()


def enqueue_runtime(
    database_url: str, tmp_path: Path, settings: Settings, prefix: str, redis_url: str = REDIS_URL
) -> Runtime:
    return Runtime(
        database_url,
        feeds_dir=tmp_path / "feeds",
        enqueue=EnqueueTarget(redis_url, prefix, settings),
    )


@pytest.fixture
def runtime(
    database_url: str, tmp_path: Path, settings: Settings, prefix: str
) -> Iterator[Runtime]:
    runtime = enqueue_runtime(database_url, tmp_path, settings, prefix)
    yield runtime
    runtime.enqueue.close()
    runtime.database.dispose()


class Service:
    """A scheduler service (lease, APScheduler, jobs) in a thread of the test process, as
    `stnews schedule --enqueue` runs it; stopped as SIGTERM would stop it."""

    def __init__(self, runtime: Runtime, config: ScheduleConfig) -> None:
        self.runtime = runtime
        self.service = ScheduleService(runtime, config)
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.code = self.service.run_forever()

    def start(self) -> Service:
        self.thread.start()
        return self

    @property
    def running(self) -> bool:
        return self.thread.is_alive()

    def stop(self) -> int | None:
        self.runtime.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the scheduler did not stop"
        return self.code


@pytest.fixture
def services() -> Iterator[Callable[[Runtime, ScheduleConfig], Service]]:
    started: list[Service] = []

    def start(runtime: Runtime, config: ScheduleConfig) -> Service:
        started.append(service := Service(runtime, config).start())
        return service

    yield start
    for service in started:
        if service.running:
            service.stop()


def runs(database: Database, source: str | None = None) -> list[CrawlRun]:
    with database.session(readonly=True) as session:
        query = select(CrawlRun).order_by(CrawlRun.id)
        if source is not None:
            query = query.where(CrawlRun.source == source)
        return list(session.scalars(query))


def enqueue_runs(database: Database, source: str, status: str) -> list[CrawlRun]:
    return [
        run for run in runs(database, source) if (run.trigger, run.status) == ("enqueue", status)
    ]


def feed_titles(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [entry.title for entry in feedparser.parse(path.read_bytes()).entries]


def snapshot(folder: Path) -> dict[str, int]:
    """Modification time of every feed file: a rebuild that changes nothing keeps them."""
    return {path.name: path.stat().st_mtime_ns for path in sorted(folder.iterdir())}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisProxy:
    """A TCP relay to the test Redis that can be cut and restored: an outage of the Redis
    the scheduler knows by one unchanging URL. Starts cut (connections refused)."""

    def __init__(self) -> None:
        self.port = closed_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._stop: threading.Event | None = None
        self._acceptor: threading.Thread | None = None

    def up(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port))  # SO_REUSEADDR
        listener.settimeout(0.05)
        self._stop = threading.Event()
        self._acceptor = threading.Thread(
            target=self._accept, args=(listener, self._stop), daemon=True
        )
        self._acceptor.start()

    def down(self) -> None:
        if self._stop is not None:
            self._stop.set()
            self._acceptor.join(5)
            self._stop = self._acceptor = None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:  # the connections the client pooled are cut too
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket, stop: threading.Event) -> None:
        with listener:
            while not stop.is_set():
                try:
                    client, _ = listener.accept()
                except TimeoutError:
                    continue
                upstream = socket.create_connection(("127.0.0.1", 6379))
                with self._lock:
                    self._sockets += [client, upstream]
                for source, target in ((client, upstream), (upstream, client)):
                    threading.Thread(target=self._relay, args=(source, target), daemon=True).start()

    @staticmethod
    def _relay(source: socket.socket, target: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                target.sendall(data)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_RDWR)


def release(seq: int, title: str | None = None) -> ReleaseRecord:
    record = ReleaseRecord(
        source="nstc",
        native_id=f"release-{seq}",
        url=f"https://www.nstc.gov.tw/folksonomy/detail/release-{seq}?l=en",
        title=title or f"Release number {seq}",
        published_at=datetime(2024, 5, seq, 9, tzinfo=UTC),
        body=f"Body of release {seq}.",
        language="en",
        agency="National Science and Technology Council",
        agency_country="TW",
        fingerprint="",
        timezone="Asia/Taipei",
    )
    return replace(record, fingerprint=fingerprint(record.title, record.body))


# --- one run, in process -------------------------------------------------------------------------


def test_a_run_puts_the_start_urls_on_redis_as_messages_workers_accept(
    runtime: Runtime, database: Database, redis_client: redis.Redis, prefix: str
) -> None:
    loader = get_spider_loader(runtime.enqueue.settings)
    for source in ("nstc", "msit"):
        outcome = run_source(source, runtime)
        assert outcome.status == "enqueued", outcome.line()

        spider_cls = loader.load(source)
        key = RedisKeys.of(prefix, source).start_urls
        messages = redis_client.lrange(key, 0, -1)
        # NSTC's list is discovered: its round starts at the page whose menu links to it.
        points = spider_cls().start_points()
        assert points == (["https://www.nstc.gov.tw/?l=en"] if source == "nstc"
                          else spider_cls.start_urls)  # fmt: skip
        assert [json.loads(m) for m in messages] == [{"url": u} for u in points]

        # What a worker of this prefix reads, and the request it makes of each message: the
        # request the spider's own start() makes (a list page, or the discovery page).
        worker_cls = redis_spider_class(spider_cls)
        worker = worker_cls.from_crawler(
            get_crawler(worker_cls, distributed_settings(REDIS_URL, prefix))
        )
        assert worker.redis_key == key
        for message, url in zip(messages, points, strict=True):
            (request,) = worker.make_request_from_data(message)
            assert request.url == url and request.dont_filter
            if source == "nstc":
                assert request.callback == worker.parse_discovery and not request.meta
            else:
                assert request.meta == LIST_PAGE

        # Recorded as an enqueue, not as a crawl: no crawl lock, no poll of a feed source.
        (run,) = runs(database, source)
        assert (run.trigger, run.status, run.finish_reason) == (
            "enqueue",
            "enqueued",
            f"{len(messages)} start URL(s) on {key}",
        )
        assert run.finished_at is not None and run.pages == run.new == 0
        assert crawl_lock(database, source) is None
        with database.session(readonly=True) as session:
            assert finished_runs(session, source) == 0


def test_a_source_whose_last_round_is_still_queued_is_skipped(
    runtime: Runtime,
    database: Database,
    redis_client: redis.Redis,
    prefix: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    keys = RedisKeys.of(prefix, "nstc")
    assert run_source("nstc", runtime).status == "enqueued"

    # No worker took the start message yet: nothing more is pushed.
    with caplog.at_level(logging.INFO, logger="crawler.service.scheduled_run"):
        outcome = run_source("nstc", runtime)
    assert outcome.status == "skipped"
    queued = "its last round is still queued on Redis"
    assert outcome.reason == f"{queued} (1 start message(s), 0 request(s))"
    assert f"nstc: skipped: {outcome.reason}" in caplog.text
    assert redis_client.llen(keys.start_urls) == 1

    # A worker took it; the requests it found are queued: the round is under way.
    redis_client.lpop(keys.start_urls)
    redis_client.zadd(keys.requests, {"a queued request": 0})
    redis_client.sadd(keys.dupefilter, "a fingerprint of this round")
    outcome = run_source("nstc", runtime)
    assert outcome.status == "skipped"
    assert outcome.reason == f"{queued} (0 start message(s), 1 request(s))"
    assert redis_client.llen(keys.start_urls) == 0
    assert redis_client.sismember(keys.dupefilter, "a fingerprint of this round")

    # The round is over: the next run starts a new one, with its fingerprints cleared.
    redis_client.delete(keys.requests)
    assert run_source("nstc", runtime).status == "enqueued"
    assert redis_client.llen(keys.start_urls) == 1
    assert not redis_client.exists(keys.dupefilter)
    # Skips are logged only, as a crawl skipped for its lock is.
    assert [run.status for run in runs(database)] == ["enqueued", "enqueued"]


def test_the_feeds_are_rebuilt_when_the_database_changed_and_only_then(
    tmp_path: Path, database_url: str, database: Database, settings: Settings
) -> None:
    # No Redis needed: the feed check reads the database only (the client is never made).
    runtime = enqueue_runtime(database_url, tmp_path, settings, "unused", "redis://127.0.0.1:1")
    feeds = runtime.feeds_dir
    try:
        # Never built by this process: built, whatever the database holds.
        assert refresh_feeds(runtime) is not None
        assert (feeds / OPML_NAME).exists() and feed_titles(feeds / "all.atom") == []
        assert refresh_feeds(runtime) is None

        # A release stored (by a worker, say): rebuilt.
        with database.session() as session:
            save_release(session, release(1))
        assert refresh_feeds(runtime) is not None
        assert feed_titles(feeds / "all.atom") == ["Release number 1"]

        # A crawl run that stored nothing, an enqueue, a release seen again unchanged: the
        # feeds show none of that, and are left alone.
        built = snapshot(feeds)
        with database.session() as session:
            finish_run(session, start_run(session, "nstc", "worker"), "finished", {}, {})
            finish_run(session, start_run(session, "nstc", "enqueue"), "enqueued", {}, {})
            save_release(session, release(1))
        assert refresh_feeds(runtime) is None
        assert snapshot(feeds) == built

        # A new release, then a changed one: rebuilt each time.
        with database.session() as session:
            save_release(session, release(2))
        assert refresh_feeds(runtime) is not None
        assert feed_titles(feeds / "all.atom") == ["Release number 2", "Release number 1"]
        with database.session() as session:
            save_release(session, release(1, "Release number 1, corrected"))
        summary = refresh_feeds(runtime)
        assert summary is not None and "written" in summary
        assert "Release number 1, corrected" in feed_titles(feeds / "all.atom")
        assert refresh_feeds(runtime) is None
    finally:
        runtime.database.dispose()


def test_schedule_enqueue_refuses_to_start_without_redis(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dead = f"redis://:secret@127.0.0.1:{closed_port()}/0"
    code = stnews(["--db", database_url, "schedule", "--enqueue", "--redis", dead])
    err = capsys.readouterr().err
    assert code == 2
    assert "Redis not reachable at redis://:***@127.0.0.1" in err and "secret" not in err
    # Options of the other mode are refused rather than ignored.
    assert stnews(["--db", database_url, "schedule", "--prefix", "x", "--once"]) == 2
    assert "--prefix goes with --enqueue" in capsys.readouterr().err
    assert stnews(["--db", database_url, "schedule", "--enqueue", "--replay", "fixtures"]) == 2


# --- the scheduler, in a thread ------------------------------------------------------------------


def test_the_scheduler_enqueues_each_source_once_per_interval(
    runtime: Runtime,
    database: Database,
    redis_client: redis.Redis,
    prefix: str,
    services: Callable[[Runtime, ScheduleConfig], Service],
) -> None:
    interval = 0.5
    config = ScheduleConfig({"nstc": interval, "msit": interval}, jitter=0, lease_seconds=3)
    keys = [RedisKeys.of(prefix, source).start_urls for source in ("nstc", "msit")]
    taken: list[str] = []
    done = threading.Event()

    def worker() -> None:  # takes every start message at once, as idle workers would
        client = redis.Redis.from_url(REDIS_URL)
        while not done.is_set():
            popped = client.blpop(keys, timeout=0.05)
            if popped:
                taken.append(popped[0].decode())
        client.close()

    taker = threading.Thread(target=worker, daemon=True)
    taker.start()
    began = time.monotonic()
    service = services(runtime, config)
    try:
        wait_for(
            lambda: all(len(enqueue_runs(database, s, "enqueued")) >= 3 for s in ("nstc", "msit")),
            "three enqueues of each source",
        )
        assert service.stop() == 0
        window = time.monotonic() - began
    finally:
        done.set()
        taker.join(5)

    for source, key in zip(("nstc", "msit"), keys, strict=True):
        enqueued = enqueue_runs(database, source, "enqueued")
        # One start message per run (the last may not have been taken yet).
        assert len(enqueued) == taken.count(key) + redis_client.llen(key)
        # Runs fall on the interval's grid from the first, at once: never more often (a late
        # run under load only makes fewer).
        assert len(enqueued) <= int(window / interval) + 1, (len(enqueued), window)
    # It let go of its lease on stopping.
    assert current_lease(database) is None
    # One persisted job per source; the feed check is not one of them. It ran at the start.
    assert set(next_runs(database)) == {"nstc", "msit"}
    assert (runtime.feeds_dir / OPML_NAME).exists()


def test_a_redis_outage_is_a_recorded_failure_and_the_scheduler_keeps_running(
    tmp_path: Path,
    database_url: str,
    database: Database,
    settings: Settings,
    redis_client: redis.Redis,
    prefix: str,
    services: Callable[[Runtime, ScheduleConfig], Service],
    caplog: pytest.LogCaptureFixture,
) -> None:
    proxy = RedisProxy()  # down: connections refused
    runtime = enqueue_runtime(database_url, tmp_path, settings, prefix, proxy.url)
    key = RedisKeys.of(prefix, "nstc").start_urls
    try:
        with caplog.at_level(logging.WARNING, logger="crawler.service.scheduled_run"):
            outcome = run_source("nstc", runtime)
        assert outcome.status == "failed"
        assert "Connection refused" in (outcome.reason or "")
        (run,) = runs(database)
        assert (run.trigger, run.status) == ("enqueue", "failed")
        assert run.finish_reason == outcome.reason[:64]
        assert f"nstc: enqueue failed (run {run.id}): {outcome.reason}" in caplog.text

        # The scheduler: every run fails while Redis is down, and the next one still comes.
        service = services(runtime, ScheduleConfig({"nstc": 0.3}, jitter=0, lease_seconds=3))
        wait_for(lambda: len(enqueue_runs(database, "nstc", "failed")) >= 3, "failed runs")
        assert service.running

        proxy.up()  # Redis is back
        wait_for(lambda: enqueue_runs(database, "nstc", "enqueued"), "an enqueue")
        assert redis_client.llen(key) == 1
        redis_client.delete(key)  # as a worker would take it

        proxy.down()  # and gone again, with the scheduler's connection cut
        last = enqueue_runs(database, "nstc", "enqueued")[-1].id
        wait_for(
            lambda: any(r.id > last for r in enqueue_runs(database, "nstc", "failed")),
            "a failure after the connection was cut",
        )
        assert service.running
        enqueued = len(enqueue_runs(database, "nstc", "enqueued"))
        redis_client.delete(key)
        proxy.up()
        wait_for(
            lambda: len(enqueue_runs(database, "nstc", "enqueued")) > enqueued,
            "an enqueue after the outage",
        )
        assert service.stop() == 0
    finally:
        proxy.down()
        runtime.database.dispose()


# --- end to end: the scheduler and a `stnews worker` -------------------------------------------


@pytest.mark.slow  # the queue and the worker: SQLite leg only
def test_scheduler_and_a_worker_store_the_releases_and_publish_the_feeds(
    tmp_path: Path,
    database_url: str,
    database: Database,
    settings: Settings,
    redis_client: redis.Redis,
    prefix: str,
    services: Callable[[Runtime, ScheduleConfig], Service],
) -> None:
    site = SyntheticSite(12, start=START)
    fixtures = site.write_fixtures(tmp_path / "fixtures")
    runtime = enqueue_runtime(database_url, tmp_path, settings, prefix)
    feeds = runtime.feeds_dir
    key = RedisKeys.of(prefix, "nstc").start_urls
    config = ScheduleConfig({"nstc": 60}, jitter=0, lease_seconds=3, feed_check=0.2)
    service = services(runtime, config)
    # The round is on Redis before the worker starts, so that it need not wait for its next
    # look at the queue (every 5 s when idle).
    wait_for(lambda: redis_client.llen(key) == 1, "the start message")

    env = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    log = tmp_path / "worker.log"
    with forked_cli.Forked(
        ["--db", database_url, "worker", "nstc", "--redis", REDIS_URL,
         "--prefix", prefix, "--json", "-s", f"REPLAY_DIR={fixtures}",
         "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
         "-s", "ROBOTSTXT_OBEY=False"],
        stderr=log, env=env, cwd=ROOT,
    ) as worker:  # fmt: skip
        expected = {site.title(seq) for seq in range(1, 13)}
        wait_for(
            lambda: set(feed_titles(feeds / "all.atom")) == expected or worker.poll() is not None,
            "the feed with every release",
            timeout=60,
        )
        assert worker.poll() is None, log.read_text()
        worker.send_signal(signal.SIGTERM)
        stdout, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, log.read_text()
    (summary,) = json.loads(stdout)
    assert (summary["new"], summary["errors"], summary["stored"]) == (12, 0, 12)
    assert service.stop() == 0

    assert redis_client.llen(key) == 0  # the worker took the start message
    with database.session(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(Release)) == 12
    assert [(run.trigger, run.status) for run in runs(database)] == [
        ("enqueue", "enqueued"),
        ("worker", "interrupted"),
    ]
    # Every feed file written from what the worker stored, once the scheduler saw it.
    assert (feeds / OPML_NAME).exists()
    assert len(feed_titles(feeds / "all.atom")) == 12

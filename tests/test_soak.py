"""Soak: crawls, the scheduler, feed builds and 20 feed clients on one database at once.

    STNEWS_SOAK_SECONDS=600 .venv/bin/pytest -m soak tests/test_soak.py   # by hand
    STNEWS_TEST_DB=postgresql .venv/bin/pytest -m soak tests/test_soak.py # on PostgreSQL

For the duration (default 10 s, as in CI), concurrently:

- a crawl loop: `stnews crawl nstc` over a replayed synthetic site that grows by ten
  releases before each crawl;
- the scheduler (`stnews schedule`) crawling moeaidb and msit from the bundled fixtures
  every few seconds, rebuilding its feed files after news;
- a feed loop: `stnews feed` over and over;
- the feed server in this process, with 20 clients doing GETs and conditional GETs.

At the end the crawls still running are stopped as an operator would (SIGTERM). Then: no
"database is locked" anywhere, no 5xx, no failed run, every release a run counted as new
stored, each exactly once, and every feed file parses.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import signal
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import feedparser
import icalendar
import pytest
from sqlalchemy import func, select

from bench.sitegen import SyntheticSite
from storage import CrawlRun, Database, Release, Source
from tests import forked_cli
from tests.crawl_support import expected_release_ids
from tests.databases import new_database_url
from tests.support import FIXTURES, ROOT

SECONDS = float(os.environ.get("STNEWS_SOAK_SECONDS", "10"))
CLIENTS = 20
FIRST_SITE, GROWTH = 20, 10
SCHEDULED = ("moeaidb", "msit")
LOCKED = "database is locked"
PATHS = (
    "/feeds/all.atom",
    "/feeds/all.rss?limit=5",
    "/feeds/cooperation.json",
    "/feeds.opml",
    "/",
    "/healthz",
)

pytestmark = [pytest.mark.soak, pytest.mark.timeout(SECONDS + 240)]


def child_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    return env


def stnews(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return forked_cli.run(["--db", url, *args], env=child_env(), cwd=ROOT, timeout=300)


@dataclass
class Soak:
    url: str
    tmp: Path
    stop: threading.Event = field(default_factory=threading.Event)
    logs: list[str] = field(default_factory=list)  # every child's stderr
    failures: list[str] = field(default_factory=list)
    crawled: list[int] = field(default_factory=list)  # site sizes of finished crawls
    attempted: list[int] = field(default_factory=list)  # ... and of stopped ones
    feed_builds: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, message: str) -> None:
        with self.lock:
            self.failures.append(message)

    # --- the workers ---

    def crawl(self, *args: str) -> dict | None:
        """One `stnews crawl --json` child; stopped gracefully (SIGTERM) when the soak ends."""
        child = forked_cli.Forked(
            ["--db", self.url, "crawl", "--json", *args], env=child_env(), cwd=ROOT
        )
        signalled = False
        while True:
            try:
                stdout, stderr = child.communicate(timeout=0.2)
                break
            except subprocess.TimeoutExpired:
                if self.stop.is_set() and not signalled:
                    child.send_signal(signal.SIGTERM)  # as a scheduler or an operator stops it
                    signalled = True
        self.logs.append(stderr)
        if self.stop.is_set() and child.returncode == -signal.SIGTERM:
            return {"status": "not started"}  # stopped before Scrapy took over its signals
        stopped = self.stop.is_set() and child.returncode == 1  # "did not finish": expected
        if child.returncode != 0 and not stopped:
            self.fail(f"crawl {args} exited {child.returncode}: {stderr[-2000:]}")
            return None
        rows = json.loads(stdout)
        for row in rows:
            if row["status"] == "finished" and row["errors"]:
                self.fail(f"crawl {args}: {row}")
        return rows[0]

    def crawl_loop(self) -> None:
        replay = self.tmp / "replay"
        size = self.crawled[-1] + GROWTH
        while not self.stop.is_set():
            SyntheticSite(size).write_fixtures(replay)
            summary = self.crawl("nstc", "--replay", str(replay))
            if summary is None:
                return
            self.attempted.append(size)
            if summary["status"] == "finished":
                self.crawled.append(size)
            size += GROWTH

    def feed_loop(self) -> None:
        while not self.stop.is_set():
            done = stnews(self.url, "feed", "--out", str(self.tmp / "feeds"))
            self.logs.append(done.stderr)
            if done.returncode != 0:
                self.fail(f"stnews feed exited {done.returncode}: {done.stderr[-2000:]}")
                return
            self.feed_builds += 1

    def client(self, port: int, seed: int) -> None:
        rng = random.Random(seed)
        etags: dict[str, str] = {}
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while not self.stop.is_set():
            path = rng.choice(PATHS)
            headers = {"Accept-Encoding": "gzip"}
            if path in etags and rng.random() < 0.6:
                headers["If-None-Match"] = etags[path]
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.fail(f"GET {path}: {exc!r}")
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            with self.lock:
                self.statuses[response.status] += 1
            if response.status >= 500 or LOCKED.encode() in body:
                self.fail(f"GET {path}: {response.status} {body[:300]!r}")
            elif response.status not in (200, 304):
                self.fail(f"GET {path}: unexpected {response.status}")
            if etag := response.getheader("ETag"):
                etags[path] = etag
            time.sleep(rng.uniform(0.01, 0.05))  # a reader, not a load generator
        connection.close()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


def scheduler_command(url: str, tmp: Path) -> list[str] | None:
    """`stnews schedule` for the fixture sources."""
    sources = [arg for name in SCHEDULED for arg in ("--source", name)]
    return [
        "--db", url, "schedule", *sources,
        "--interval", "3", "--jitter", "0", "--replay", str(FIXTURES),
        "--feeds-dir", str(tmp / "scheduler-feeds"),
    ]  # fmt: skip


def wait_until_leading(scheduler: forked_cli.Forked, log: Path) -> None:
    """The soak starts once the scheduler runs its jobs (and handles SIGTERM)."""
    deadline = time.monotonic() + 120
    while "leader:" not in log.read_text(errors="replace"):
        assert scheduler.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, "the scheduler did not start"
        time.sleep(0.1)


def assert_feeds_parse(folder: Path) -> int:
    files = [path for path in folder.iterdir() if not path.name.startswith(".")]
    for path in files:
        data = path.read_bytes()
        if path.suffix == ".json":
            json.loads(data)
        elif path.suffix == ".opml":
            ET.fromstring(data)
        elif path.suffix == ".ics":
            icalendar.Calendar.from_ical(data)
        else:
            parsed = feedparser.parse(data)
            assert not parsed.bozo, (path.name, parsed.get("bozo_exception"))
    return len(files)


def test_everything_at_once_on_one_database(tmp_path: Path) -> None:
    from crawler.server import start_server

    url = new_database_url(tmp_path, "soak.db")
    Database(url).dispose()  # the schema, before anyone races to create it
    soak = Soak(url, tmp_path)
    records = Records()
    logging.getLogger().addHandler(records)
    scheduler: forked_cli.Forked | None = None
    schedule_log = tmp_path / "schedule.log"
    command = scheduler_command(url, tmp_path)
    server = start_server(url, "127.0.0.1", 0, cache_ttl=0.5)
    workers = [threading.Thread(target=soak.crawl_loop), threading.Thread(target=soak.feed_loop)]
    if command is None:  # no scheduler yet: a second crawler instead, over the fixtures
        workers.append(threading.Thread(target=lambda: second_crawler(soak)))
    workers += [
        threading.Thread(target=soak.client, args=(server.port, n), daemon=True)
        for n in range(CLIENTS)
    ]
    # A first crawl before the rest starts, so that the feeds have entries from the start.
    SyntheticSite(FIRST_SITE).write_fixtures(tmp_path / "replay")
    first = soak.crawl("nstc", "--replay", str(tmp_path / "replay"))
    assert first is not None and first["status"] == "finished", soak.failures
    soak.crawled.append(FIRST_SITE)
    soak.attempted.append(FIRST_SITE)
    try:
        if command is not None:
            scheduler = forked_cli.Forked(
                command,
                stdout=schedule_log,
                stderr=subprocess.STDOUT,
                env=child_env(),
                cwd=tmp_path,
            )
            wait_until_leading(scheduler, schedule_log)
        for worker in workers:
            worker.start()
        time.sleep(SECONDS)
    finally:
        soak.stop.set()
        for worker in workers:
            worker.join(timeout=240)  # the crawl and feed loops finish what they began
        if scheduler is not None:
            scheduler.send_signal(signal.SIGTERM)
            try:
                scheduler.wait(120)
            except subprocess.TimeoutExpired:
                scheduler.kill()
                scheduler.wait()
        server.stop()
        logging.getLogger().removeHandler(records)

    logs = [*soak.logs, *records.lines]
    if scheduler is not None:
        logs.append(schedule_log.read_text(errors="replace"))
        assert scheduler.returncode == 0, logs[-1][-3000:]
    assert not soak.failures, soak.failures[:5]
    assert not [log for log in logs if LOCKED in log]
    assert len(soak.attempted) > 1, "no crawl ran during the soak"
    assert soak.statuses[200] > 0 and not any(code >= 500 for code in soak.statuses)

    database = Database(url)
    try:
        with database.session(readonly=True) as session:
            per_source = dict(
                session.execute(
                    select(Source.name, func.count(Release.id))
                    .join(Release, Release.source_id == Source.id)
                    .group_by(Source.name)
                ).all()
            )
            distinct = session.scalar(
                select(func.count(func.distinct(Release.native_id))).where(
                    Release.native_id.is_not(None)
                )
            )
            total = session.scalar(select(func.count()).select_from(Release))
            run_statuses = Counter(session.scalars(select(CrawlRun.status)))
            counted = dict(
                session.execute(
                    select(CrawlRun.source, func.sum(CrawlRun.new)).group_by(CrawlRun.source)
                ).all()
            )
            finished = set(
                session.scalars(select(CrawlRun.source).where(CrawlRun.status == "finished"))
            )
    finally:
        database.dispose()
    # No write lost: every release a run counted as new is there, each once; the last
    # finished crawl's whole site at least. (A crawl stopped at the end of the soak may have
    # stored releases its run row could not count any more: stored ≥ counted, not equal.)
    for source, n in counted.items():
        assert (n or 0) <= per_source.get(source, 0), (source, n, per_source)
    assert distinct == total
    assert soak.crawled[-1] <= per_source["nstc"] <= soak.attempted[-1]
    for source in SCHEDULED:
        if source in finished:
            assert per_source.get(source) == len(expected_release_ids(source)), source
    # Stopped crawls are "interrupted"; none failed, none left "running".
    assert run_statuses["failed"] == 0 and run_statuses["running"] == 0, run_statuses

    built = stnews(url, "feed", "--out", str(tmp_path / "feeds"))
    assert built.returncode == 0, built.stderr
    assert assert_feeds_parse(tmp_path / "feeds") > 0
    if (tmp_path / "scheduler-feeds").is_dir():
        assert_feeds_parse(tmp_path / "scheduler-feeds")


def second_crawler(soak: Soak) -> None:
    """Stands in for the scheduler where there is none: crawls of the fixture sources."""
    while not soak.stop.is_set():
        if soak.crawl(*SCHEDULED, "--replay", str(FIXTURES)) is None:
            return

"""Crash safety: SIGKILL a crawl or a feed build anywhere; nothing is half written.

A crawl over a replayed synthetic site of 120 releases is killed when it has stored 0 (its
run just recorded), 20 and 60 releases; the feed writer is killed while writing and made
to fail at a rename or while writing data. After each kill the database holds whole
releases only (row, raw page, every required field), the killed run stays "running" until
the next crawl records it as interrupted, and a final `--full` crawl completes the set,
each release once.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import feedparser
import pytest
from icalendar import Calendar
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

import crawler.feeds.write as feed_write
from bench.sitegen import SyntheticSite
from crawler.feeds.ical import render_calendar
from crawler.feeds.write import render_feeds, write_feeds
from storage import CrawlRun, Database, RawResponse, Release, ReleaseTag, Source
from storage.rawpages import raw_body
from tests import forked_cli
from tests.databases import new_database_url
from tests.support import ROOT

RELEASES = 120
# Small writer batches: a kill lands between commits of 10 releases, not of 50.
BATCH = 10
KILL_AFTER = (0, 20, 60)  # stored releases when the crawl is killed


def env() -> dict[str, str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_LOG_LEVEL": "WARNING"}
    environment.pop("DATABASE_URL", None)
    return environment


@contextlib.contextmanager
def database(url: str) -> Iterator[Database]:
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()


def wait_for(
    condition: Callable[[], bool], proc: subprocess.Popen | forked_cli.Forked, timeout: float = 60
) -> bool:
    """Poll until ``condition``; False if the process ended first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.01)
    raise AssertionError("timed out waiting for the crawl")


def assert_consistent(db: Database, site: SyntheticSite) -> int:
    """Every stored release is whole; returns how many there are."""
    seq_by_uuid = {site.release_uuid(seq): seq for seq in range(1, site.count + 1)}
    with db.session(readonly=True) as session:
        releases = session.scalars(select(Release).options(selectinload(Release.raw))).all()
        raw_rows = session.scalar(select(func.count()).select_from(RawResponse))
        orphan_tags = session.scalar(
            select(func.count())
            .select_from(ReleaseTag)
            .where(~ReleaseTag.release_id.in_(select(Release.id)))
        )
        sources = set(session.scalars(select(Source.id)))
        native_ids = [r.native_id for r in releases]
        for release in releases:
            seq = seq_by_uuid[release.native_id]
            assert release.source_id in sources
            assert release.title == site.title(seq), "a release with another's content"
            assert release.body and release.url and release.fingerprint
            assert release.published_at is not None
            assert release.raw is not None, f"release {seq} stored without its raw page"
            page = raw_body(release.raw)
            assert release.native_id.encode() in page or site.title(seq).encode() in page
    assert raw_rows == len(releases), "raw pages without their release"
    assert orphan_tags == 0
    assert len(native_ids) == len(set(native_ids)), "a release stored twice"
    return len(releases)


def runs(db: Database) -> list[CrawlRun]:
    with db.session(readonly=True) as session:
        return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id)))


def test_killed_crawls_leave_whole_releases_and_a_rerun_completes_the_set(
    tmp_path: Path,
) -> None:
    site = SyntheticSite(RELEASES)
    replay = site.write_fixtures(tmp_path / "replay")
    url = new_database_url(tmp_path)
    command = ["--db", url, "crawl", "nstc", "--replay", str(replay), "--json", "--full",
               "-s", f"STORE_BATCH_SIZE={BATCH}"]  # fmt: skip
    killed_pids: list[int] = []
    with database(url) as db:
        for threshold in KILL_AFTER:
            proc = forked_cli.Forked(command, env=env(), cwd=ROOT)

            def reached(pid: int = proc.pid, at_least: int = threshold) -> bool:
                with db.session(readonly=True) as session:
                    mine = session.scalar(
                        select(func.count())
                        .select_from(CrawlRun)
                        .where(CrawlRun.pid == pid, CrawlRun.status == "running")
                    )
                    stored = session.scalar(select(func.count()).select_from(Release))
                return bool(mine) and stored >= at_least

            try:
                assert wait_for(reached, proc), f"the crawl ended before {threshold} releases"
                os.kill(proc.pid, signal.SIGKILL)
            finally:
                proc.kill()
                _, stderr = proc.communicate(timeout=30)
            assert proc.returncode == -signal.SIGKILL, stderr
            stored = assert_consistent(db, site)
            assert stored >= threshold
            assert stored < RELEASES, "killed too late to prove anything"
            recorded = {run.pid: run for run in runs(db)}
            # The killed run is still "running": only a later start can tell it is dead.
            assert recorded[proc.pid].status == "running"
            for pid in killed_pids:
                assert recorded[pid].status == "interrupted"
                assert recorded[pid].finish_reason == "process died"
            killed_pids.append(proc.pid)

        done = forked_cli.run(command, env=env(), cwd=ROOT, timeout=180)
        assert done.returncode == 0, done.stderr
        assert assert_consistent(db, site) == RELEASES
        statuses = [(run.pid, run.status) for run in runs(db)]
    assert statuses[:-1] == [(pid, "interrupted") for pid in killed_pids]
    assert statuses[-1][1] == "finished"


# --- the feed writer ---------------------------------------------------------------------------

BASES = ("https://feeds-a.example/", "https://feeds-b.example/")


@pytest.fixture(scope="module")
def feed_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from storage import save_release
    from tests.feeds.conftest import seed_records

    url = new_database_url(tmp_path_factory.mktemp("feed-crash"))
    with database(url) as db, db.session() as session:
        for record in seed_records():
            save_release(session, record)
    yield url


def versions(url: str) -> dict[str, dict[str, bytes]]:
    """Each base URL's complete version of every file."""
    found: dict[str, dict[str, bytes]] = {}
    with database(url) as db:
        for base in BASES:
            documents = render_feeds(db, base, feed_write.DEFAULT_LIMIT)
            found[base] = {doc.name: doc.data for doc in documents}
            found[base][feed_write.OPML_NAME] = feed_write.render_opml(documents, base)
            found[base][feed_write.CALENDAR_NAME] = render_calendar(db, base_url=base)
    return found


def assert_whole(out: Path, expected: dict[str, dict[str, bytes]]) -> None:
    """Every visible file is one complete version of itself, and parses."""
    for path in out.iterdir():
        if path.name.startswith("."):
            continue  # a writer's temporary file: never served, never a feed's name
        data = path.read_bytes()
        assert data in {found[path.name] for found in expected.values()}, path.name
        if path.suffix == ".opml":
            ET.fromstring(data)
        elif path.suffix == ".ics":
            Calendar.from_ical(data)
        elif path.suffix != ".json":
            assert not feedparser.parse(data).bozo


def contents(out: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in out.iterdir()}


def temporary_files(out: Path) -> list[str]:
    return sorted(path.name for path in out.iterdir() if path.name.startswith("."))


def test_a_failing_write_leaves_each_file_old_or_new(
    feed_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = versions(feed_db)
    out = tmp_path / "feeds"
    real_replace, real_fsync = os.replace, os.fsync
    with database(feed_db) as db:
        write_feeds(db, out, BASES[0])
        assert contents(out) == expected[BASES[0]]
        # Fail the 1st, 2nd, ... rename of a rewrite: files before it are new, the rest old.
        changed = [n for n in expected[BASES[0]] if expected[BASES[0]][n] != expected[BASES[1]][n]]
        assert len(changed) > 5
        for failing in sorted({1, 2, len(changed) // 2, len(changed)}):
            write_feeds(db, out, BASES[0])
            calls = [0]

            def flaky_replace(src: str, dst: str, failing: int = failing, calls=calls) -> None:
                calls[0] += 1
                if calls[0] == failing:
                    raise OSError("disk full (injected)")
                real_replace(src, dst)

            monkeypatch.setattr(feed_write.os, "replace", flaky_replace)
            with pytest.raises(OSError, match="injected"):
                write_feeds(db, out, BASES[1])
            monkeypatch.setattr(feed_write.os, "replace", real_replace)
            assert_whole(out, expected)
            now = contents(out)
            assert sum(now[n] == expected[BASES[1]][n] for n in changed) == failing - 1
            assert temporary_files(out) == []  # the failed write cleaned up after itself

        # A failure while the data is written (before any rename) leaves the old files.
        write_feeds(db, out, BASES[0])

        def failing_fsync(fd: int) -> None:
            raise OSError("I/O error (injected)")

        monkeypatch.setattr(feed_write.os, "fsync", failing_fsync)
        with pytest.raises(OSError, match="injected"):
            write_feeds(db, out, BASES[1])
        monkeypatch.setattr(feed_write.os, "fsync", real_fsync)
        assert contents(out) == expected[BASES[0]]
        write_feeds(db, out, BASES[1])
    assert contents(out) == expected[BASES[1]]


# A feed build with a slow disk (each fsync takes 20 ms), so that a kill lands mid-write.
SLOW_FEED = (
    "import os, sys, time\n"
    "real = os.fsync\n"
    "def fsync(fd):\n"
    "    time.sleep(0.02)\n"
    "    real(fd)\n"
    "os.fsync = fsync\n"
    "from crawler.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
SLOW_FEED_COMMAND = [sys.executable, "-c", SLOW_FEED]


def test_a_killed_feed_build_leaves_each_file_old_or_new(feed_db: str, tmp_path: Path) -> None:
    expected = versions(feed_db)
    out = tmp_path / "feeds"
    with database(feed_db) as db:
        write_feeds(db, out, BASES[0])
    rng = random.Random(1)
    for attempt in range(3):
        base = BASES[(attempt + 1) % 2]
        before = contents(out)
        proc = subprocess.Popen(
            [*SLOW_FEED_COMMAND, "--db", feed_db, "feed", "--out", str(out), "--base-url", base],
            env=env(),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:

            def writing(before: dict[str, bytes] = before) -> bool:
                return any(
                    path.name.startswith(".") or before.get(path.name) != path.read_bytes()
                    for path in out.iterdir()
                )

            if wait_for(writing, proc):
                time.sleep(rng.uniform(0, 0.15))
        finally:
            proc.kill()
            proc.wait(30)
        assert_whole(out, expected)
    with database(feed_db) as db:
        write_feeds(db, out, BASES[0])
    visible = {name: data for name, data in contents(out).items() if not name.startswith(".")}
    assert visible == expected[BASES[0]]


def test_the_next_write_removes_a_killed_writers_temporary_files(
    feed_db: str, tmp_path: Path
) -> None:
    out = tmp_path / "feeds"
    out.mkdir()
    # What a SIGKILL between mkstemp and os.replace leaves behind.
    stale = out / ".all.atom.k1ll3d.tmp"
    stale.write_bytes(b"<?xml version='1.0'?><feed")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    with database(feed_db) as db:
        write_feeds(db, out, BASES[0])
    assert temporary_files(out) == []


def test_a_second_sigterm_still_records_the_run_as_interrupted(tmp_path: Path) -> None:
    """Ctrl-C twice: Scrapy stops at once, without closing the spider; the run is still closed.

    The site accepts connections and never answers, so the graceful stop that the first
    SIGTERM starts waits on the download, and the second one forces the shutdown.
    """
    url = new_database_url(tmp_path)
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True).start()
    start_url = f"http://127.0.0.1:{listener.getsockname()[1]}/en/news"
    command = [
        "--db", url, "crawl", "nstc", "--json", "-a", f"start_url={start_url}",
        "-s", "ALLOW_PRIVATE_ADDRESSES=True", "-s", "ROBOTSTXT_OBEY=False",
        "-s", "DOWNLOAD_TIMEOUT=120", "-s", "RETRY_ENABLED=False",
    ]  # fmt: skip
    proc = forked_cli.Forked(command, env=env(), cwd=ROOT)
    try:
        assert wait_for(lambda: bool(accepted), proc), "the crawl never connected"
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the graceful stop is now waiting on the hanging download
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
        listener.close()
        for connection in accepted:
            connection.close()
    assert proc.returncode == 1, stderr
    assert json.loads(stdout)[0]["status"] == "interrupted"
    with database(url) as db:
        [run] = runs(db)
    assert (run.status, run.finish_reason) == ("interrupted", "forced shutdown")
    assert run.finished_at is not None

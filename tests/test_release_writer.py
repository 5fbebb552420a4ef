"""The release writer (storage/writer.py): a child process storing releases in batches.

Outcomes, batching, one bad release failing alone, draining on close, two writers at once,
the child's death (pending releases fail, new ones are refused) and its parent's death (it
stops after the batch in hand), and a crawl whose writer dies (the crawl goes on inline).
Runs on SQLite, and on PostgreSQL with STNEWS_TEST_DB=postgresql.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bench.sitegen import SyntheticSite
from crawler.config import default
from crawler.normalize import fingerprint
from storage import Database, RawResponse, Release, ReleaseRecord, ReleaseTag, SaveOutcome
from storage.releases import RawPage, raw_body
from storage.writer import CHILD_NAME, ReleaseWriteError, ReleaseWriter, WriterDied
from tests import forked_cli
from tests.crawl_support import crawl_json
from tests.databases import new_database_url
from tests.support import ROOT, child_pids, wait_for

#: The project's default wait for a fuller batch (crawler/settings.py STORE_BATCH_SECONDS).
LINGER = default("STORE_BATCH_SECONDS")


def record(n: int, **changes) -> ReleaseRecord:
    made = ReleaseRecord(
        source="nstc",
        native_id=f"r{n}",
        url=f"https://www.nstc.gov.tw/folksonomy/detail/r{n}?l=en",
        title=f"Release number {n}",
        published_at=datetime(2024, 1, 1, tzinfo=UTC),
        body=f"Body of release {n}.\n\nSecond paragraph.",
        language="en",
        agency="National Science and Technology Council",
        agency_country="TW",
        fingerprint="",
        timezone="Asia/Taipei",
        partners=["FR", "JP"],
        topics=["ai"],
        raw=RawPage(
            f"<html>page {n}</html>".encode(), datetime.now(UTC), "https://x/", 200, "utf-8", "v1"
        ),
    )
    made = replace(made, **changes)
    return replace(made, fingerprint=fingerprint(made.title, made.body))


class Reports:
    """Collects what a writer reports, by record number."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.outcomes: dict[int, SaveOutcome | None] = {}
        self.errors: dict[int, BaseException] = {}

    def callback(self, n: int) -> Callable[[SaveOutcome | None, BaseException | None], None]:
        def on_done(outcome: SaveOutcome | None, error: BaseException | None) -> None:
            with self.lock:
                assert n not in self.outcomes, f"record {n} reported twice"
                self.outcomes[n] = outcome
                if error is not None:
                    self.errors[n] = error

        return on_done

    def count(self) -> int:
        with self.lock:
            return len(self.outcomes)


def write(writer: ReleaseWriter, reports: Reports, records: dict[int, ReleaseRecord]) -> None:
    for n, item in records.items():
        writer.submit(item, reports.callback(n))


def write_all(url: str, records: dict[int, ReleaseRecord], batch_size: int = 50) -> Reports:
    reports = Reports()
    writer = ReleaseWriter(url, batch_size, LINGER)
    write(writer, reports, records)
    writer.close(timeout=60)
    assert reports.count() == len(records)
    return reports


def started(writer: ReleaseWriter, reports: Reports, n: int = 0) -> int:
    """Start the child with one release and wait until it is stored; the child's pid."""
    writer.submit(record(n), reports.callback(n))
    wait_for(lambda: n in reports.outcomes, "the writer's first release")
    assert writer.pid is not None
    return writer.pid


@pytest.fixture
def db(database: Database) -> Database:
    return database  # migrated: the writer does not migrate


def stored(db: Database) -> dict[str, Release]:
    """Every stored release by site id, each checked whole: raw page and tags."""
    with db.session(readonly=True) as session:
        releases = session.scalars(
            select(Release).options(selectinload(Release.raw), selectinload(Release.tags))
        ).all()
        orphans = session.scalar(
            select(func.count())
            .select_from(RawResponse)
            .where(~RawResponse.release_id.in_(select(Release.id)))
        ) + session.scalar(
            select(func.count())
            .select_from(ReleaseTag)
            .where(~ReleaseTag.release_id.in_(select(Release.id)))
        )
        assert orphans == 0
        found = {}
        for release in releases:
            assert release.raw is not None, f"{release.native_id} without its raw page"
            assert raw_body(release.raw)
            tags = {(tag.kind, tag.value) for tag in release.tags}
            assert tags == {("partner", p) for p in release.partners} | {
                ("topic", t) for t in release.topics
            }
            found[release.native_id] = release
    assert len(found) == len(releases), "a release stored twice"
    return found


def count(db: Database) -> int:
    with db.session(readonly=True) as session:
        return session.scalar(select(func.count()).select_from(Release))


@contextlib.contextmanager
def stopped(pid: int) -> Iterator[None]:
    """The process stands still (SIGSTOP) inside the block; what is sent meanwhile waits."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
        time.sleep(0.3)  # the sender thread has put everything into the pipe
    finally:
        os.kill(pid, signal.SIGCONT)


def gone(pid: int) -> bool:
    """The process has exited (a zombie counts: it runs nothing any more)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


# --- outcomes, batches, failures -------------------------------------------------------------


def test_outcomes_new_unchanged_updated(db: Database) -> None:
    reports = write_all(db.url, {1: record(1), 2: record(2)})
    assert reports.outcomes == {1: SaveOutcome.NEW, 2: SaveOutcome.NEW}
    first = stored(db)["r2"].updated_at
    edited = record(2, body="An edited body.", partners=["KR"], topics=[])
    reports = write_all(db.url, {1: record(1), 2: edited, 3: record(3)})
    assert reports.outcomes == {
        1: SaveOutcome.UNCHANGED,
        2: SaveOutcome.UPDATED,
        3: SaveOutcome.NEW,
    }
    releases = stored(db)
    assert set(releases) == {"r1", "r2", "r3"}
    assert releases["r2"].body == "An edited body." and releases["r2"].updated_at > first
    assert releases["r2"].partners == ["KR"]  # and its tags follow (checked by stored())
    # Sightings of one release in one batch (same site id, same URL, same content): one row.
    # A batch is written in (source, site id, URL) order, so which one is new is not fixed.
    same = {
        4: record(4),
        5: record(4, url="https://www.nstc.gov.tw/elsewhere/r4"),
        6: record(4, native_id=None),
        7: record(4, native_id="r4-again", url="https://www.nstc.gov.tw/x/r4"),
    }
    reports = write_all(db.url, same)
    assert sorted(reports.outcomes.values()) == [SaveOutcome.NEW] + [SaveOutcome.UNCHANGED] * 3
    assert len(stored(db)) == 4


def test_batches_take_what_is_waiting_up_to_the_batch_size(db: Database) -> None:
    reports = Reports()
    writer = ReleaseWriter(db.url, batch_size=10, linger=LINGER)
    pid = started(writer, reports)
    with stopped(pid):
        write(writer, reports, {n: record(n) for n in range(1, 26)})
    figures = writer.close(timeout=60)
    assert figures is not None
    assert (figures.batches, figures.largest_batch, figures.releases) == (4, 10, 26)  # 1+10+10+5
    assert set(reports.outcomes.values()) == {SaveOutcome.NEW} and not reports.errors
    assert figures.cpu_seconds > 0
    assert len(stored(db)) == 26


def test_short_of_a_batch_the_writer_flushes_after_its_linger(db: Database) -> None:
    """Releases that come in a trickle are gathered for ``linger`` seconds after the first,
    then written together without waiting for a full batch or a close; a close writes what
    is waiting at once."""
    linger = 3.0
    reports = Reports()
    writer = ReleaseWriter(db.url, batch_size=50, linger=linger)
    pid = started(writer, reports)
    with stopped(pid):  # all three wait in the pipe: the child takes them together
        write(writer, reports, {n: record(n) for n in (1, 2, 3)})
    resumed = time.monotonic()
    wait_for(lambda: reports.count() == 4, "the short batch written by time", timeout=60)
    assert time.monotonic() - resumed >= linger * 0.9  # it waited for more
    assert len(stored(db)) == 4  # before any close
    write(writer, reports, {n: record(n) for n in (4, 5)})
    closing = time.monotonic()
    figures = writer.close(timeout=60)
    assert time.monotonic() - closing < linger  # no linger on a close
    assert figures is not None
    assert (figures.batches, figures.largest_batch, figures.releases) == (3, 3, 6)
    assert len(stored(db)) == 6


def test_flush_writes_what_is_waiting_without_its_linger(db: Database) -> None:
    """A crawl with nothing left to fetch flushes: the child writes what it holds at once
    instead of waiting out a long linger for releases that are not coming."""
    linger = 60.0
    reports = Reports()
    writer = ReleaseWriter(db.url, batch_size=50, linger=linger)
    writer.flush()  # before the child starts: nothing to do, and no child started for it
    assert writer.pid is None
    write(writer, reports, {n: record(n) for n in (1, 2, 3)})
    asked = time.monotonic()
    writer.flush()
    wait_for(lambda: reports.count() == 3, "the flushed batch", timeout=linger / 2)
    assert time.monotonic() - asked < linger / 2
    assert len(stored(db)) == 3 and not reports.errors
    writer.flush()  # nothing waiting: harmless
    figures = writer.close(timeout=60)
    assert figures is not None and figures.releases == 3


def test_a_bad_release_fails_alone_and_whole(db: Database) -> None:
    """In one batch: a release whose raw page the database refuses after its row was written,
    and one whose date cannot be bound; both fail with their error, the others commit."""
    reports = Reports()
    writer = ReleaseWriter(db.url, batch_size=50, linger=LINGER)
    pid = started(writer, reports)
    bad_raw = record(3)
    bad_raw = replace(bad_raw, raw=replace(bad_raw.raw, status=None))  # NOT NULL column
    naive = record(5, published_at=datetime(2024, 1, 1))
    with stopped(pid):
        write(writer, reports, {1: record(1), 2: record(2), 3: bad_raw, 4: record(4), 5: naive})
    figures = writer.close(timeout=60)
    assert figures is not None and figures.batches == 2 and figures.failed == 2
    assert set(reports.errors) == {3, 5}
    assert all(isinstance(error, ReleaseWriteError) for error in reports.errors.values())
    assert "IntegrityError" in str(reports.errors[3]), reports.errors[3]
    assert "naive datetime" in str(reports.errors[5]), reports.errors[5]
    assert {n: reports.outcomes[n] for n in (0, 1, 2, 4)} == dict.fromkeys(
        (0, 1, 2, 4), SaveOutcome.NEW
    )
    assert set(stored(db)) == {"r0", "r1", "r2", "r4"}  # no row of r3 without its raw page


def test_close_writes_and_reports_everything_submitted(db: Database) -> None:
    reports = Reports()
    writer = ReleaseWriter(db.url, batch_size=20, linger=LINGER)
    write(writer, reports, {n: record(n) for n in range(300)})
    figures = writer.close(timeout=60)
    assert reports.count() == 300 and not reports.errors
    assert figures is not None and figures.releases == 300 and figures.largest_batch <= 20
    assert len(stored(db)) == 300
    assert not writer.alive
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(record(1), reports.callback(1))
    assert ReleaseWriter(db.url, 50, LINGER).close() is None  # never started: nothing to do


def test_two_writers_at_once_store_each_release_once(db: Database) -> None:
    """Two crawls of one source storing the same releases at once, in opposite orders."""
    records = {n: record(n) for n in range(120)}
    results: list[Reports] = []
    threads = [
        threading.Thread(target=lambda order=order: results.append(write_all(db.url, order)))
        for order in (records, dict(reversed(records.items())))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert len(results) == 2
    for reports in results:
        assert not reports.errors, reports.errors
    for n in records:
        outcomes = sorted(reports.outcomes[n] for reports in results)
        assert outcomes == [SaveOutcome.NEW, SaveOutcome.UNCHANGED], (n, outcomes)
    assert len(stored(db)) == 120


# --- deaths ---------------------------------------------------------------------------------


def test_a_dead_writer_fails_what_it_held_and_refuses_more(db: Database) -> None:
    reports = Reports()
    writer = ReleaseWriter(db.url, 50, LINGER)
    pid = started(writer, reports)
    os.kill(pid, signal.SIGSTOP)
    write(writer, reports, {n: record(n) for n in range(1, 6)})
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: reports.count() == 6, "the pending releases to fail")
    assert set(reports.errors) == {1, 2, 3, 4, 5}
    for error in reports.errors.values():
        assert isinstance(error, WriterDied)
        assert f"release writer process (pid {pid}) was killed by SIGKILL" in str(error)
    assert not writer.alive and writer.death is not None
    with pytest.raises(WriterDied):
        writer.submit(record(9), reports.callback(9))
    assert writer.close(timeout=10) is None
    assert set(stored(db)) == {"r0"}


# The parent of a writer, in a process of its own: starts the writer, prints its pid, then
# submits what each line of its standard input asks for ("first last").
PARENT = """
import sys, threading
from tests.test_release_writer import record
from storage.writer import ReleaseWriter

writer = ReleaseWriter(sys.argv[1], batch_size=int(sys.argv[2]), linger=1.0)
done = threading.Event()
writer.submit(record(0), lambda outcome, error: done.set())
done.wait(60)
print(writer.pid, flush=True)
for line in sys.stdin:
    first, last = map(int, line.split())
    for n in range(first, last):
        writer.submit(record(n), lambda outcome, error: None)
    print("submitted", flush=True)
"""


@contextlib.contextmanager
def writer_parent(url: str, batch_size: int) -> Iterator[tuple[subprocess.Popen[str], int]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, url, str(batch_size)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )
    try:
        assert parent.stdout is not None
        yield parent, int(parent.stdout.readline())
    finally:
        parent.kill()
        parent.wait(30)


def ask(parent: subprocess.Popen[str], first: int, last: int) -> None:
    assert parent.stdin is not None and parent.stdout is not None
    parent.stdin.write(f"{first} {last}\n")
    parent.stdin.flush()
    assert parent.stdout.readline().strip() == "submitted"


def test_the_child_ignores_sigint_and_sigterm_and_stops_when_its_parent_dies(
    db: Database,
) -> None:
    with writer_parent(db.url, batch_size=10) as (parent, pid):
        # Ctrl-C or a process-group SIGTERM: the parent decides, the writer goes on.
        os.kill(pid, signal.SIGINT)
        os.kill(pid, signal.SIGTERM)
        ask(parent, 1, 11)
        wait_for(lambda: count(db) == 11, "the writer to store after SIGINT and SIGTERM")
        assert not gone(pid)
        # The parent dies with 30 releases sent: the writer stops without taking them.
        with stopped(pid):
            ask(parent, 11, 41)
            parent.kill()
            parent.wait(30)
        wait_for(lambda: gone(pid), "the writer to exit after its parent died", timeout=20)
    assert len(stored(db)) == 11


def test_a_writer_killed_mid_batch_leaves_whole_releases(db: Database) -> None:
    with writer_parent(db.url, batch_size=25) as (parent, pid):
        ask(parent, 1, 400)
        wait_for(lambda: count(db) >= 26, "a few batches", every=0.005)
        os.kill(pid, signal.SIGKILL)
        parent.kill()
    # stored() checks every release is whole: row, tags and raw page, or nothing.
    assert 26 <= len(stored(db)) < 400


# --- in a crawl --------------------------------------------------------------------------------


def children_of(pid: int) -> list[tuple[int, str]]:
    """The live children of ``pid`` with their command lines."""
    found = []
    for child in child_pids(pid):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        found.append((child, command))
    return found


def test_a_crawl_whose_writer_dies_drops_what_it_held_and_goes_on_inline(
    tmp_path: Path,
) -> None:
    site = SyntheticSite(60)
    replay = site.write_fixtures(tmp_path / "site")
    url = new_database_url(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    command = ["--db", url, "crawl", "nstc", "--replay", str(replay), "--json", "--full",
               "-s", "STORE_WRITER=process"]  # fmt: skip
    with forked_cli.Forked(command, env=env, cwd=ROOT) as crawl:  # killed if still running
        writers: list[int] = []

        def writer_started() -> bool:
            writers.extend(pid for pid, cmd in children_of(crawl.pid) if CHILD_NAME in cmd)
            return bool(writers) or crawl.poll() is not None

        wait_for(writer_started, "the crawl's release writer", timeout=60, every=0.002)
        assert writers, "the crawl ended without starting a writer"
        os.kill(writers[0], signal.SIGKILL)
        stdout, stderr = crawl.communicate(timeout=120)
    # Releases read but lost: the run is "incomplete", not "finished", and the command says so.
    assert crawl.returncode == 1, stderr
    (summary,) = json.loads(stdout)
    assert summary["status"] == "incomplete", summary
    lost = summary["dropped"].get("storage-error", 0)
    assert lost >= 1 and set(summary["dropped"]) == {"storage-error"}, summary
    assert summary["new"] == 60 - lost, summary
    assert f"release writer process (pid {writers[0]}) was killed by SIGKILL" in stderr
    assert "storing the rest of this crawl's releases inline" in stderr
    assert "Traceback" not in stderr, stderr
    database = Database(url)
    try:
        assert len(stored(database)) == 60 - lost
        again = crawl_json(url, "nstc", "--full", replay=replay)["nstc"]
        assert (again["new"], again["unchanged"], again["dropped"]) == (lost, 60 - lost, {})
        assert len(stored(database)) == 60
    finally:
        database.dispose()

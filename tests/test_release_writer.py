"""Storing releases in batches: ``storage.writer.BatchWriter`` (what writing a batch means)
and ``crawler.store_writers.ReactorBatches`` (when a batch is written).

Outcomes, batches up to the batch size, a batch short of full written after its linger or at
a flush, one bad release failing alone and whole, a close writing everything submitted, two
writers of one source at once, and a process killed in the middle of its batches (whole
releases only). Runs on SQLite, and on PostgreSQL with STNEWS_TEST_DB=postgresql.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from twisted.internet.task import Clock

from crawler.config import default
from crawler.normalize import fingerprint
from crawler.store_writers import ReactorBatches
from storage import Database, RawResponse, Release, ReleaseRecord, ReleaseTag, SaveOutcome
from storage.rawpages import raw_body
from storage.releases import RawPage
from storage.writer import BatchWriter, ReleaseWriteError
from tests.support import ROOT, wait_for

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


def write(writer: ReactorBatches, reports: Reports, records: dict[int, ReleaseRecord]) -> None:
    for n, item in records.items():
        writer.submit(item, reports.callback(n))


def write_all(db: Database, records: dict[int, ReleaseRecord], batch_size: int = 50) -> Reports:
    """Every record through one batch writer, in batches of ``batch_size``."""
    reports = Reports()
    writer = BatchWriter(db)
    entries = list(records.items())
    for start in range(0, len(entries), batch_size):
        for n, outcome, error in writer.write(entries[start : start + batch_size]):
            reports.callback(n)(
                None if outcome is None else SaveOutcome(outcome),
                None if error is None else ReleaseWriteError(error),
            )
    assert reports.count() == len(records)
    return reports


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The reactor's timers, as a clock the test moves (``ReactorBatches``'s linger). Set
    on the package, where ``from twisted.internet import reactor`` looks first: no reactor
    is installed in the test process."""
    import twisted.internet

    fake = Clock()
    monkeypatch.setattr(twisted.internet, "reactor", fake, raising=False)
    return fake


# --- outcomes, batches, failures -------------------------------------------------------------


def test_outcomes_new_unchanged_updated(db: Database) -> None:
    reports = write_all(db, {1: record(1), 2: record(2)})
    assert reports.outcomes == {1: SaveOutcome.NEW, 2: SaveOutcome.NEW}
    first = stored(db)["r2"].updated_at
    edited = record(2, body="An edited body.", partners=["KR"], topics=[])
    reports = write_all(db, {1: record(1), 2: edited, 3: record(3)})
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
    reports = write_all(db, same)
    assert sorted(reports.outcomes.values()) == [SaveOutcome.NEW] + [SaveOutcome.UNCHANGED] * 3
    assert len(stored(db)) == 4


def test_a_batch_is_written_when_full_and_the_rest_at_close(db: Database, clock: Clock) -> None:
    reports = Reports()
    writer = ReactorBatches(db, batch_size=10, linger=LINGER)
    write(writer, reports, {n: record(n) for n in range(1, 26)})
    assert reports.count() == 20  # two full batches, written as they filled
    assert count(db) == 20
    writer.close()
    assert reports.count() == 25 and not reports.errors
    assert set(reports.outcomes.values()) == {SaveOutcome.NEW}
    figures = writer.figures
    assert (figures["batches"], figures["largest_batch"], figures["releases"]) == (3, 10, 25)
    assert len(stored(db)) == 25
    assert not writer.alive


def test_short_of_a_batch_the_writer_writes_after_its_linger(db: Database, clock: Clock) -> None:
    """Releases that come in a trickle are gathered for ``linger`` seconds after the first,
    then written together without waiting for a full batch or a close."""
    linger = 3.0
    reports = Reports()
    writer = ReactorBatches(db, batch_size=50, linger=linger)
    write(writer, reports, {1: record(1)})
    clock.advance(linger * 0.9)
    write(writer, reports, {n: record(n) for n in (2, 3)})
    assert reports.count() == 0 and count(db) == 0  # waiting for more
    clock.advance(linger * 0.1)  # the first release's linger is over: all three, together
    assert reports.count() == 3 and count(db) == 3
    assert writer.figures["batches"] == 1
    write(writer, reports, {4: record(4)})  # a new batch, a new linger
    assert clock.getDelayedCalls() and reports.count() == 3
    writer.close()  # no linger on a close, and its timer is gone
    assert reports.count() == 4 and not clock.getDelayedCalls()
    assert writer.figures["batches"] == 2 and len(stored(db)) == 4


def test_flush_writes_what_is_waiting_without_its_linger(db: Database, clock: Clock) -> None:
    """A crawl with nothing left to fetch flushes: what is held is written at once instead of
    waiting out a long linger for releases that are not coming."""
    reports = Reports()
    writer = ReactorBatches(db, batch_size=50, linger=60.0)
    writer.flush()  # nothing waiting: nothing to do
    assert writer.figures["batches"] == 0
    write(writer, reports, {n: record(n) for n in (1, 2, 3)})
    writer.flush()
    assert reports.count() == 3 and not reports.errors and len(stored(db)) == 3
    assert not clock.getDelayedCalls()  # the linger's timer went with the flush
    writer.close()
    assert writer.figures["releases"] == 3 and writer.figures["batches"] == 1


def test_a_bad_release_fails_alone_and_whole(db: Database) -> None:
    """In one batch: a release whose raw page the database refuses after its row was written,
    and one whose date cannot be bound; both fail with their error, the others commit."""
    bad_raw = record(3)
    bad_raw = replace(bad_raw, raw=replace(bad_raw.raw, status=None))  # NOT NULL column
    naive = record(5, published_at=datetime(2024, 1, 1))
    writer = BatchWriter(db)
    report = writer.write(
        [(1, record(1)), (2, record(2)), (3, bad_raw), (4, record(4)), (5, naive)]
    )
    errors = {seq: error for seq, _, error in report if error is not None}
    assert set(errors) == {3, 5}
    assert "IntegrityError" in errors[3], errors[3]
    assert "naive datetime" in errors[5], errors[5]
    assert {seq: outcome for seq, outcome, _ in report if seq not in errors} == dict.fromkeys(
        (1, 2, 4), SaveOutcome.NEW.value
    )
    # Each failed release was tried once more alone, then reported.
    assert (writer.figures["batches"], writer.figures["retried"], writer.figures["failed"]) == (
        1,
        2,
        2,
    )
    assert set(stored(db)) == {"r1", "r2", "r4"}  # no row of r3 without its raw page


def _everything_stored(db: Database) -> dict[str, list[tuple]]:
    """Every row a release leaves, keyed by URL instead of id, without the write times."""
    from sqlalchemy import text

    from storage.search import TABLE

    skip = {"id", "source_id", "first_seen_at", "last_seen_at", "updated_at"}
    with db.session(readonly=True) as session:
        urls = dict(session.execute(select(Release.id, Release.url)).all())
        releases = sorted(
            tuple((name, value) for name, value in row._mapping.items() if name not in skip)
            for row in session.execute(select(Release.__table__))
        )
        tags = sorted((urls[tag.release_id], tag.kind, tag.value)
                      for tag in session.scalars(select(ReleaseTag)))  # fmt: skip
        raws = sorted(
            (urls[row.release_id], row.final_url, row.status, row.encoding,
             row.extractor_version, raw_body(row))
            for row in session.scalars(select(RawResponse))
        )  # fmt: skip
        if db.engine.dialect.name == "postgresql":
            sql = f"SELECT release_id, CAST(document AS text) FROM {TABLE}"
        else:
            sql = f"SELECT rowid, title || '|' || body FROM {TABLE}"
        search = sorted((urls[key], value) for key, value in session.execute(text(sql)))
        # The write time of the page as the database holds it (its text, not read back).
        fetched = sorted(
            (urls[key], value)
            for key, value in session.execute(
                text("SELECT release_id, CAST(fetched_at AS TEXT) FROM raw_responses")
            )
        )
    return {"releases": releases, "tags": tags, "raw": raws, "search": search, "fetched": fetched}


def test_batches_store_what_releases_saved_one_by_one_store(tmp_path) -> None:
    """Issue 19 made the batches cheaper (tokens by translate and split, the driver's
    executemany): every row and search entry of real releases in many scripts, written in
    batches by the writer, equals what ``save_release`` writes one at a time."""
    import json
    from pathlib import Path

    from crawler.classify.scoring import held_out
    from storage import save_release
    from tests.databases import new_database_url

    realset = Path(__file__).parent / "classify" / "realset.jsonl"
    lines = realset.read_text(encoding="utf-8").splitlines()
    # The development part only: the held-out part is the classifier's test, read by no other.
    items = [item for item in map(json.loads, lines) if not held_out(item["id"])]
    by_language: dict[str, list[dict]] = {}
    for item in items:
        by_language.setdefault(item.get("language") or "?", []).append(item)
    chosen = [item for group in by_language.values() for item in group[:12]]
    assert len(by_language) >= 5 and len(chosen) >= 60
    records = [
        record(n, title=item["title"], body=item["body"] or "", language=item["language"],
               partners=sorted(item.get("partners") or ["FR"])[:3], topics=["ai", "space"][: n % 3],
               attachments=[{"name": "annex", "url": f"https://www.nstc.gov.tw/a/{n}.pdf"}],
               evidence=[f"title: {item['title'][:20]}"], is_cooperation=n % 2 == 0)
        for n, item in enumerate(chosen)
    ]  # fmt: skip
    # Pages fetched at times given in another zone too: stored as UTC either way.
    taipei = ZoneInfo("Asia/Taipei")
    records = [
        replace(r, raw=replace(r.raw, fetched_at=r.raw.fetched_at.astimezone(taipei)))
        if n % 2 and r.raw is not None
        else r
        for n, r in enumerate(records)
    ]
    batched = Database(new_database_url(tmp_path / "batched"))
    one_by_one = Database(new_database_url(tmp_path / "one"))
    try:
        writer = BatchWriter(batched)
        for start in range(0, len(records), 20):
            report = writer.write([(n, r) for n, r in enumerate(records[start : start + 20])])
            assert all(error is None for _, _, error in report), report
        for item in records:
            with one_by_one.session() as session:
                save_release(session, item)
        assert writer.figures["retried"] == 0
        assert _everything_stored(batched) == _everything_stored(one_by_one)
    finally:
        batched.dispose()
        one_by_one.dispose()


def test_a_release_that_fails_in_its_batch_is_tried_again_alone(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release rolled back in its batch (a deadlock victim, say) is written in a
    transaction of its own; so is every release of a batch that could not commit."""
    import storage.writer

    real = storage.writer.save_releases

    def victim_in_batches(session, records, sources):
        if len(records) == 1:
            return real(session, records, sources)
        outcomes = real(session, records[:1] + records[2:], sources)
        return [outcomes[0], RuntimeError("deadlock detected"), *outcomes[1:]]

    monkeypatch.setattr(storage.writer, "save_releases", victim_in_batches)
    writer = BatchWriter(db)
    report = writer.write([(n, record(n)) for n in (1, 2, 3)])
    assert [(seq, outcome, error) for seq, outcome, error in report] == [
        (n, SaveOutcome.NEW.value, None) for n in (1, 2, 3)
    ]
    assert (writer.figures["retried"], writer.figures["failed"]) == (1, 0)

    def batch_cannot_commit(session, records, sources):
        outcomes = real(session, records, sources)
        if len(records) > 1:
            raise RuntimeError("could not serialize access")  # rolls the whole batch back
        return outcomes

    monkeypatch.setattr(storage.writer, "save_releases", batch_cannot_commit)
    report = writer.write([(n, record(n)) for n in (4, 5)])
    assert [outcome for _, outcome, _ in report] == [SaveOutcome.NEW.value] * 2
    assert (writer.figures["retried"], writer.figures["failed"]) == (3, 0)
    assert set(stored(db)) == {"r1", "r2", "r3", "r4", "r5"}


def test_a_failed_batch_reports_every_release_as_an_error(db: Database) -> None:
    """``ReactorBatches`` never leaves an item waiting for its report: if writing a batch
    raises, each of its releases is reported failed."""
    reports = Reports()
    writer = ReactorBatches(db, batch_size=2, linger=LINGER)

    def broken(batch: list[tuple[int, ReleaseRecord]]) -> list[tuple[int, str, str]]:
        raise RuntimeError("the database went away")

    writer._writer.write = broken  # type: ignore[method-assign]
    write(writer, reports, {1: record(1), 2: record(2)})
    assert set(reports.errors) == {1, 2}
    assert all("the database went away" in str(error) for error in reports.errors.values())
    assert all(isinstance(error, ReleaseWriteError) for error in reports.errors.values())


def test_two_writers_at_once_store_each_release_once(db: Database) -> None:
    """Two crawls of one source storing the same releases at once, in opposite orders."""
    records = {n: record(n) for n in range(120)}
    results: list[Reports] = []
    threads = [
        threading.Thread(target=lambda order=order: results.append(write_all(db, order, 20)))
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


# --- a kill -----------------------------------------------------------------------------------

# A process writing batches of 25 releases (as a crawl's store step does), until killed.
WRITER = """
import sys
from storage import Database
from storage.writer import BatchWriter
from tests.test_release_writer import record

writer = BatchWriter(Database(sys.argv[1], migrate=False))
for start in range(1, 400, 25):
    writer.write([(n, record(n)) for n in range(start, min(start + 25, 400))])
"""


def test_a_writer_killed_mid_batch_leaves_whole_releases(db: Database) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c", WRITER, db.url], cwd=ROOT, env=env)
    try:
        wait_for(
            lambda: count(db) >= 26 or process.poll() is not None, "a few batches", every=0.005
        )
    finally:
        process.kill()  # SIGKILL (nothing, if it already ended: then the assertion below fails)
        process.wait(30)
    assert process.returncode == -signal.SIGKILL, "the writer ended before it was killed"
    # stored() checks every release is whole: row, tags and raw page, or nothing; and the
    # count is whole batches only.
    releases = stored(db)
    assert 26 <= len(releases) < 399
    assert len(releases) % 25 == 0, len(releases)

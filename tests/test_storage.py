from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from crawler.normalize import fingerprint
from storage import Database, Release, ReleaseRecord, SaveOutcome, list_releases, save_release
from storage.models import CrawlRun, RawResponse
from storage.rawpages import decompress_page, raw_body
from storage.releases import RawPage
from storage.runs import finish_run, mark_interrupted, start_run


def make_record(**changes) -> ReleaseRecord:
    record = ReleaseRecord(
        source="nstc",
        native_id="d82a8144",
        url="https://www.nstc.gov.tw/folksonomy/detail/d82a8144?l=en",
        title="Taiwan and France sign",
        published_at=datetime(2023, 11, 28, 16, tzinfo=UTC),
        body="First paragraph.\n\nSecond paragraph.",
        language="en",
        agency="National Science and Technology Council",
        agency_country="TW",
        fingerprint="",
        timezone="Asia/Taipei",
        raw=RawPage(b"<html>page</html>", datetime.now(UTC), "https://x/", 200, "utf-8", "nstc/1"),
    )
    record = replace(record, **changes)
    return replace(record, fingerprint=fingerprint(record.title, record.body))


def count(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(Release))


def test_new_then_unchanged(database: Database) -> None:
    with database.session() as session:
        assert save_release(session, make_record()) is SaveOutcome.NEW
    with database.session() as session:
        assert save_release(session, make_record()) is SaveOutcome.UNCHANGED
    assert count(database) == 1


def test_same_release_by_id_url_or_content_is_one_row(database: Database) -> None:
    with database.session() as session:
        save_release(session, make_record())
    same_id_other_url = make_record(url="https://www.nstc.gov.tw/folksonomy/detail/d82a8144")
    same_url_no_id = make_record(native_id=None)
    same_content = make_record(native_id="other", url="https://www.nstc.gov.tw/x")
    for record in (same_id_other_url, same_url_no_id, same_content):
        with database.session() as session:
            assert save_release(session, record) is SaveOutcome.UNCHANGED
    assert count(database) == 1


def test_changed_content_updates_row_and_time(database: Database) -> None:
    with database.session() as session:
        save_release(session, make_record())
    with database.session() as session:
        before = session.scalar(select(Release))
        first_updated = before.updated_at
    edited = make_record(body="First paragraph.\n\nSecond paragraph, edited.")
    with database.session() as session:
        assert save_release(session, edited) is SaveOutcome.UPDATED
    with database.session() as session:
        row = session.scalar(select(Release))
        assert row.body.endswith("edited.")
        assert row.updated_at > first_updated
        assert row.first_seen_at == before.first_seen_at
    assert count(database) == 1


def test_raw_response_is_kept_compressed(database: Database) -> None:
    with database.session() as session:
        save_release(session, make_record())
    with database.session() as session:
        raw = session.scalar(select(RawResponse))
        assert raw_body(raw) == b"<html>page</html>"
        assert raw.body_zlib != b"<html>page</html>"
        assert raw.extractor_version == "nstc/1"


def test_raw_pages_stored_before_zstd_still_read() -> None:
    # Pages stored as zlib streams (before issue 19) and as zstd frames both come back.
    import zlib

    page = b"<html>" + b"<p>text</p>" * 500 + b"</html>"
    assert decompress_page(zlib.compress(page, 6)) == page
    assert decompress_page(zlib.compress(page, 1)) == page
    from storage.rawpages import compress_page

    stored = compress_page(page)
    assert stored[:4] == b"\x28\xb5\x2f\xfd" and len(stored) < len(page) // 5
    assert decompress_page(stored) == page


def test_raw_pages_are_the_frames_one_shot_compression_writes() -> None:
    # Issue 19: one compressor per thread, reused and told each page's size, writes the same
    # bytes as a new one each time: what is stored does not change. Fixture pages of every
    # size in turn (a large one after a small one and back), an empty page, a failed call.
    import sys
    import threading
    from pathlib import Path

    from storage.rawpages import RAW_ZSTD_LEVEL, compress_page

    if sys.version_info >= (3, 14):
        from compression import zstd
    else:
        from backports import zstd

    fixtures = Path(__file__).parent.parent / "fixtures"
    pages = [path.read_bytes() for path in sorted(fixtures.rglob("*.html"))]
    assert len(pages) > 100
    pages += [b"", b"x", pages[0] * 40, b"y" * 3, pages[1]]
    for page in pages:
        assert compress_page(page) == zstd.compress(page, RAW_ZSTD_LEVEL)
    with pytest.raises(TypeError):
        compress_page("not bytes")  # type: ignore[arg-type]
    assert compress_page(pages[2]) == zstd.compress(pages[2], RAW_ZSTD_LEVEL)
    other: list[bytes] = []
    thread = threading.Thread(target=lambda: other.append(compress_page(pages[3])))
    thread.start()
    thread.join()
    assert other == [zstd.compress(pages[3], RAW_ZSTD_LEVEL)]


def test_datetimes_come_back_aware(database: Database) -> None:
    with database.session() as session:
        save_release(session, make_record())
    with database.session() as session:
        (row,) = list_releases(session)
        assert row.published_at == datetime(2023, 11, 28, 16, tzinfo=UTC)


def test_failed_transaction_leaves_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError), database.session() as session:
        save_release(session, make_record())
        raise RuntimeError("crash after the write, before commit")
    assert count(database) == 0


def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive"), database.session() as session:
        save_release(session, make_record(published_at=datetime(2023, 1, 1)))


def test_list_filters(database: Database) -> None:
    with database.session() as session:
        save_release(session, make_record())
        save_release(
            session,
            make_record(
                source="msit",
                native_id="212",
                url="https://msit/212",
                title="Other",
                published_at=datetime(2018, 7, 6, tzinfo=UTC),
            ),
        )
    with database.session() as session:
        assert [r.source.name for r in list_releases(session)] == ["nstc", "msit"]
        assert [r.source.name for r in list_releases(session, sources=["msit"])] == ["msit"]
        since = datetime(2020, 1, 1, tzinfo=UTC)
        assert [r.native_id for r in list_releases(session, since=since)] == ["d82a8144"]


def test_runs_recorded_and_dead_ones_interrupted(database: Database) -> None:
    with database.session() as session:
        run_id = start_run(session, "nstc")
        finish_run(session, run_id, "finished", {"pages": 3, "new": 2}, {"missing-date": 1})
        dead = start_run(session, "msit")
        session.get(CrawlRun, dead).pid = 2**22 + 12345  # no such process
    with database.session() as session:
        assert mark_interrupted(session) == 1
    with database.session() as session:
        runs = {run.source: run for run in session.scalars(select(CrawlRun))}
        assert runs["nstc"].status == "finished" and runs["nstc"].new == 2
        assert runs["nstc"].dropped == {"missing-date": 1}
        assert runs["msit"].status == "interrupted"


def test_partner_and_topic_tags_follow_classification(database: Database) -> None:
    from storage import ReleaseTag

    with database.session() as session:
        save_release(session, make_record(partners=["FR"], topics=["ai", "space"]))
    with database.session() as session:
        save_release(session, make_record(body="Changed.", partners=["FR", "DE"], topics=["space"]))
    with database.session() as session:
        tags = {(t.kind, t.value) for t in session.scalars(select(ReleaseTag))}
    assert tags == {("partner", "FR"), ("partner", "DE"), ("topic", "space")}


def test_processes_opening_a_new_sqlite_database_at_once_all_get_in(tmp_path) -> None:
    # Each connection switches the file to WAL; SQLite refuses a concurrent switch at once
    # ("database is locked") rather than waiting. Seen when two crawls start together.
    import threading

    from storage.db import make_engine

    for trial in range(40):
        url = f"sqlite:///{tmp_path / f'new-{trial}.db'}"
        barrier = threading.Barrier(8)
        errors: list[Exception] = []

        def connect(
            url: str = url, barrier: threading.Barrier = barrier, errors: list = errors
        ) -> None:
            engine = make_engine(url, create_directory=False)
            barrier.wait()
            try:
                with engine.connect():
                    pass
            except Exception as exc:  # collected, asserted below
                errors.append(exc)
            finally:
                engine.dispose()

        threads = [threading.Thread(target=connect) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, (trial, errors)


# --- a batch saved at once (issue 19) ----------------------------------------------------------


def _stored(database: Database) -> list[tuple]:
    """Every stored release with its tags and raw page, and what a search finds."""
    from storage.browse import Filters, browse

    with database.session(readonly=True) as session:
        rows = [
            (r.native_id, r.url, r.title, r.body, r.fingerprint, r.partners,
             sorted((t.kind, t.value) for t in r.tags), raw_body(session.get(RawResponse, r.id)))
            for r in session.scalars(select(Release).order_by(Release.native_id))
        ]  # fmt: skip
        hits = {}
        for query in ("semiconductor", "France", "about"):
            page = browse(session, Filters(query=query, cooperation_only=False), limit=50)
            hits[query] = sorted(r.native_id for r in page.releases)
    return [*rows, hits]


def _batch() -> list[ReleaseRecord]:
    first = make_record(native_id="a1", url="https://www.nstc.gov.tw/d/a1", partners=["FR"],
                        title="Taiwan and France sign a semiconductor pact")  # fmt: skip
    second = make_record(native_id="b2", url="https://www.nstc.gov.tw/d/b2", topics=["ai"],
                         title="Second release", body="About AI.\n\nMore.")  # fmt: skip
    changed = make_record(native_id="c3", url="https://www.nstc.gov.tw/d/c3",
                          title="Third, changed since stored", body="New text.")  # fmt: skip
    again = replace(first, url="https://www.nstc.gov.tw/d/a1?again")  # the same release twice
    return [first, second, changed, again]


def test_a_batch_saved_at_once_stores_what_one_by_one_stores(tmp_path) -> None:
    from storage.releases import save_releases
    from tests.databases import new_database_url

    stored = []
    for way in ("batch", "one by one"):
        database = Database(new_database_url(tmp_path / way.replace(" ", "")))
        with database.session() as session:  # a release stored before, changed in the batch
            save_release(session, make_record(native_id="c3", url="https://www.nstc.gov.tw/d/c3"))
        if way == "batch":
            with database.session() as session:
                outcomes = save_releases(session, _batch())
        else:
            outcomes = []
            for record in _batch():
                with database.session() as session:
                    outcomes += save_releases(session, [record])
        assert outcomes == [SaveOutcome.NEW, SaveOutcome.NEW, SaveOutcome.UPDATED,
                            SaveOutcome.UNCHANGED]  # fmt: skip
        stored.append(_stored(database))
        database.dispose()
    assert stored[0] == stored[1]
    assert stored[0][-1] == {"semiconductor": ["a1"], "France": ["a1"], "about": ["b2"]}


def test_a_batch_writes_its_new_rows_tags_and_raw_pages_by_one_statement_each(
    database: Database,
) -> None:
    # Issue 19: a new release's tags and raw page were two statements of their own; in a
    # batch they are written with the batch's search entries, one statement per table.
    from sqlalchemy import event

    from storage.releases import save_releases

    seen: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement.split("(")[0].strip())

    records = [
        make_record(native_id=f"n{i}", url=f"https://www.nstc.gov.tw/d/n{i}", partners=["FR"],
                    topics=["ai"], title=f"Release {i}", body=f"Text {i}.")
        for i in range(5)
    ]  # fmt: skip
    event.listen(database.engine, "before_cursor_execute", note)
    try:
        with database.session() as session:
            assert save_releases(session, records) == [SaveOutcome.NEW] * 5
    finally:
        event.remove(database.engine, "before_cursor_execute", note)
    assert seen.count("INSERT INTO releases") == 1  # the rows too (pipecost5)
    assert seen.count("INSERT INTO release_tags") == 1
    assert seen.count("INSERT INTO raw_responses") == 1
    with database.session(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(RawResponse)) == 5
        tags = {(t.kind, t.value) for r in session.scalars(select(Release)) for t in r.tags}
    assert tags == {("partner", "FR"), ("topic", "ai")}


def test_a_batch_s_new_rows_get_their_own_tags_raw_pages_and_search_entries(
    database: Database,
) -> None:
    # The batch's rows are inserted by one statement whose ids come back in no promised
    # order: each release's tags, raw page and search entry must still be its own.
    from storage.releases import save_releases
    from storage.search import matches

    partners = ["FR", "DE", "JP", "US", "KR", "GB"]
    records = [
        make_record(native_id=f"m{i}", url=f"https://www.nstc.gov.tw/d/m{i}", partners=[code],
                    title=f"Release {code}", body=f"Text word{code.lower()} {i}.",
                    raw=RawPage(b"<p>x</p>", datetime.now(UTC), f"https://x/{code}", 200,
                                "utf-8", "nstc/1"))
        for i, code in enumerate(partners)
    ]  # fmt: skip
    with database.session() as session:
        assert save_releases(session, records) == [SaveOutcome.NEW] * len(records)
    dialect = database.engine.dialect.name
    with database.session(readonly=True) as session:
        for release in session.scalars(select(Release)):
            code = release.title.removeprefix("Release ")
            assert [(t.kind, t.value) for t in release.tags] == [("partner", code)]
            raw = session.get(RawResponse, release.id)
            assert raw is not None and raw.final_url == f"https://x/{code}"
            found = matches(dialect, f"word{code.lower()}")
            assert found is not None
            assert session.scalars(select(found.c.release_id)).all() == [release.id]


def test_a_batch_meeting_a_row_stored_meanwhile_is_saved_one_by_one(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Another writer stores a release between the batch's look-up and its INSERT: the
    # batch's one INSERT fails on the URL, and the records are saved one by one, the
    # release seen again (not a storage error), the others new.
    from storage import releases
    from storage.releases import save_releases

    stored = make_record(native_id="w1", url="https://www.nstc.gov.tw/d/w1")
    with database.session() as session:
        save_release(session, stored)
    monkeypatch.setattr(releases._StoredMatches, "read",
                        classmethod(lambda cls, *args: cls({}, {}, {})))  # fmt: skip
    batch = [
        make_record(native_id="w0", url="https://www.nstc.gov.tw/d/w0", title="Other"),
        stored,
        make_record(native_id="w2", url="https://www.nstc.gov.tw/d/w2", title="Third"),
    ]
    with caplog.at_level("DEBUG", logger="storage.releases"), database.session() as session:
        outcomes = save_releases(session, batch)
    assert "record by record" in caplog.text
    assert outcomes == [SaveOutcome.NEW, SaveOutcome.UNCHANGED, SaveOutcome.NEW]
    assert count(database) == 3


def test_one_failing_record_of_a_batch_fails_alone(database: Database) -> None:
    from storage.links import UnsafeLink
    from storage.releases import save_releases

    good, unsafe, other = _batch()[0], _batch()[1], _batch()[2]
    unsafe = replace(unsafe, image_url="javascript:alert(1)")  # refused while it is saved
    with database.session() as session:
        outcomes = save_releases(session, [good, unsafe, other])
    assert outcomes[0] is SaveOutcome.NEW and outcomes[2] is SaveOutcome.NEW
    assert isinstance(outcomes[1], UnsafeLink)
    rows = _stored(database)
    assert [row[0] for row in rows[:-1]] == ["a1", "c3"]
    assert rows[-1] == {"semiconductor": ["a1"], "France": ["a1"], "about": []}


def test_a_crawl_s_validators_are_saved_by_one_statement_and_replace_the_stored(
    database: Database,
) -> None:
    from sqlalchemy import event

    from storage.models import HttpValidator
    from storage.validators import save_validators

    pages = [f"https://www.nstc.gov.tw/list?page={i}" for i in range(4)]
    with database.session() as session:
        save_validators(session, {url: ('"old"', None) for url in pages})
    inserts: list[str] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.startswith("INSERT"):
            inserts.append(statement)

    new = {url: (f'"{i}"', "Mon, 01 Jan 2024 00:00:00 GMT") for i, url in enumerate(pages)}
    new[pages[3]] = (None, None)  # nothing usable: the stored row goes
    new["https://www.nstc.gov.tw/list?page=9"] = ('"9"', None)
    event.listen(database.engine, "before_cursor_execute", note)
    try:
        with database.session() as session:
            save_validators(session, new)
    finally:
        event.remove(database.engine, "before_cursor_execute", note)
    assert len(inserts) == 1
    with database.session(readonly=True) as session:
        stored = {v.url: (v.etag, v.last_modified) for v in session.scalars(select(HttpValidator))}
    assert stored == {url: value for url, value in new.items() if value != (None, None)}

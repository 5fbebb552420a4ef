"""Issue 18, item 8: values longer than their columns are fitted before the store, the same way
on SQLite (which would keep them) and PostgreSQL (which would refuse them).

The corpus is `fixtures/bad/limits/` (SYNTHETIC NSTC pages written by its `make_cases.py`):
a 4 KB `data:` image URL, a 3,000-character image URL, 400-digit and 129-character site ids,
5,000-character and 1,201-character Chinese titles, a 2,000-character contact, an
8,000-character summary, a list link over the URL column, and a list page with a
600-character ETag; with controls at the limits. It is crawled through the real spider,
pipelines and batch store. Run on both backends (`STNEWS_TEST_DB=postgresql`).
"""

from __future__ import annotations

import dataclasses
import shutil
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from storage import Database, ReleaseRecord, save_release
from storage.health import MonitorEvent, record_health
from storage.limits import ELLIPSIS, ValueTooLong, column_limit, fit_release
from storage.models import CrawlRun, HttpValidator, Release
from storage.releases import RawPage, save_releases
from storage.runs import finish_run, start_run
from storage.validators import save_validators
from tests.corpus_cases import load_cases
from tests.safety_support import CORPUS, crawl

_cases = load_cases("limits")
CASES = _cases.CASES
LIST_URL = _cases.LIST_URL
LONG_URL_PATH = _cases.LONG_URL_PATH
case_id = _cases.case_id

LIMITS = CORPUS / "limits"


def record(**changes) -> ReleaseRecord:
    base = ReleaseRecord(
        source="nstc", native_id="1", url="https://www.nstc.gov.tw/detail/1", title="A title",
        published_at=datetime(2024, 3, 1, tzinfo=UTC), body="Body.", language="en",
        agency="NSTC", agency_country="TW", fingerprint="f" * 64,
        raw=RawPage(b"<html></html>", datetime(2024, 3, 1, tzinfo=UTC),
                    "https://www.nstc.gov.tw/detail/1", 200, "utf-8", "v1"),
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


# --- the fitting itself -----------------------------------------------------------------------


def test_limits_are_the_models_own() -> None:
    # String(n) columns and the max_length of Text columns; an unbounded body has none.
    assert column_limit(Release, "native_id") == Release.__table__.c.native_id.type.length
    assert column_limit(Release, "title") == Release.__table__.c.title.info["max_length"]
    assert column_limit(Release, "body") is None
    assert column_limit(HttpValidator, "etag") == HttpValidator.__table__.c.etag.type.length


def test_each_kind_of_value_is_fitted_its_own_way() -> None:
    id_limit = column_limit(Release, "native_id")
    long_id = "7" * 400
    fitted, adjustments = fit_release(record(
        native_id=long_id,
        image_url="data:image/png;base64," + "A" * 4000,
        title="T" * 5000,
        contact_org="C" * 2000,
        raw=dataclasses.replace(record().raw, final_url="https://x.example/" + "p" * 3000,
                                encoding="e" * 40),
    ))  # fmt: skip
    assert {(a.field, a.action) for a in adjustments} == {
        ("native_id", "digest"), ("image_url", "dropped"), ("title", "cut"),
        ("contact_org", "cut"), ("final_url", "replaced"), ("encoding", "dropped"),
    }  # fmt: skip
    assert len(fitted.native_id) == id_limit and fitted.native_id.startswith("7" * 80)
    assert fitted.image_url is None
    assert len(fitted.title) == column_limit(Release, "title") and fitted.title.endswith(ELLIPSIS)
    assert len(fitted.contact_org) == column_limit(Release, "contact_org")
    assert fitted.raw.final_url == fitted.url and fitted.raw.encoding is None
    # Stable and unique: the same id gives the same value, a different one another.
    again, _ = fit_release(record(native_id=long_id))
    other, _ = fit_release(record(native_id="7" * 399 + "8"))
    assert again.native_id == fitted.native_id != other.native_id
    # Fitting a fitted record changes nothing (the store fits again, silently).
    assert fit_release(fitted) == (fitted, [])


def test_values_at_the_limit_are_untouched() -> None:
    exact = record(native_id="9" * column_limit(Release, "native_id"), title="字" * 1000)
    assert fit_release(exact) == (exact, [])


def test_a_release_url_over_its_column_is_refused_not_cut() -> None:
    with pytest.raises(ValueTooLong) as refused:
        fit_release(record(url="https://www.nstc.gov.tw/" + "u" * 3000))
    assert refused.value.field == "url"


# --- the store, on the backend under test ------------------------------------------------------


def test_the_store_fits_what_reaches_it_directly(database: Database) -> None:
    long_id = "4" * 400
    with database.session() as session:
        outcome = save_release(
            session,
            record(
                native_id=long_id,
                image_url="data:," + "x" * 5000,
                title="Long " * 400,
                contact_org="c" * 900,
            ),
        )
    assert outcome.value == "new"
    with database.session() as session:  # the same long id again: the same row
        assert save_release(session, record(native_id=long_id)).value in ("unchanged", "updated")
    with database.session(readonly=True) as session:
        rows = session.scalars(select(Release)).all()
    assert len(rows) == 1
    assert len(rows[0].native_id) == column_limit(Release, "native_id")
    assert rows[0].image_url is None


def test_a_refused_record_does_not_fail_its_batch(database: Database) -> None:
    good = record(native_id="ok", url="https://www.nstc.gov.tw/detail/ok", fingerprint="a" * 64)
    bad = record(native_id="bad", url="https://www.nstc.gov.tw/" + "u" * 3000,
                 fingerprint="b" * 64)  # fmt: skip
    with database.session() as session:
        outcomes = save_releases(session, [bad, good])
    assert isinstance(outcomes[0], ValueTooLong) and outcomes[1].value == "new"
    with database.session(readonly=True) as session:
        assert [r.native_id for r in session.scalars(select(Release))] == ["ok"]


def test_over_long_validators_are_not_kept(database: Database) -> None:
    url = "https://www.nstc.gov.tw/list"
    with database.session() as session:
        save_validators(session, {url: ('"old"', "Mon, 01 Jan 2024 00:00:00 GMT")})
    with database.session() as session:
        save_validators(session, {url: ('"' + "e" * 600 + '"', "Tue, 02 Jan 2024 00:00:00 GMT")})
    with database.session(readonly=True) as session:
        stored = session.get(HttpValidator, url)
        assert stored is not None
        assert (stored.etag, stored.last_modified) == (None, "Tue, 02 Jan 2024 00:00:00 GMT")
    with database.session() as session:  # nothing usable: the row goes, no stale ETag stays
        save_validators(session, {url: ("e" * 600, "m" * 100)})
    with database.session(readonly=True) as session:
        assert session.get(HttpValidator, url) is None


def test_long_run_reasons_and_health_messages_are_cut(database: Database) -> None:
    with database.session() as session:
        run_id = start_run(session, "nstc")
        finish_run(session, run_id, "finished", {}, {}, finish_reason="closespider " * 40)
        record_health(session, "nstc", "degraded", ["field missing: " + "x" * 3000], False)
    with database.session(readonly=True) as session:
        run = session.get(CrawlRun, run_id)
        assert run is not None and len(run.finish_reason) == column_limit(CrawlRun, "finish_reason")
        event = session.scalars(select(MonitorEvent)).one()
        assert len(event.message) == column_limit(MonitorEvent, "message")


# --- a whole crawl of the corpus ---------------------------------------------------------------


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory):
    from tests.databases import new_database_url

    tmp = tmp_path_factory.mktemp("limits")
    replay = tmp / "replay"
    shutil.copytree(LIMITS, replay / "nstc", ignore=shutil.ignore_patterns("*.py", "*.toml"))
    (replay / "nstc" / "responses.json").rename(replay / "nstc" / "index.json")
    db = new_database_url(tmp)
    sources = LIMITS / "sources.toml"
    first = crawl(db, tmp, "nstc", replay=replay, sources=sources)
    second = crawl(db, tmp, "nstc", replay=replay, sources=sources)
    database = Database(db)
    with database.session(readonly=True) as session:
        rows = {r.url: r for r in session.scalars(select(Release))}
        validator = session.get(HttpValidator, LIST_URL)
        runs = [r.status for r in session.scalars(select(CrawlRun).order_by(CrawlRun.id))]
        for row in rows.values():
            session.expunge(row)
    database.dispose()
    return first, second, rows, validator, runs


def by_case(rows: dict[str, Release], case: str) -> Release:
    key = f"/detail/{case_id(case)}?"
    found = [row for url, row in rows.items() if key in url]
    assert len(found) == 1, (case, sorted(rows))
    return found[0]


def test_every_case_is_stored_and_the_crawl_closes_normally(crawled) -> None:
    first, _, rows, validator, runs = crawled
    assert first.returncode == 0, first.stderr[-2000:]
    assert runs[0] == "finished"
    assert len(rows) == len(CASES), sorted(rows)
    assert first.stats_with("nstc", "releases/dropped/") == {}
    # The link longer than the URL column was never requested, and said so.
    assert first.stat("nstc", "urllength/request_ignored_count") == 1
    assert not any(LONG_URL_PATH[:40] in url for url in rows)
    # The list's 600-character ETag and 121-character Last-Modified were not kept.
    assert validator is None


def test_stored_values_fit_and_say_what_was_cut(crawled) -> None:
    first, _, rows, _, _ = crawled
    assert by_case(rows, "image-data-url-4kb").image_url is None
    assert by_case(rows, "image-http-url-3000").image_url is None
    ids = {by_case(rows, c).native_id for c in ("id-400-digits-a", "id-400-digits-b", "id-129-hex")}
    assert len(ids) == 3 and all(len(i) == column_limit(Release, "native_id") for i in ids)
    assert by_case(rows, "id-128-hex").native_id == CASES["id-128-hex"]["id"]
    title_limit = column_limit(Release, "title")
    for case in ("title-5000", "title-cjk-1200"):
        title = by_case(rows, case).title
        assert len(title) == title_limit and title.endswith(ELLIPSIS), case
        assert CASES[case]["title"].startswith(title[:-1].rstrip()[:200])
    assert by_case(rows, "title-1000").title == CASES["title-1000"]["title"]
    assert by_case(rows, "title-cjk-999").title == CASES["title-cjk-999"]["title"]
    assert len(by_case(rows, "contact-2000").contact_org) == column_limit(Release, "contact_org")
    assert len(by_case(rows, "summary-8000").summary) == column_limit(Release, "summary")
    assert by_case(rows, "body-120kb").body == CASES["body-120kb"]["body"].strip()
    capped = first.stats_with("nstc", "releases/capped/")
    # The data: image never reaches the store (the page object reads http(s) images only);
    # the 120 KB body's summary (its first paragraph) is cut like the 8,000-character one.
    assert capped == {"image_url": 1, "native_id": 3, "title": 2, "contact_org": 1, "summary": 2}
    assert first.stderr.count("characters)") >= sum(capped.values())


def test_a_second_crawl_finds_the_same_rows(crawled) -> None:
    _, second, rows, _, runs = crawled
    assert second.returncode == 0, second.stderr[-2000:]
    assert runs == ["finished", "finished"]
    assert len(rows) == len(CASES)
    # Digested ids, cut titles: every release is matched again, none stored twice.
    assert second.stat("nstc", "releases/new") == 0
    assert second.stat("nstc", "incremental/not_modified") == 0  # no ETag was kept to send

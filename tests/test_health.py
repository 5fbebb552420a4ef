from datetime import UTC, datetime, timedelta

from crawler.health import evaluate
from crawler.sources import Health
from storage import Database, save_release
from storage.health import publishing_rhythm, record_health
from tests.test_storage import make_record

GOOD = {
    "health/list_pages": 2,
    "health/first_page_items": 10,
    "health/detail_requests": 15,
    "health/releases": 15,
    "health/field/title": 15,
    "health/field/published": 15,
    "health/field/body": 15,
}


def test_a_normal_crawl_is_healthy() -> None:
    verdict = evaluate(GOOD, Health())
    assert (verdict.status, verdict.reasons) == ("healthy", [])


def test_an_empty_list_page_is_broken() -> None:
    stats = {**GOOD, "health/empty_list_pages": 1, "health/empty_list_page_url": "https://x/l"}
    verdict = evaluate(stats, Health())
    assert verdict.status == "broken"
    assert "https://x/l" in verdict.reasons[0]


def test_no_list_page_fetched_names_the_failures() -> None:
    stats = {"downloader/response_status_count/503": 4}
    verdict = evaluate(stats, Health())
    assert verdict.status == "broken"
    assert "HTTP 503 ×4" in verdict.reasons[0]


def test_a_304_list_page_is_not_a_failure() -> None:
    assert evaluate({"incremental/not_modified": 1}, Health()).status == "healthy"


def test_missing_fields_and_short_pages_degrade() -> None:
    stats = {**GOOD, "health/first_page_items": 2, "health/field/body": 10}
    verdict = evaluate(stats, Health())
    assert verdict.status == "degraded"
    assert len(verdict.reasons) == 2
    assert any("'body' present in 67%" in reason for reason in verdict.reasons)


def test_failing_detail_pages_degrade() -> None:
    stats = {**GOOD, "downloader/response_status_count/500": 5}
    assert evaluate(stats, Health()).status == "degraded"


def test_events_on_change_only(database: Database) -> None:
    with database.session() as session:
        assert record_health(session, "nstc", "healthy", [], False) == []
        (broken,) = record_health(
            session, "nstc", "broken", ["list page matched no releases"], False
        )
        assert (
            record_health(session, "nstc", "broken", ["list page matched no releases"], False) == []
        )
        (recovered,) = record_health(session, "nstc", "healthy", [], False)
    assert (broken.kind, recovered.kind) == ("broken", "recovered")


def test_staleness_follows_the_usual_rhythm(database: Database) -> None:
    now = datetime.now(UTC)
    with database.session() as session:
        for days_ago in (3, 10, 17, 24):  # weekly releases, newest three days old
            save_release(
                session,
                make_record(native_id=str(days_ago), url=f"https://x/{days_ago}",
                            title=f"t{days_ago}", published_at=now - timedelta(days=days_ago)),
            )  # fmt: skip
    with database.session() as session:
        rhythm = publishing_rhythm(session, "nstc")
    assert rhythm.usual_gap == timedelta(days=7)
    assert not rhythm.is_stale(now)
    assert rhythm.is_stale(now + timedelta(days=40))

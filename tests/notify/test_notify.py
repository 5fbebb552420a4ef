"""Alerts and digests, delivered through Apprise to a local SMTP server and a local webhook:
what arrives, that it arrives once (across restarts and concurrent notifiers), retries with
backoff, giving up with a report, and a digest grouped by partner."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from crawler.feeds.build import item_from_monitor_event
from crawler.feeds.labels import humanize
from crawler.notify import notify
from storage import Database, Release, save_release
from storage.health import recent_events
from storage.notify import (
    BACKOFF_SECONDS,
    FAILED,
    MAX_ATTEMPTS,
    Delivery,
    add_subscription,
    notify_problems,
)
from tests.feeds.conftest import record
from tests.notify.conftest import Mailbox, Webhook, parts

COOP = {"is_cooperation": True, "confidence": 0.9}
WEEK = timedelta(days=7)


def recent(days: float) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)


def store(database: Database, *records) -> None:
    with database.session() as session:
        for rec in records:
            save_release(session, rec)


def subscribe(database: Database, url: str, **fields) -> int:
    with database.session() as session:
        return add_subscription(session, url, **fields).id


def releases_in(post: dict) -> list[str]:
    return re.findall(r"https://\S+/news/\S+", post["message"])


def test_a_matching_release_arrives_once_by_email_and_webhook(
    database: Database, mailbox: Mailbox, webhook: Webhook
) -> None:
    subscribe(database, mailbox.url, partners=["FR"])
    subscribe(database, webhook.url)
    published = recent(2)
    shown = published.astimezone(ZoneInfo("Asia/Taipei")).date().isoformat()  # agency's day
    store(
        database,
        record("fr1", title="Taiwan and France sign a quantum MoU", partners=["FR"],
               coop_type="mou", published_at=published, **COOP),
        record("de1", title="Joint call with Germany", partners=["DE"], published_at=recent(1),
               **COOP),
        record("plain", title="Budget update", published_at=recent(1)),  # not cooperation
        record("old", title="An agreement of 2019 with France", partners=["FR"],
               published_at=datetime(2019, 5, 1, tzinfo=UTC), **COOP),  # backlog, not news
    )  # fmt: skip

    report = notify(database)
    assert (report.sent, report.items, report.failed) == (2, 3, 0)

    (mail,) = mailbox.messages
    assert mail["Subject"] == "stnews: Taiwan and France sign a quantum MoU"
    assert mail.get_content_type() == "multipart/alternative"
    body = parts(mail)
    for text in (body["text/plain"], body["text/html"]):
        assert "Taiwan and France sign a quantum MoU" in text
        assert "https://nstc.example/news/fr1" in text  # the link, in the text part too
        assert "National Science and Technology Council" in text  # agency
        assert "France" in text and shown in text
        assert "Germany" not in text and "Budget" not in text and "2019" not in text
    assert '<a href="https://nstc.example/news/fr1"' in body["text/html"]

    (post,) = webhook.posts
    assert post["title"] == "stnews: 2 new cooperation releases"
    assert sorted(releases_in(post)) == [
        "https://nstc.example/news/de1",
        "https://nstc.example/news/fr1",
    ]

    # A second run, and a "restart" (another process's Database), send nothing more.
    assert notify(database).sent == 0
    restarted = Database(database.url)
    try:
        assert notify(restarted).sent == 0
    finally:
        restarted.dispose()
    assert len(mailbox.messages) == 1 and len(webhook.posts) == 1

    # A new matching release: exactly it, once.
    store(database, record("fr2", title="France joint committee", partners=["FR"],
                           published_at=recent(0.5), **COOP))  # fmt: skip
    assert notify(database).sent == 2
    assert notify(database).sent == 0
    assert "France joint committee" in mailbox.messages[1]["Subject"]
    assert releases_in(webhook.posts[1]) == ["https://nstc.example/news/fr2"]


def test_two_notifiers_at_once_send_each_release_once(
    database: Database, webhook: Webhook
) -> None:
    subscribe(database, webhook.url)
    store(
        database,
        *[record(f"r{i}", partners=["JP"], published_at=recent(1), **COOP) for i in range(60)],
    )
    webhook.delay = 0.2  # a slow receiver: both notifiers are mid-send at once
    other = Database(database.url)
    reports = []
    try:
        threads = [
            threading.Thread(target=lambda db=db: reports.append(notify(db)))
            for db in (database, other)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        other.dispose()
    seen = [url for post in webhook.posts for url in releases_in(post)]
    assert len(seen) == 60 and len(set(seen)) == 60  # every release, once
    assert sum(r.items for r in reports) == 60 and sum(r.failed for r in reports) == 0


def test_a_failed_send_is_retried_with_backoff_then_given_up_and_reported(
    database: Database, webhook: Webhook
) -> None:
    subscription = subscribe(database, webhook.url)
    store(database, record("x", partners=["KR"], published_at=recent(1), **COOP))
    clock = [datetime.now(UTC)]

    def now() -> datetime:
        return clock[0]

    webhook.fail = True
    first = notify(database, now=now)
    assert (first.sent, first.failed) == (0, 1)
    # Within the backoff nothing is tried (the receiver would count a post either way).
    assert notify(database, now=now).failed == 0
    with database.session(readonly=True) as session:
        (row,) = session.scalars(select(Delivery)).all()
        assert row.attempts == 1 and row.status == "pending"
        assert row.next_attempt_at == clock[0] + timedelta(seconds=BACKOFF_SECONDS[0])
        assert "500" in (row.last_error or "") or row.last_error
        assert any(f"subscription {subscription}" in line for line in notify_problems(session))

    for attempt in range(2, MAX_ATTEMPTS + 1):
        clock[0] += timedelta(seconds=BACKOFF_SECONDS[attempt - 2] + 1)
        assert notify(database, now=now).failed == 1
    with database.session(readonly=True) as session:
        (row,) = session.scalars(select(Delivery)).all()
        assert row.status == FAILED and row.attempts == MAX_ATTEMPTS
        (event,) = [e for e in recent_events(session) if e.kind == "notify-failed"]
        item = item_from_monitor_event(event, "https://news.example/feeds/")
        assert item.title == "Alert or digest not delivered: notify"
        assert f"#{subscription}" in event.message and "gave up after 5 attempts" in event.message
        assert any("given up" in line for line in notify_problems(session))

    webhook.fail = False  # given up stays given up: no surprise send days later
    clock[0] += timedelta(days=1)
    assert notify(database, now=now).sent == 0 and webhook.posts == []


def test_a_send_that_fails_once_is_delivered_on_the_retry(
    database: Database, webhook: Webhook
) -> None:
    subscribe(database, webhook.url)
    store(database, record("y", partners=["GB"], published_at=recent(1), **COOP))
    clock = [datetime.now(UTC)]
    webhook.fail = True
    assert notify(database, now=lambda: clock[0]).failed == 1
    webhook.fail = False
    clock[0] += timedelta(seconds=BACKOFF_SECONDS[0] + 1)
    assert notify(database, now=lambda: clock[0]).sent == 1
    assert [releases_in(p) for p in webhook.posts] == [["https://nstc.example/news/y"]]
    assert notify(database, now=lambda: clock[0] + WEEK).sent == 0


def test_a_daily_digest_groups_the_periods_releases_by_partner(
    database: Database, mailbox: Mailbox
) -> None:
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=2)
    with database.session() as session:
        row = add_subscription(session, mailbox.url, digest="daily", timezone="UTC")
        row.created_at = day - timedelta(hours=5)
    store(
        database,
        record("a", title="France and Japan quantum call", partners=["FR", "JP"],
               coop_type="joint_call", published_at=day, **COOP),
        record("b", source="msit", title="Korea–France committee", partners=["FR"],
               published_at=day, **COOP),
        record("c", title="Japan visit", partners=["JP"], published_at=day, **COOP),
        record("d", title="Next day's news", partners=["FR"], published_at=day, **COOP),
    )  # fmt: skip
    first_seen = {"a": 3, "b": 10, "c": 23, "d": 30}  # hours after the period's start
    with database.session() as session:
        for native_id, hours in first_seen.items():
            session.execute(
                update(Release)
                .where(Release.native_id == native_id)
                .values(first_seen_at=day + timedelta(hours=hours))
            )

    # During the day nothing is due; after it, one digest of that day.
    assert notify(database, now=lambda: day + timedelta(hours=20)).sent == 0
    report = notify(database, now=lambda: day + timedelta(days=1, hours=1))
    assert (report.sent, report.items) == (1, 3)
    (mail,) = mailbox.messages
    assert mail["Subject"] == (
        f"stnews daily digest, {day.date().isoformat()}: 3 cooperation releases"
    )
    body = parts(mail)
    html, text = body["text/html"], body["text/plain"]
    # Grouped by partner, partners in name order; a release naming two is under both.
    headings = re.findall(r"<h2[^>]*>([^<]+)</h2>", html)
    assert headings == ["France", "Japan"]
    france, japan = html.split(">Japan</h2>")
    assert "France and Japan quantum call" in france and "Korea–France committee" in france
    assert "Japan visit" not in france
    assert "France and Japan quantum call" in japan and "Japan visit" in japan
    assert "Next day" not in html  # first seen after the period
    for needle in ("Ministry of Science and ICT", day.date().isoformat(), "France, Japan",
                   "https://msit.example/news/b", humanize("joint_call")):  # fmt: skip
        assert needle in html and needle in text
    # Once only, restarts and later runs included.
    assert notify(database, now=lambda: day + timedelta(days=1, hours=2)).sent == 0
    assert len(mailbox.messages) == 1

"""`stnews notify`: plan what is due, then claim, send and record it, batch by batch.

Planning and recording are short write transactions; sending happens between them, outside
any transaction (a slow mail server holds no database lock). See storage.notify for why a
restart or a second notifier sends nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from crawler.notify import compose
from crawler.notify.send import Sender, SendError, redacted, send
from storage.db import Database
from storage.models import EventMember, utcnow
from storage.notify import (
    EMPTY,
    Claim,
    Subscription,
    claim_batch,
    claimed,
    digest_releases,
    plan_alerts,
    plan_digests,
    record_failure,
    record_sent,
    releases_for,
)

log = logging.getLogger(__name__)

#: Only releases published this recently are news to a subscriber (a new source's backlog
#: is not sent); also the digest's reach.
DEFAULT_MAX_AGE = timedelta(days=30)
BATCH = 25  # releases per alert message
MAX_BATCHES = 200  # per run: a bound, whatever is pending


@dataclass
class NotifyReport:
    planned: int = 0
    sent: int = 0  # messages delivered
    items: int = 0  # releases in them
    empty: int = 0  # digests with nothing in their period (recorded, not sent)
    failed: int = 0  # messages that failed this time (retried later, or given up)
    gave_up: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        text = (
            f"notify: {self.sent} message(s) sent with {self.items} release(s), "
            f"{self.failed} failed"
        )
        if self.gave_up:
            text += f" ({self.gave_up} given up)"
        if self.empty:
            text += f", {self.empty} empty digest(s) skipped"
        return text


def describe(subscription: Subscription) -> str:
    parts = [f"#{subscription.id}"]
    for label, values in (
        ("partner", subscription.partners),
        ("topic", subscription.topics),
        ("type", subscription.coop_types),
        ("source", subscription.sources),
        ("language", subscription.languages),
    ):
        if values:
            parts.append(f"{label} {', '.join(values)}")
    if subscription.digest:
        parts.append(f"{subscription.digest} digest")
    return "; ".join(parts)


def notify(
    database: Database,
    *,
    now: Callable[[], datetime] = utcnow,
    max_age: timedelta = DEFAULT_MAX_AGE,
    sender: Sender = send,
) -> NotifyReport:
    """Send everything due now; never raises for a failed send (it is recorded)."""
    report = NotifyReport()
    with database.session() as session:
        moment = now()
        report.planned = plan_alerts(session, moment, max_age) + plan_digests(session, moment)
    for _ in range(MAX_BATCHES):
        with database.session() as session:
            claim = claim_batch(session, now(), limit=BATCH)
        if claim is None:
            break
        _deliver(database, claim, now, max_age, sender, report)
    return report


def _deliver(
    database: Database,
    claim: Claim,
    now: Callable[[], datetime],
    max_age: timedelta,
    sender: Sender,
    report: NotifyReport,
) -> None:
    with database.session(readonly=True) as session:
        subscription = session.get(Subscription, claim.subscription_id)
        rows = claimed(session, claim)
        if subscription is None:  # unsubscribed meanwhile: its deliveries went with it
            return
        url, label = subscription.url, describe(subscription)
        if rows and rows[0].release_id is None:  # a digest period
            row = rows[0]
            assert row.period_start is not None and row.period_end is not None
            releases = digest_releases(
                session, subscription, row.period_start, row.period_end, max_age
            )
            message = (
                compose.digest(
                    releases,
                    subscription.digest or "daily",
                    row.period_start,
                    row.period_end,
                    subscription.timezone or "UTC",
                    label,
                )
                if releases
                else None
            )
        else:
            ids = [row.release_id for row in rows if row.release_id is not None]
            releases = releases_for(session, ids)
            query = select(EventMember.release_id, EventMember.event_id).where(
                EventMember.release_id.in_(ids)
            )
            events = {release_id: event_id for release_id, event_id in session.execute(query)}
            message = compose.alert(releases, events, label) if releases else None
    if message is None:  # an empty digest, or releases deleted since: nothing to send
        with database.session() as session:
            record_sent(session, claim, now(), status=EMPTY)
        report.empty += 1
        return
    try:
        sender(url, message)
    except (SendError, OSError) as exc:
        error = str(exc) or type(exc).__name__
        with database.session() as session:
            attempts, gave_up = record_failure(session, claim, now(), error, label)
        report.failed += 1
        report.gave_up += gave_up
        report.errors.append(f"{label} ({redacted(url)}): {error}")
        log.warning(
            "notify %s via %s failed (attempt %d%s): %s",
            label,
            redacted(url),
            attempts,
            ", given up" if gave_up else ", will retry",
            error,
        )
        return
    with database.session() as session:
        record_sent(session, claim, now())
    report.sent += 1
    report.items += message.items
    log.info("notify %s: sent %s", label, message.title)

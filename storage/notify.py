"""Subscriptions to alerts and digests, and the delivery log that makes each one sent once.

A subscription is an Apprise URL (mailto://, json://, slack://, ...) and filters. What is due
for it becomes rows of ``deliveries``, one per (subscription, item), unique: an alert's item
is a release ("release:<id>"), a digest's a period ("digest:daily:2026-12-06"). Rows are
created with INSERT ... ON CONFLICT DO NOTHING, so two notifiers planning at once create each
row once; a notifier then *claims* rows with a conditional UPDATE (token and lease), sends,
and records the outcome only on the rows its token still holds. So a restart or a second
notifier never sends a sent item again; the one case of a second send is a notifier that dies
between sending and recording, whose claim lapses after the lease and is sent again
(at-least-once, never silently lost).

A failed send waits (backoff) and is tried again; after ``MAX_ATTEMPTS`` the row is
``failed`` and a monitor event ("notify-failed") tells the operator (`stnews status`, the
monitor feed). Nothing here sends anything: crawler.notify does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    delete,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from storage.browse import language_clause, releases_by_ids
from storage.health import MonitorEvent
from storage.models import Base, Release, ReleaseTag, Source, utcnow
from storage.releases import upsert_insert

DIGESTS = ("daily", "weekly")
PENDING, SENT, FAILED, EMPTY = "pending", "sent", "failed", "empty"
MAX_ATTEMPTS = 5
BACKOFF_SECONDS = (60, 300, 1800, 7200)  # before the 2nd, 3rd, 4th and 5th try
#: A claim lapses after this long: a notifier that died mid-send is taken over then.
CLAIM_LEASE = timedelta(minutes=10)
NOTIFY_SOURCE = "notify"  # MonitorEvent.source of failed deliveries
FAILED_KIND = "notify-failed"


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # An Apprise URL; it may hold a password or token, so it is shown redacted.
    url: Mapped[str] = mapped_column(Text)
    # Each filter is a list of accepted values; empty accepts any.
    partners: Mapped[list[Any]] = mapped_column(default=list)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    coop_types: Mapped[list[Any]] = mapped_column(default=list)
    sources: Mapped[list[Any]] = mapped_column(default=list)
    languages: Mapped[list[Any]] = mapped_column(default=list)
    # None: an alert as soon as a notify run finds something; "daily" / "weekly": a digest.
    digest: Mapped[str | None] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")  # digest periods' zone
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "item_key", name="uq_delivery_item"),
        Index("ix_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id", ondelete="CASCADE"))
    item_key: Mapped[str] = mapped_column(String(64))
    release_id: Mapped[int | None] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claim: Mapped[str | None] = mapped_column(String(36))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


# --- subscriptions ---------------------------------------------------------------------------


def add_subscription(session: Session, url: str, **fields: Any) -> Subscription:
    row = Subscription(url=url, **fields)
    session.add(row)
    session.flush()
    return row


def list_subscriptions(session: Session) -> list[Subscription]:
    return list(session.scalars(select(Subscription).order_by(Subscription.id)))


def remove_subscription(session: Session, subscription_id: int) -> bool:
    # Deliveries go with it (ON DELETE CASCADE; SQLite enforces it with foreign_keys=ON).
    session.execute(delete(Delivery).where(Delivery.subscription_id == subscription_id))
    result = session.execute(delete(Subscription).where(Subscription.id == subscription_id))
    return bool(result.rowcount)


def delivery_counts(session: Session) -> dict[int, dict[str, int]]:
    """Subscription id -> status -> number of deliveries."""
    counts: dict[int, dict[str, int]] = {}
    query = select(Delivery.subscription_id, Delivery.status, func.count()).group_by(
        Delivery.subscription_id, Delivery.status
    )
    for subscription_id, status, count in session.execute(query):
        counts.setdefault(subscription_id, {})[status] = int(count)
    return counts


def last_errors(session: Session) -> dict[int, str]:
    """Subscription id -> the error of its most recent unsuccessful try, for rows still
    waiting or given up on."""
    query = (
        select(Delivery.subscription_id, Delivery.last_error)
        .where(Delivery.last_error.is_not(None), Delivery.status.in_((PENDING, FAILED)))
        .order_by(Delivery.id)
    )
    return {subscription_id: error for subscription_id, error in session.execute(query)}


# --- what matches ----------------------------------------------------------------------------


def matching_releases(subscription: Subscription) -> Any:
    """A select of the ids of cooperation releases the subscription's filters accept."""
    query = select(Release.id).where(Release.is_cooperation == true())
    for kind, values in (("partner", subscription.partners), ("topic", subscription.topics)):
        if values:
            query = query.where(
                select(ReleaseTag.release_id)
                .where(
                    ReleaseTag.release_id == Release.id,
                    ReleaseTag.kind == kind,
                    ReleaseTag.value.in_(list(values)),
                )
                .exists()
            )
    if subscription.coop_types:
        query = query.where(Release.coop_type.in_(list(subscription.coop_types)))
    if subscription.sources:
        names = select(Source.id).where(Source.name.in_(list(subscription.sources)))
        query = query.where(Release.source_id.in_(names))
    if subscription.languages:
        query = query.where(
            or_(*(language_clause(Release.language, value) for value in subscription.languages))
        )
    return query


def plan_alerts(session: Session, now: datetime, max_age: timedelta) -> int:
    """Add a pending delivery for every release an alert subscription has not had yet: first
    seen since the subscription began, published within ``max_age`` (a new source's backlog
    is no news). Returns the rows added (0 when another notifier added them first)."""
    added = 0
    for subscription in session.scalars(
        select(Subscription).where(Subscription.digest.is_(None)).order_by(Subscription.id)
    ):
        query = (
            matching_releases(subscription)
            .where(
                Release.first_seen_at >= subscription.created_at,
                Release.published_at >= now - max_age,
                ~select(Delivery.id)
                .where(
                    Delivery.subscription_id == subscription.id,
                    Delivery.release_id == Release.id,
                )
                .exists(),
            )
            .order_by(Release.published_at, Release.id)
        )
        rows = [
            {
                "subscription_id": subscription.id,
                "item_key": f"release:{release_id}",
                "release_id": release_id,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for release_id in session.scalars(query)
        ]
        added += _insert_new(session, rows)
    return added


def digest_periods(
    kind: str, zone: Any, created_at: datetime, now: datetime, keep: int = 7
) -> list[tuple[datetime, datetime]]:
    """The digest periods (start, end) that have ended by ``now`` and end after the
    subscription began, at most the last ``keep``: a day, or a week from Monday, in ``zone``."""
    local_now = now.astimezone(zone)
    end = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    step = timedelta(days=1)
    if kind == "weekly":
        end -= timedelta(days=end.weekday())
        step = timedelta(days=7)
    periods = []
    while end > created_at and len(periods) < keep:
        start = _local_midnight(end - step, zone)
        periods.append((start, end))
        end = start
    return list(reversed(periods))


def _local_midnight(moment: datetime, zone: Any) -> datetime:
    # Across a DST change, "a day earlier" is not 24 hours: take the date, then its midnight.
    local = moment.astimezone(zone)
    return datetime(local.year, local.month, local.day, tzinfo=zone)


def plan_digests(session: Session, now: datetime) -> int:
    """Add a pending delivery for every digest period that has ended and has none yet."""
    from zoneinfo import ZoneInfo

    added = 0
    for subscription in session.scalars(
        select(Subscription).where(Subscription.digest.is_not(None)).order_by(Subscription.id)
    ):
        zone = ZoneInfo(subscription.timezone or "UTC")
        rows = [
            {
                "subscription_id": subscription.id,
                "item_key": f"digest:{subscription.digest}:{start.date().isoformat()}",
                "release_id": None,
                "period_start": start,
                "period_end": end,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for start, end in digest_periods(
                subscription.digest, zone, subscription.created_at, now
            )
        ]
        added += _insert_new(session, rows)
    return added


def _insert_new(session: Session, rows: list[dict[str, Any]]) -> int:
    added = 0
    for start in range(0, len(rows), 500):
        result = session.execute(
            upsert_insert(session, Delivery)
            .values(rows[start : start + 500])
            .on_conflict_do_nothing(index_elements=["subscription_id", "item_key"])
        )
        added += max(result.rowcount or 0, 0)
    return added


def digest_releases(
    session: Session, subscription: Subscription, start: datetime, end: datetime, max_age: timedelta
) -> list[Release]:
    """The releases of a digest period: first seen in it, published within ``max_age`` of
    its end."""
    ids = matching_releases(subscription).where(
        Release.first_seen_at >= start,
        Release.first_seen_at < end,
        Release.published_at >= end - max_age,
    )
    return releases_for(session, list(session.scalars(ids)))


def releases_for(session: Session, ids: Sequence[int]) -> list[Release]:
    return releases_by_ids(session, ids)


# --- claiming and recording ------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    token: str
    subscription_id: int
    delivery_ids: list[int]


def claim_batch(
    session: Session, now: datetime, limit: int = 25, lease: timedelta = CLAIM_LEASE
) -> Claim | None:
    """Claim up to ``limit`` due deliveries of one subscription (alerts: several releases
    in one message; a digest: one period). None when nothing is due.

    The conditional UPDATE is the claim: of two notifiers racing for a row, the second finds
    it claimed (PostgreSQL re-checks the WHERE after the first commits; SQLite serializes
    the write transactions) and updates nothing.
    """
    due = and_(
        Delivery.status == PENDING,
        Delivery.next_attempt_at <= now,
        or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
    )
    first = session.execute(
        select(Delivery.subscription_id, Delivery.release_id)
        .where(due)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(1)
    ).first()
    if first is None:
        return None
    subscription_id, release_id = first
    same_kind = Delivery.release_id.is_not(None) if release_id else Delivery.release_id.is_(None)
    candidates = list(
        session.scalars(
            select(Delivery.id)
            .where(due, Delivery.subscription_id == subscription_id, same_kind)
            .order_by(Delivery.id)
            .limit(limit if release_id else 1)
        )
    )
    token = uuid.uuid4().hex
    session.execute(
        update(Delivery)
        .where(Delivery.id.in_(candidates), due)
        .values(claim=token, claimed_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    owned = list(session.scalars(select(Delivery.id).where(Delivery.claim == token)))
    if not owned:
        return None
    return Claim(token, subscription_id, sorted(owned))


def claimed(session: Session, claim: Claim) -> list[Delivery]:
    return list(
        session.scalars(select(Delivery).where(Delivery.claim == claim.token).order_by(Delivery.id))
    )


def record_sent(session: Session, claim: Claim, now: datetime, status: str = SENT) -> int:
    """Mark the claim's rows sent (or ``empty``: a digest with nothing in its period)."""
    result = session.execute(
        update(Delivery)
        .where(Delivery.claim == claim.token, Delivery.status == PENDING)
        .values(status=status, sent_at=now, claim=None, claimed_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def record_failure(
    session: Session, claim: Claim, now: datetime, error: str, describe: str
) -> tuple[int, bool]:
    """Count a failed try on the claim's rows: retried after a backoff, or, at the last
    attempt, given up with a monitor event. Returns (attempts, gave_up)."""
    rows = claimed(session, claim)
    if not rows:
        return 0, False
    attempts = max(row.attempts for row in rows) + 1
    gave_up = attempts >= MAX_ATTEMPTS
    wait = BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1]
    for row in rows:
        row.attempts = attempts
        row.last_error = error[:2000]
        row.claim = None
        row.claimed_until = None
        if gave_up:
            row.status = FAILED
        else:
            row.next_attempt_at = now + timedelta(seconds=wait)
    if gave_up:
        session.add(
            MonitorEvent(
                source=NOTIFY_SOURCE,
                kind=FAILED_KIND,
                message=f"{describe}: gave up after {attempts} attempts: {error}"[:2000],
                created_at=now,
            )
        )
    return attempts, gave_up


def notify_problems(session: Session) -> list[str]:
    """One line per subscription with deliveries failing or given up, for `stnews status`."""
    lines = []
    query = (
        select(
            Delivery.subscription_id,
            Delivery.status,
            func.count(),
            func.max(Delivery.attempts),
        )
        .where(
            or_(Delivery.status == FAILED, and_(Delivery.status == PENDING, Delivery.attempts > 0))
        )
        .group_by(Delivery.subscription_id, Delivery.status)
        .order_by(Delivery.subscription_id, Delivery.status)
    )
    errors = last_errors(session)
    for subscription_id, status, count, attempts in session.execute(query):
        what = "given up" if status == FAILED else f"retrying (attempt {attempts} failed)"
        lines.append(
            f"subscription {subscription_id}: {count} deliver{'y' if count == 1 else 'ies'} "
            f"{what}: {errors.get(subscription_id, '')}".rstrip(": ")
        )
    return lines


__all__ = [
    "DIGESTS",
    "Claim",
    "Delivery",
    "Subscription",
    "add_subscription",
    "claim_batch",
    "claimed",
    "delivery_counts",
    "digest_periods",
    "digest_releases",
    "list_subscriptions",
    "notify_problems",
    "plan_alerts",
    "plan_digests",
    "record_failure",
    "record_sent",
    "releases_for",
    "remove_subscription",
]

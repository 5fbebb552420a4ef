"""Coordination rows for the scheduler: the leader lease and per-source crawl locks.

Both are leases: a row naming its holder (``host:pid:uuid``) and when the claim lapses. They
are taken and renewed with conditional UPDATEs (`... WHERE expires_at < now OR holder = me`),
which every backend applies atomically, and created with an INSERT whose unique-key conflict
means another process got there first. Times come from the clocks of the processes involved:
on more than one host those must be synchronized (NTP).

A holder on this host whose process is gone (killed with SIGKILL, say) is taken over at once
instead of after its expiry: only this host can tell, so other hosts wait for the expiry.

Also here: settling the ``crawl_runs`` row of a crawl the scheduler ran in a child process.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, String, delete, inspect, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, CrawlRun, utcnow

if TYPE_CHECKING:  # storage.db imports this module (through the migrations); no cycle at run time
    from storage.db import Database

LEADER = "scheduler"  # the name of the one lease row


class SchedulerLease(Base):
    """The scheduler leader: only the holder of an unexpired lease runs scheduled jobs."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class CrawlLock(Base):
    """A source being crawled: no second scheduled run of it starts until this is released."""

    __tablename__ = "crawl_locks"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    # The crawl's own process: it can outlive a holder killed with SIGKILL.
    child_pid: Mapped[int | None]
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


@dataclass(frozen=True)
class Holder:
    id: str
    host: str
    pid: int

    @classmethod
    def current(cls) -> Holder:
        host, pid = socket.gethostname(), os.getpid()
        return cls(f"{host}:{pid}:{uuid.uuid4().hex[:8]}", host, pid)


def process_alive(pid: int | None) -> bool:
    if pid is None or pid <= 0:  # 0 and negatives would address process groups
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    # A zombie has ended: only its parent has not reaped it yet (Linux /proc; elsewhere it
    # counts as alive until reaped).
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != b"Z"


def _holder_gone(row: SchedulerLease | CrawlLock) -> bool:
    """True when the row's holder is known dead: its host is this one and no process lives."""
    if row.host != socket.gethostname() or process_alive(row.pid):
        return False
    return not process_alive(getattr(row, "child_pid", None))


def _acquire(
    database: Database,
    model: type[SchedulerLease] | type[CrawlLock],
    key: str,
    holder: Holder,
    ttl: float,
    now: datetime | None,
    **extra: Any,
) -> bool:
    now = now or utcnow()
    expires = now + timedelta(seconds=ttl)
    key_column = _key_column(model)
    claim = {"holder": holder.id, "host": holder.host, "pid": holder.pid, "expires_at": expires}
    with database.session() as session:
        # A write session: on SQLite it holds the write lock from BEGIN, so that the read
        # below cannot go stale before the UPDATE that follows it.
        renewed = session.execute(
            update(model)
            .where(key_column == key, model.holder == holder.id)
            .values(expires_at=expires)
            .execution_options(synchronize_session=False)
        )
        if renewed.rowcount:
            return True
        taken = session.execute(
            update(model)
            .where(key_column == key, model.expires_at < now)
            .values(**claim, acquired_at=now, **extra)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount:
            return True
        current = session.get(model, key)
        if current is not None:
            if not _holder_gone(current):
                return False
            stolen = session.execute(
                update(model)
                .where(key_column == key, model.holder == current.holder)
                .values(**claim, acquired_at=now, **extra)
                .execution_options(synchronize_session=False)
            )
            return bool(stolen.rowcount)
    try:
        with database.session() as session:
            session.add(model(**{key_column.key: key}, **claim, acquired_at=now, **extra))
    except IntegrityError:  # another process inserted the row between our read and write
        return False
    return True


def _release(
    database: Database, model: type[SchedulerLease] | type[CrawlLock], key: str, holder: Holder
) -> bool:
    with database.session() as session:
        released = session.execute(
            delete(model)
            .where(_key_column(model) == key, model.holder == holder.id)
            .execution_options(synchronize_session=False)
        )
        return bool(released.rowcount)


def _key_column(model: type[SchedulerLease] | type[CrawlLock]) -> Column[str]:
    return inspect(model).primary_key[0]


# --- leader lease --------------------------------------------------------------------------


def acquire_lease(
    database: Database, holder: Holder, ttl: float, *, now: datetime | None = None
) -> bool:
    """Take or renew the leader lease for `ttl` seconds; False while another holds it."""
    return _acquire(database, SchedulerLease, LEADER, holder, ttl, now)


def release_lease(database: Database, holder: Holder) -> bool:
    return _release(database, SchedulerLease, LEADER, holder)


def current_lease(database: Database, *, now: datetime | None = None) -> SchedulerLease | None:
    """The unexpired lease, if any."""
    now = now or utcnow()
    with database.session(readonly=True) as session:
        return session.scalar(
            select(SchedulerLease).where(
                SchedulerLease.name == LEADER, SchedulerLease.expires_at >= now
            )
        )


# --- per-source crawl locks -----------------------------------------------------------------


def acquire_crawl_lock(
    database: Database, source: str, holder: Holder, ttl: float, *, now: datetime | None = None
) -> bool:
    """Lock `source` for one run of at most `ttl` seconds; False while another run holds it."""
    return _acquire(database, CrawlLock, source, holder, ttl, now, child_pid=None)


def set_lock_child(database: Database, source: str, holder: Holder, child_pid: int) -> None:
    with database.session() as session:
        session.execute(
            update(CrawlLock)
            .where(CrawlLock.source == source, CrawlLock.holder == holder.id)
            .values(child_pid=child_pid)
            .execution_options(synchronize_session=False)
        )


def release_crawl_lock(database: Database, source: str, holder: Holder) -> bool:
    return _release(database, CrawlLock, source, holder)


def crawl_lock(database: Database, source: str) -> CrawlLock | None:
    with database.session(readonly=True) as session:
        return session.get(CrawlLock, source)


# --- the run a child process recorded --------------------------------------------------------


def settle_child_run(
    database: Database,
    source: str,
    *,
    host: str,
    pid: int | None,
    since: datetime,
    trigger: str,
    status: str,
    reason: str,
    force: bool = False,
) -> CrawlRun:
    """Find the run the crawl child process `pid` recorded and settle its outcome.

    The row is found by host, pid and start time. With `force` its status becomes `status`
    whatever the child wrote (a crawl stopped at its time limit is a timeout even if it
    recorded itself as interrupted); otherwise only a row still "running" (the child died
    before closing it) gets `status`. A child that died before recording anything gets a new
    row, so that every run leaves one.
    """
    now = utcnow()
    match = (
        CrawlRun.source == source,
        CrawlRun.host == host,
        CrawlRun.pid == pid,
        CrawlRun.started_at >= since - timedelta(seconds=1),
    )
    reason = reason[:64]  # the column's width
    with database.session() as session:
        settle = update(CrawlRun).where(*match)
        if not force:
            settle = settle.where(CrawlRun.status == "running")
        session.execute(
            settle.values(status=status, finish_reason=reason).execution_options(
                synchronize_session=False
            )
        )
        session.execute(
            update(CrawlRun)
            .where(*match, CrawlRun.finished_at.is_(None))
            .values(finished_at=now)
            .execution_options(synchronize_session=False)
        )
        run = session.scalar(select(CrawlRun).where(*match).order_by(CrawlRun.id.desc()).limit(1))
        if run is None:
            run = CrawlRun(
                source=source,
                trigger=trigger,
                host=host,
                pid=pid,
                started_at=since,
                finished_at=now,
                status=status,
                finish_reason=reason,
                dropped={},
            )
            session.add(run)
            session.flush()
        return run


__all__ = [
    "CrawlLock",
    "Holder",
    "SchedulerLease",
    "acquire_crawl_lock",
    "acquire_lease",
    "crawl_lock",
    "current_lease",
    "release_crawl_lock",
    "release_lease",
    "set_lock_child",
    "settle_child_run",
]

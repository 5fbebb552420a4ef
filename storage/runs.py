"""Crawl run records: one row per crawl of one source."""

import os
import socket
from collections.abc import Mapping
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from storage.limits import fit_text
from storage.models import CrawlRun, utcnow

RUN_COUNTERS = (
    "pages", "new", "updated", "unchanged", "duplicates", "skipped", "not_modified",
    "page_versions", "errors",
)  # fmt: skip


def start_run(session: Session, source: str, trigger: str = "manual") -> int:
    run = CrawlRun(
        source=source,
        trigger=trigger,
        status="running",
        started_at=utcnow(),
        host=socket.gethostname(),
        pid=os.getpid(),
    )
    session.add(run)
    session.flush()
    return run.id


def finish_run(
    session: Session,
    run_id: int,
    status: str,
    counts: Mapping[str, int],
    dropped: Mapping[str, int],
    finish_reason: str | None = None,
) -> None:
    run = session.get(CrawlRun, run_id)
    if run is None:
        raise LookupError(f"no crawl run {run_id}")
    run.status = status
    run.finish_reason = fit_text(CrawlRun, "finish_reason", finish_reason)
    run.finished_at = utcnow()
    for name in RUN_COUNTERS:
        setattr(run, name, int(counts.get(name, 0)))
    run.dropped = dict(dropped)


def previous_run(session: Session, source: str) -> CrawlRun | None:
    """The latest run of ``source`` other than this process's own running one (a crawl asks
    about the run before it)."""
    not_mine = or_(
        CrawlRun.status != "running",
        CrawlRun.host.is_(None),
        CrawlRun.host != socket.gethostname(),
        CrawlRun.pid.is_(None),
        CrawlRun.pid != os.getpid(),
    )
    return session.scalars(
        select(CrawlRun)
        .where(CrawlRun.source == source, not_mine)
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(1)
    ).first()


def mark_interrupted(session: Session) -> int:
    """Record as interrupted the runs left "running" by processes of this host that are gone.

    Runs of other hosts are left alone: only their own host can tell whether they live.
    """
    host = socket.gethostname()
    stale = [
        run.id
        for run in session.scalars(
            select(CrawlRun).where(CrawlRun.status == "running", CrawlRun.host == host)
        )
        if run.pid is None or not _process_alive(run.pid)
    ]
    if stale:
        session.execute(
            update(CrawlRun)
            .where(CrawlRun.id.in_(stale))
            .values(status="interrupted", finished_at=utcnow(), finish_reason="process died")
        )
    return len(stale)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def latest_runs(session: Session, limit: int = 20) -> list[CrawlRun]:
    return list(session.scalars(select(CrawlRun).order_by(CrawlRun.id.desc()).limit(limit)))


def run_summary(run: CrawlRun) -> dict[str, Any]:
    return {
        "source": run.source,
        "status": run.status,
        "pages": run.pages,
        "new": run.new,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "duplicates": run.duplicates,
        "skipped": run.skipped,
        "not_modified": run.not_modified,
        "dropped": dict(run.dropped or {}),
        "errors": run.errors,
    }

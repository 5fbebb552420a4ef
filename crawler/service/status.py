"""Per-source status as plain data, shared by `stnews status` and the web status page."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def status_rows(database, names: list[str]) -> list[dict[str, Any]]:
    """Status of each source as plain data (shared by `stnews status` and the web page)."""
    from crawler.service.daemon import next_runs
    from storage.status import source_statuses

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    scheduled = next_runs(database)
    with database.session(readonly=True) as session:
        statuses = source_statuses(session, names)
        return [
            {
                "source": s.source,
                "agency": s.agency,
                "health": s.health_status,
                "stale": s.stale,
                "reasons": list(s.health.reasons or []) if s.health else [],
                "health_since": iso(s.health.since) if s.health else None,
                "releases": s.releases,
                "next_run": iso(scheduled.get(s.source)),
                "last_run": None
                if s.last_run is None
                else {
                    "status": s.last_run.status,
                    "trigger": s.last_run.trigger,
                    "started": iso(s.last_run.started_at),
                    "finished": iso(s.last_run.finished_at),
                    "pages": s.last_run.pages,
                    "new": s.last_run.new,
                    "updated": s.last_run.updated,
                    "dropped": dict(s.last_run.dropped or {}),
                    "errors": s.last_run.errors,
                },
            }
            for s in statuses
        ]

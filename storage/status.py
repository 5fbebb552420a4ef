"""Per-source status: last run, totals and health, in one read for `stnews status` and `/`."""

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.health import HEALTHY, SourceHealth, health_by_source
from storage.models import CrawlRun, Release, Source


@dataclass
class SourceStatus:
    source: str
    agency: str | None
    releases: int
    last_run: CrawlRun | None
    health: SourceHealth | None

    @property
    def health_status(self) -> str:
        return self.health.status if self.health else "unknown"

    @property
    def stale(self) -> bool:
        return bool(self.health and self.health.stale)

    @property
    def ok(self) -> bool:
        return self.health_status == HEALTHY and not self.stale


def source_statuses(session: Session, names: list[str] | None = None) -> list[SourceStatus]:
    """Every known source (or the named ones), sorted by name."""
    totals = dict(
        session.execute(
            select(Source.name, func.count(Release.id)).outerjoin(Release).group_by(Source.name)
        ).all()
    )
    agencies = dict(session.execute(select(Source.name, Source.agency)).all())
    latest_ids = select(func.max(CrawlRun.id)).group_by(CrawlRun.source)
    runs = {
        run.source: run
        for run in session.scalars(select(CrawlRun).where(CrawlRun.id.in_(latest_ids)))
    }
    health = health_by_source(session)
    known = set(totals) | set(runs) | set(health)
    wanted = sorted(known | set(names or [])) if names is None else sorted(names)
    return [
        SourceStatus(
            name, agencies.get(name), totals.get(name, 0), runs.get(name), health.get(name)
        )
        for name in wanted
    ]

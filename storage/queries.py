"""Read-side queries for feeds: the newest releases matching a filter, and the filter values
that exist. Partner and topic filters go through `release_tags` (indexed), never the JSON
columns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, true
from sqlalchemy.orm import Session, joinedload

from storage.health import MonitorEvent, SourceHealth
from storage.models import CrawlRun, Release, ReleaseTag, Source
from storage.pages import MonitoredPage, PageVersion


def feed_query(
    *,
    cooperation_only: bool,
    partner: str | None = None,
    source: str | None = None,
    topic: str | None = None,
    coop_type: str | None = None,
    language: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Select[tuple[Release]]:
    """Newest published first (ties by id, so the order is total and repeatable)."""
    if limit < 1:
        raise ValueError(f"feed limit must be positive, got {limit}")
    # Many-to-one: joined in the same statement rather than a second round trip.
    query = select(Release).options(joinedload(Release.source, innerjoin=True))
    query = query.where(
        *release_filters(
            cooperation_only=cooperation_only,
            partner=partner,
            source=source,
            topic=topic,
            coop_type=coop_type,
            language=language,
        )
    )
    query = query.order_by(Release.published_at.desc(), Release.id.desc()).limit(limit)
    return query.offset(offset) if offset else query


def release_filters(
    *,
    cooperation_only: bool,
    partner: str | None = None,
    source: str | None = None,
    topic: str | None = None,
    coop_type: str | None = None,
    language: str | None = None,
) -> list[ColumnElement[bool]]:
    """WHERE conditions of a feed's filter. A language matches its own tag and every longer
    tag under it: "zh" selects "zh-Hant" too, "zh-Hant" only itself and "zh-Hant-TW"."""
    query: list[ColumnElement[bool]] = []
    if cooperation_only:
        query.append(_cooperation())
    if partner is not None:
        query.append(_has_tag("partner", partner))
    if topic is not None:
        query.append(_has_tag("topic", topic))
    if source is not None:
        # A scalar subquery (unique name -> one id) keeps the source filter a plain equality.
        source_id = select(Source.id).where(Source.name == source).scalar_subquery()
        query.append(Release.source_id == source_id)
    if coop_type is not None:
        query.append(Release.coop_type == coop_type)
    if language is not None:
        # LIKE wildcards in a tag would widen the match: such a value matches itself only.
        wild = "%" in language or "_" in language
        longer = Release.language.like(f"{language}-%") if not wild else None
        query.append(or_(Release.language == language, *([longer] if longer is not None else [])))
    return query


def count_releases(session: Session, **filters: Any) -> int:
    """How many releases a filter selects (``release_filters`` keywords)."""
    query = select(func.count()).select_from(Release).where(*release_filters(**filters))
    return int(session.scalar(query) or 0)


def feed_releases(
    session: Session,
    *,
    cooperation_only: bool,
    partner: str | None = None,
    source: str | None = None,
    topic: str | None = None,
    coop_type: str | None = None,
    language: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Release]:
    """The releases of one feed, with `Release.source` loaded."""
    query = feed_query(
        cooperation_only=cooperation_only,
        partner=partner,
        source=source,
        topic=topic,
        coop_type=coop_type,
        language=language,
        limit=limit,
        offset=offset,
    )
    return list(session.scalars(query).unique())


def present_values(session: Session) -> dict[str, list[str]]:
    """The values each feed filter can take among cooperation releases, sorted: keys
    "partners", "sources", "topics", "coop_types", "languages".

    Each list is read value by value from an index (``_distinct``): a handful of seeks
    whatever the archive's size, where ``SELECT DISTINCT`` read every cooperation release
    (at 100,000 releases most of ``stnews feed``'s growth over 1,000; issue 19)."""
    cooperation = _cooperation()
    is_cooperation = (
        select(Release.id).where(Release.id == ReleaseTag.release_id, cooperation).exists()
    )

    def tags(kind: str) -> list[str]:
        return sorted(_distinct(session, ReleaseTag.value, ReleaseTag.kind == kind, is_cooperation))

    def column(values: list[Any]) -> list[str]:
        return sorted(value for value in values if value)

    source_ids = _distinct(session, Release.source_id, cooperation)
    names = session.scalars(select(Source.name).where(Source.id.in_(source_ids)))
    return {
        "partners": tags("partner"),
        "sources": column(list(names)),
        "topics": tags("topic"),
        "coop_types": column(_distinct(session, Release.coop_type, cooperation)),
        "languages": column(_distinct(session, Release.language, cooperation)),
    }


def _distinct(session: Session, column: Any, *where: ColumnElement[bool]) -> list[Any]:
    """The distinct non-null values of ``column`` among the rows matching ``where``, in the
    database's order, by a loose index scan: the next value above the last one found, one
    index seek each. For few values over many rows, with an index whose columns are
    ``where``'s equalities, then ``column`` (``ix_release_coop_*``, ``ix_release_tag_lookup``).
    Neither SQLite nor PostgreSQL skips through an index like this for ``DISTINCT``."""
    first = select(column).where(*where, column.is_not(None)).order_by(column).limit(1)
    found: list[Any] = []
    value = session.scalar(first)
    while value is not None:
        found.append(value)
        value = session.scalar(first.where(column > value))
    return found


def _cooperation():
    # "= true", not "IS true": PostgreSQL uses a b-tree index only for the former (SQLite for
    # both), and NULL (not yet classified) is excluded either way.
    return Release.is_cooperation == true()


def _has_tag(kind: str, value: str):
    return (
        select(ReleaseTag.release_id)
        .where(
            ReleaseTag.release_id == Release.id,
            ReleaseTag.kind == kind,
            ReleaseTag.value == value,
        )
        .exists()
    )


def data_version_query(*, with_runs: bool = False) -> Select[Any]:
    """One statement of aggregates that move whenever what the feeds show does: counts catch
    deletions, max ids inserts, max times updates in place. It differs after a release is
    stored, changed or deleted, a source or a monitored page appears, a page version or a
    health event is recorded. ``with_runs`` adds crawl runs and health checks (the feed
    server's index page shows them); without, a run that stored nothing changes nothing.
    (Classification labels are not covered: a reclassification keeps ``updated_at``.)"""
    aggregates = [
        select(func.count()).select_from(Release),
        select(func.max(Release.id)),
        select(func.max(Release.updated_at)),
        select(func.count()).select_from(Source),
        select(func.count()).select_from(MonitoredPage),
        select(func.max(PageVersion.id)),
        select(func.max(MonitorEvent.id)),
    ]
    if with_runs:
        aggregates += [
            select(func.max(CrawlRun.id)),
            select(func.max(CrawlRun.finished_at)),
            select(func.max(SourceHealth.checked_at)),
        ]
    return select(*(query.scalar_subquery() for query in aggregates))


def feed_data_version(session: Session) -> tuple[Any, ...]:
    """The feed files' data version (see ``data_version_query``)."""
    return tuple(session.execute(data_version_query()).one())

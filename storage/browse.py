"""Read-side queries of the web pages: search and filter releases, one release, one partner.

Filters are the feeds' (partner, topic, type, source, language) plus a date range and a
full-text query (storage.search). A language filter is a primary tag or a full one: "zh"
selects "zh-Hant" and "zh-Hans" releases, "zh-Hant" only those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Select, func, or_, select, true
from sqlalchemy.orm import Session, joinedload

from storage.models import EventMember, Release, ReleaseTag, Source
from storage.search import matches


@dataclass(frozen=True)
class Filters:
    query: str = ""
    partner: str | None = None
    topic: str | None = None
    coop_type: str | None = None
    source: str | None = None
    language: str | None = None
    since: date | None = None  # published on or after (UTC day)
    until: date | None = None  # published on or before (UTC day, inclusive)
    cooperation_only: bool = True


@dataclass(frozen=True)
class Page:
    releases: list[Release]
    scores: dict[int, float]  # release id -> relevance, when a query was given
    total: int


def language_clause(column, value: str):
    """``value`` or any of its subtags: "zh" matches "zh-Hant"; case-insensitive."""
    value = value.lower()
    lowered = func.lower(column)
    return or_(lowered == value, lowered.like(value.replace("%", "").replace("_", "") + "-%"))


def _filtered(query: Select, filters: Filters) -> Select:
    if filters.cooperation_only:
        query = query.where(Release.is_cooperation == true())
    for kind, value in (("partner", filters.partner), ("topic", filters.topic)):
        if value:
            query = query.where(
                select(ReleaseTag.release_id)
                .where(
                    ReleaseTag.release_id == Release.id,
                    ReleaseTag.kind == kind,
                    ReleaseTag.value == value,
                )
                .exists()
            )
    if filters.coop_type:
        query = query.where(Release.coop_type == filters.coop_type)
    if filters.source:
        query = query.where(
            Release.source_id
            == select(Source.id).where(Source.name == filters.source).scalar_subquery()
        )
    if filters.language:
        query = query.where(language_clause(Release.language, filters.language))
    if filters.since:
        query = query.where(Release.published_at >= _day_start(filters.since))
    if filters.until:
        query = query.where(Release.published_at < _day_start(filters.until + timedelta(days=1)))
    return query


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def browse(session: Session, filters: Filters, *, offset: int = 0, limit: int = 20) -> Page:
    """One page of matching releases: best match first with a query, else newest first."""
    dialect = session.get_bind().dialect.name
    found = matches(dialect, filters.query) if filters.query.strip() else None
    base = select(Release.id)
    if found is not None:
        base = base.join(found, found.c.release_id == Release.id)
    base = _filtered(base, filters)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0

    columns: list = [Release]
    query = select(Release).options(joinedload(Release.source, innerjoin=True))
    if found is not None:
        columns.append(found.c.score)
        query = (
            select(Release, found.c.score)
            .options(joinedload(Release.source, innerjoin=True))
            .join(found, found.c.release_id == Release.id)
            .order_by(found.c.score.desc(), Release.published_at.desc(), Release.id.desc())
        )
    else:
        query = query.order_by(Release.published_at.desc(), Release.id.desc())
    query = _filtered(query, filters).offset(offset).limit(limit)
    if found is None:
        releases = list(session.scalars(query).unique())
        return Page(releases, {}, total)
    rows = session.execute(query).unique().all()
    return Page([row[0] for row in rows], {row[0].id: float(row[1]) for row in rows}, total)


def release_by_id(session: Session, release_id: int) -> Release | None:
    return session.scalar(
        select(Release)
        .options(joinedload(Release.source, innerjoin=True))
        .where(Release.id == release_id)
    )


def releases_by_ids(session: Session, ids: Sequence[int]) -> list[Release]:
    """The releases with these ids (sources loaded), newest first."""
    if not ids:
        return []
    query = (
        select(Release)
        .options(joinedload(Release.source, innerjoin=True))
        .where(Release.id.in_(list(ids)))
        .order_by(Release.published_at.desc(), Release.id.desc())
    )
    return list(session.scalars(query).unique())


def event_id_of(session: Session, release_id: int) -> str | None:
    return session.scalar(select(EventMember.event_id).where(EventMember.release_id == release_id))


def partner_counts(session: Session) -> list[tuple[str, int]]:
    """(partner code, cooperation releases naming it), most named first."""
    query = (
        select(ReleaseTag.value, func.count())
        .join(Release, Release.id == ReleaseTag.release_id)
        .where(ReleaseTag.kind == "partner", Release.is_cooperation == true())
        .group_by(ReleaseTag.value)
        .order_by(func.count().desc(), ReleaseTag.value)
    )
    return [(code, int(count)) for code, count in session.execute(query)]


def languages_present(session: Session) -> list[str]:
    return sorted(v for v in session.scalars(select(Release.language).distinct()) if v)


def sources_present(session: Session) -> list[tuple[str, str]]:
    """(name, agency) of every source, by name."""
    return [
        tuple(row)
        for row in session.execute(select(Source.name, Source.agency).order_by(Source.name))
    ]


def topics_and_types(session: Session) -> tuple[Sequence[str], Sequence[str]]:
    topics = session.scalars(select(ReleaseTag.value).where(ReleaseTag.kind == "topic").distinct())
    types = session.scalars(
        select(Release.coop_type).where(Release.coop_type.is_not(None)).distinct()
    )
    return sorted(topics), sorted(t for t in types if t)

"""Monitored static pages and the versions of their main text.

A page is a document, not a stream of releases: it is stored once, and each significant
change of its main text adds a version row (text and fetch time). What counts as
significant is decided by the caller, which hands in the hash of the cosmetic-free text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from storage.models import Base, utcnow
from storage.releases import upsert_insert


class MonitoredPage(Base):
    __tablename__ = "monitored_pages"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))  # spider name
    url: Mapped[str] = mapped_column(String(2048), unique=True)
    title: Mapped[str] = mapped_column(Text)
    # Who publishes the page and in which language, as the spider declares (feed metadata).
    agency: Mapped[str | None] = mapped_column(String(255))
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[PageVersion]] = relationship(
        back_populates="page", cascade="all, delete-orphan", order_by="PageVersion.fetched_at"
    )


class PageVersion(Base):
    __tablename__ = "page_versions"
    __table_args__ = (Index("ix_page_version_page_fetched", "page_id", "fetched_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("monitored_pages.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    # SHA-256 of the text without cosmetic noise: equal hash, same version.
    significant_hash: Mapped[str] = mapped_column(String(64))
    fetched_at: Mapped[datetime]
    # What changed since the previous version; None for the first (baseline) version.
    change_summary: Mapped[str | None] = mapped_column(Text)

    page: Mapped[MonitoredPage] = relationship(back_populates="versions")


def latest_version(session: Session, page_id: int) -> PageVersion | None:
    query = (
        select(PageVersion)
        .where(PageVersion.page_id == page_id)
        .order_by(PageVersion.fetched_at.desc(), PageVersion.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def record_snapshot(
    session: Session,
    source: str,
    url: str,
    title: str,
    text: str,
    fetched_at: datetime,
    significant_hash: str,
    change_summary_fn: Callable[[str, str], str],
    *,
    agency: str | None = None,
    language: str | None = None,
) -> PageVersion | None:
    """Store a fetched page's text as a new version if it differs significantly.

    Returns the new version, or None when the significant text equals the latest version's
    (then no version is stored). The first snapshot of a page is its baseline version, with
    no change summary. The page's title and metadata follow the latest fetch either way.
    """
    # Created race-free (two crawls may see a new page at once), then locked for the check.
    session.execute(
        upsert_insert(session, MonitoredPage)
        .values(source=source, url=url, title=title, agency=agency, language=language,
                created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["url"])
    )  # fmt: skip
    page = session.scalars(
        select(MonitoredPage).where(MonitoredPage.url == url).with_for_update()
    ).one()
    latest = latest_version(session, page.id)
    if latest is not None:
        # A renamed page is the same document; feeds show its current name.
        page.title = title or page.title
        page.agency = agency or page.agency
        page.language = language or page.language
    if latest is not None and latest.significant_hash == significant_hash:
        return None
    version = PageVersion(
        page=page,
        text=text,
        significant_hash=significant_hash,
        fetched_at=fetched_at,
        change_summary=change_summary_fn(latest.text, text) if latest is not None else None,
    )
    session.add(version)
    session.flush()
    return version


def latest_changes(session: Session, limit: int = 50) -> list[PageVersion]:
    """Versions that changed a page (baselines excluded), newest first, page loaded."""
    if limit < 1:
        raise ValueError(f"limit must be positive, got {limit}")
    query = (
        select(PageVersion)
        .options(joinedload(PageVersion.page, innerjoin=True))
        .where(PageVersion.change_summary.is_not(None))
        # Ties by id, so the order is total and repeated builds are byte-identical.
        .order_by(PageVersion.fetched_at.desc(), PageVersion.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def has_monitored_pages(session: Session) -> bool:
    return session.scalar(select(MonitoredPage.id).limit(1)) is not None

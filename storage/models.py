"""SQLAlchemy 2.0 typed models: sources, releases (with their raw responses) and crawl runs."""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, whatever the backend keeps.

    SQLite has no time zone type and hands back naive values; storing UTC and re-attaching
    the zone on the way out keeps every datetime in the application aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: store aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    agency: Mapped[str] = mapped_column(String(255))
    agency_country: Mapped[str] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(16))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    releases: Mapped[list["Release"]] = relationship(back_populates="source")


class Release(Base):
    __tablename__ = "releases"
    __table_args__ = (
        UniqueConstraint("source_id", "native_id", name="uq_release_native_id"),
        UniqueConstraint("url", name="uq_release_url"),
        Index("ix_release_source_fingerprint", "source_id", "fingerprint"),
        Index("ix_release_published", "published_at"),
        # A source's newest releases (the health check after every poll): migration 0006.
        Index("ix_release_source_published", "source_id", "published_at"),
        Index("ix_release_coop_published", "is_cooperation", "published_at"),
        # The feeds' filter values, value by value (storage.queries.present_values): 0007.
        Index("ix_release_coop_source", "is_cooperation", "source_id"),
        Index("ix_release_coop_type", "is_cooperation", "coop_type"),
        Index("ix_release_coop_language", "is_cooperation", "language"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    native_id: Mapped[str | None] = mapped_column(String(128))
    url: Mapped[str] = mapped_column(String(2048))

    # Text columns with an ``info["max_length"]``: no schema limit, but no reader should get
    # more (storage/limits.py fits every value to its column before it is written).
    title: Mapped[str] = mapped_column(Text, info={"max_length": 1000})
    published_at: Mapped[datetime]
    modified_at: Mapped[datetime | None]
    body: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str | None] = mapped_column(Text, info={"max_length": 5000})
    image_url: Mapped[str | None] = mapped_column(String(2048))
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    language: Mapped[str] = mapped_column(String(16))
    agency: Mapped[str] = mapped_column(String(255))
    agency_country: Mapped[str] = mapped_column(String(2))
    contact_org: Mapped[str | None] = mapped_column(Text, info={"max_length": 500})
    # "selectors", "generic" (fallback extraction) or "attachment" (text of an attached file).
    extraction: Mapped[str] = mapped_column(String(16), default="selectors")
    # Field name -> the stage of the page object's fallback chain that filled it (selectors,
    # template:<name>, list, feed, generic, modified): how much a release owes to fallbacks.
    field_stages: Mapped[dict[str, Any]] = mapped_column(default=dict)

    # Content hash of the normalized title and body: equal hash, equal release.
    fingerprint: Mapped[str] = mapped_column(String(64))
    # Hash of how the list page last showed this release (title, date): when the list shows
    # the same, an incremental crawl need not fetch the detail page again.
    listing_hash: Mapped[str | None] = mapped_column(String(64))

    # Classification (set by the enrich step).
    is_cooperation: Mapped[bool | None]
    confidence: Mapped[float | None]
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    partners: Mapped[list[Any]] = mapped_column(default=list)
    topics: Mapped[list[Any]] = mapped_column(default=list)
    coop_type: Mapped[str | None] = mapped_column(String(32))

    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When the stored content last changed (equals first_seen_at until an edit is seen).
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    source: Mapped[Source] = relationship(back_populates="releases")
    tags: Mapped[list["ReleaseTag"]] = relationship(
        back_populates="release", cascade="all, delete-orphan"
    )
    raw: Mapped["RawResponse | None"] = relationship(
        back_populates="release", cascade="all, delete-orphan", uselist=False
    )


class ReleaseTag(Base):
    """One classification label of a release (a partner or a topic), kept as rows so that
    filtered feeds ("partner FR, newest first") are indexed lookups on every backend rather
    than scans of a JSON column."""

    __tablename__ = "release_tags"
    __table_args__ = (Index("ix_release_tag_lookup", "kind", "value", "release_id"),)

    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "partner" or "topic"
    value: Mapped[str] = mapped_column(String(32), primary_key=True)

    release: Mapped[Release] = relationship(back_populates="tags")


class RawResponse(Base):
    """Provenance of a release: the page it was extracted from, compressed."""

    __tablename__ = "raw_responses"

    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True
    )
    fetched_at: Mapped[datetime]
    final_url: Mapped[str] = mapped_column(String(2048))
    status: Mapped[int]
    encoding: Mapped[str | None] = mapped_column(String(32))
    body_zlib: Mapped[bytes] = mapped_column(LargeBinary)
    extractor_version: Mapped[str] = mapped_column(String(64))

    release: Mapped[Release] = relationship(back_populates="raw")


class HttpValidator(Base):
    """ETag / Last-Modified of a page last fetched in full, for conditional re-requests."""

    __tablename__ = "http_validators"

    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    etag: Mapped[str | None] = mapped_column(String(512))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CrawlRun(Base):
    __tablename__ = "crawl_runs"
    __table_args__ = (Index("ix_crawl_run_source_started", "source", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(32), default="manual")
    # Which process ran it, so a later start can tell a dead run from a live one.
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    # running, finished, failed, interrupted
    status: Mapped[str] = mapped_column(String(16), default="running")
    finish_reason: Mapped[str | None] = mapped_column(String(64))
    pages: Mapped[int] = mapped_column(default=0)
    new: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    not_modified: Mapped[int] = mapped_column(default=0)
    page_versions: Mapped[int] = mapped_column(default=0)
    dropped: Mapped[dict[str, Any]] = mapped_column(default=dict)  # reason -> count
    errors: Mapped[int] = mapped_column(default=0)


class Event(Base):
    """One occurrence (a signing, a meeting, a launch, a call, a visit) announced by one or
    more releases. The id is fixed when the event is founded (crawler.events.linker);
    ``updated_at`` moves whenever a member joins, so a feed entry shows an update."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_event_updated", "updated_at"),
        Index("ix_event_occurred", "occurred_on"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    # The earliest member: the link of the event's feed entry.
    first_release_id: Mapped[int | None] = mapped_column(
        ForeignKey("releases.id", ondelete="SET NULL")
    )
    parties: Mapped[list[Any]] = mapped_column(default=list)  # sorted ISO / organisation codes
    coop_type: Mapped[str | None] = mapped_column(String(32))
    # The named instrument the ledger chains the event by ("st-agreement", "joint-committee").
    instrument: Mapped[str | None] = mapped_column(String(64))
    ordinal: Mapped[int | None]
    occurred_on: Mapped[date | None] = mapped_column(Date)
    members: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when a later release showed this event to be one with another: readers of the old
    # id are sent to the surviving one.
    merged_into: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("events.id", ondelete="SET NULL")
    )


class EventMember(Base):
    """A release's place in an event, with the linking signals computed for it (so that
    linking and rebuilding need not read and parse every text again)."""

    __tablename__ = "event_members"
    __table_args__ = (Index("ix_event_member_event", "event_id", "release_id"),)

    release_id: Mapped[int] = mapped_column(
        ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True
    )
    event_id: Mapped[str] = mapped_column(String(40), ForeignKey("events.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)
    score: Mapped[float | None]
    # crawler.events.signals.to_dict(): valid while the fingerprint and version match.
    signals: Mapped[dict[str, Any]] = mapped_column(default=dict)
    signals_version: Mapped[int] = mapped_column(default=0)
    fingerprint: Mapped[str] = mapped_column(String(64), default="")

"""Reading and writing releases. Deduplication against what is already stored lives here."""

import enum
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from storage.models import Base, RawResponse, Release, ReleaseTag, Source, utcnow

# Fields copied from a record onto its row whenever the content changed.
CONTENT_FIELDS = (
    "url", "title", "published_at", "modified_at", "body", "summary", "image_url",
    "attachments", "language", "agency", "agency_country", "contact_org", "fingerprint",
    "listing_hash", "extraction",
)  # fmt: skip
CLASSIFICATION_FIELDS = (
    "is_cooperation", "confidence", "evidence", "partners", "topics", "coop_type",
)  # fmt: skip


class SaveOutcome(enum.StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class RawPage:
    body: bytes
    fetched_at: datetime
    final_url: str
    status: int
    encoding: str | None
    extractor_version: str


@dataclass
class ReleaseRecord:
    """A normalized release ready to store (plain data, no framework types)."""

    source: str
    native_id: str | None
    url: str
    title: str
    published_at: datetime
    body: str
    language: str
    agency: str
    agency_country: str
    fingerprint: str
    timezone: str = "UTC"
    modified_at: datetime | None = None
    summary: str | None = None
    image_url: str | None = None
    attachments: list[dict[str, str]] = field(default_factory=list)
    contact_org: str | None = None
    is_cooperation: bool | None = None
    confidence: float | None = None
    evidence: list[str] = field(default_factory=list)
    partners: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    coop_type: str | None = None
    listing_hash: str | None = None
    extraction: str = "selectors"
    raw: RawPage | None = None


def upsert_insert(session: Session, model: type[Base]) -> Any:
    """An INSERT that can say ON CONFLICT DO NOTHING, on the session's backend.

    Concurrent writers (several crawls, several workers) may insert the same row at once;
    the unique constraints decide, and the loser reads the winner's row instead of failing.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"no ON CONFLICT support for {dialect}")


def ensure_source(session: Session, record: ReleaseRecord) -> Source:
    source = session.scalar(select(Source).where(Source.name == record.source))
    if source is None:
        session.execute(
            upsert_insert(session, Source)
            .values(
                name=record.source,
                agency=record.agency,
                agency_country=record.agency_country,
                language=record.language,
                timezone=record.timezone,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["name"])
        )
        source = session.scalars(select(Source).where(Source.name == record.source)).one()
    return source


def find_existing(session: Session, source: Source, record: ReleaseRecord) -> Release | None:
    """The stored release this record is another sighting of, if any.

    Matched by the site's own id first, then by canonical URL, then by content fingerprint
    (the same text published under a second id or address).
    """
    # FOR UPDATE (PostgreSQL): a concurrent writer of the same release waits for this one
    # instead of both deciding "changed" from the same old row. SQLite transactions here are
    # IMMEDIATE (see storage/db.py), which serializes writers already.
    if record.native_id:
        found = session.scalar(
            select(Release)
            .where(Release.source_id == source.id, Release.native_id == record.native_id)
            .with_for_update()
        )
        if found is not None:
            return found
    found = session.scalar(select(Release).where(Release.url == record.url).with_for_update())
    if found is not None:
        return found
    return session.scalar(
        select(Release)
        .where(Release.source_id == source.id, Release.fingerprint == record.fingerprint)
        .limit(1)
        .with_for_update()
    )


def save_release(session: Session, record: ReleaseRecord) -> SaveOutcome:
    """Insert the release, update it if its content changed, or just note it was seen.

    Runs inside the caller's transaction, so a release and its raw response are written
    together or not at all.
    """
    source = ensure_source(session, record)
    now = utcnow()
    existing = find_existing(session, source, record)
    if existing is None:
        values = {name: getattr(record, name) for name in CONTENT_FIELDS + CLASSIFICATION_FIELDS}
        new_id = session.scalar(
            upsert_insert(session, Release)
            .values(
                source_id=source.id,
                native_id=record.native_id,
                first_seen_at=now,
                last_seen_at=now,
                updated_at=now,
                **values,
            )
            .on_conflict_do_nothing()
            .returning(Release.id)
        )
        if new_id is not None:
            release = session.get(Release, new_id)
            set_tags(release)
            _store_raw(session, release, record.raw)
            return SaveOutcome.NEW
        # Another writer stored it between our look-up and our insert: treat as seen.
        existing = find_existing(session, source, record)
        if existing is None:  # conflict on a key we did not look up by: report it plainly
            raise LookupError(
                f"release conflicts with a stored one but was not found: {record.url}"
            )
    existing.last_seen_at = now
    if record.listing_hash:
        existing.listing_hash = record.listing_hash
    if existing.fingerprint == record.fingerprint:
        return SaveOutcome.UNCHANGED
    _copy(record, existing, CONTENT_FIELDS + CLASSIFICATION_FIELDS)
    set_tags(existing)
    existing.updated_at = now
    _store_raw(session, existing, record.raw)
    return SaveOutcome.UPDATED


def set_tags(release: Release) -> None:
    """Mirror the release's partners and topics into its tag rows."""
    wanted = {("partner", code) for code in release.partners or []} | {
        ("topic", topic) for topic in release.topics or []
    }
    current = {(tag.kind, tag.value): tag for tag in release.tags}
    for key, tag in current.items():
        if key not in wanted:
            release.tags.remove(tag)
    for kind, value in sorted(wanted - current.keys()):
        release.tags.append(ReleaseTag(kind=kind, value=value))


def update_classification(release: Release, labels: dict[str, Any]) -> bool:
    """Set a stored release's classification; whether any label changed.

    The content is unchanged, so neither the fingerprint nor ``updated_at`` moves: a
    re-classified release keeps its place and identity in every feed.
    """
    changed = False
    for name in CLASSIFICATION_FIELDS:
        value = labels.get(name)
        if isinstance(value, tuple):
            value = list(value)
        if getattr(release, name) != value:
            setattr(release, name, value)
            changed = True
    if changed:
        set_tags(release)
    return changed


def _copy(record: ReleaseRecord, release: Release, names: Sequence[str]) -> None:
    for name in names:
        setattr(release, name, getattr(record, name))


def _store_raw(session: Session, release: Release, raw: RawPage | None) -> None:
    if raw is None:
        return
    row = session.get(RawResponse, release.id) or RawResponse(release_id=release.id)
    row.fetched_at = raw.fetched_at
    row.final_url = raw.final_url
    row.status = raw.status
    row.encoding = raw.encoding
    row.body_zlib = zlib.compress(raw.body, 6)
    row.extractor_version = raw.extractor_version
    session.add(row)


def raw_body(row: RawResponse) -> bytes:
    return zlib.decompress(row.body_zlib)


@dataclass(frozen=True)
class KnownRelease:
    listing_hash: str | None
    last_seen_at: datetime


def known_releases(
    session: Session, source: str, native_ids: Sequence[str]
) -> dict[str, KnownRelease]:
    """What is stored of these releases of one source, by site id (one indexed query)."""
    if not native_ids:
        return {}
    rows = session.execute(
        select(Release.native_id, Release.listing_hash, Release.last_seen_at)
        .join(Source)
        .where(Source.name == source, Release.native_id.in_(list(native_ids)))
    )
    return {native_id: KnownRelease(listing, seen) for native_id, listing, seen in rows}


def releases_query(
    sources: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    cooperation_only: bool = False,
    limit: int | None = None,
) -> Select[tuple[Release]]:
    """Releases, newest published first, with the given filters."""
    query = select(Release).join(Source).options(selectinload(Release.source))
    if sources:
        query = query.where(Source.name.in_(list(sources)))
    if since is not None:
        query = query.where(Release.published_at >= since)
    if until is not None:
        query = query.where(Release.published_at < until)
    if cooperation_only:
        query = query.where(Release.is_cooperation.is_(True))
    query = query.order_by(Release.published_at.desc(), Release.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return query


def count_by_source(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Source.name, func.count(Release.id)).join(Release).group_by(Source.name)
    )
    return {name: count for name, count in rows}


def list_releases(session: Session, **filters: Any) -> list[Release]:
    return list(session.scalars(releases_query(**filters)))

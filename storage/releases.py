"""Reading and writing releases. Deduplication against what is already stored lives here."""

import enum
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, insert, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from storage.limits import fit_releases
from storage.links import UnsafeLink, link_problem, web_link
from storage.models import Base, RawResponse, Release, ReleaseTag, Source, utcnow
from storage.rawpages import compress_page
from storage.search import index_releases

log = logging.getLogger(__name__)

# Fields copied from a record onto its row whenever the content changed.
CONTENT_FIELDS = (
    "url", "title", "published_at", "modified_at", "body", "summary", "image_url",
    "attachments", "language", "agency", "agency_country", "contact_org", "fingerprint",
    "listing_hash", "extraction", "field_stages",
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
    field_stages: dict[str, str] = field(default_factory=dict)
    raw: RawPage | None = None
    # The source's domains: the link must be on one of them (empty: http(s) is checked only).
    allowed_domains: tuple[str, ...] = ()


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


def find_existing(session: Session, source_id: int, record: ReleaseRecord) -> Release | None:
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
            .where(Release.source_id == source_id, Release.native_id == record.native_id)
            .with_for_update()
        )
        if found is not None:
            return found
    found = session.scalar(select(Release).where(Release.url == record.url).with_for_update())
    if found is not None:
        return found
    return session.scalar(
        select(Release)
        .where(Release.source_id == source_id, Release.fingerprint == record.fingerprint)
        .limit(1)
        .with_for_update()
    )


def save_release(session: Session, record: ReleaseRecord) -> SaveOutcome:
    """Insert the release, update it if its content changed, or just note it was seen.

    Runs inside the caller's transaction, so a release and its raw response are written
    together or not at all.
    """
    (fitted,) = fit_releases([record])
    if isinstance(fitted, Exception):
        raise fitted
    source_id = ensure_source(session, fitted).id
    return _save(session, fitted, source_id, find_existing(session, source_id, fitted))


def save_releases(
    session: Session, records: Sequence[ReleaseRecord], source_ids: dict[str, int] | None = None
) -> list[SaveOutcome | Exception]:
    """``save_release`` for several records in the caller's transaction, one SAVEPOINT each.

    A record that fails (a constraint, a value the database refuses, a deadlock with another
    writer) is rolled back to its savepoint, release row, tags and raw page together, and
    its exception is returned in its place; the others stay in the transaction. Outcomes are
    returned in the order of ``records``.

    Cheaper per record than ``save_release``: each source row is looked up once
    (``source_ids``, name -> id, is used and filled; only trust what it gains once the
    transaction commits), and the stored rows the records may match are read, and on
    PostgreSQL locked, by one query in id order instead of up to three per record.
    """
    source_ids = {} if source_ids is None else source_ids
    # Values over a column's limit are fitted here, alike on every backend (storage/limits.py);
    # a record whose URL is too long is reported in its place.
    fitted = fit_releases(records)
    refused = {i: outcome for i, outcome in enumerate(fitted) if isinstance(outcome, Exception)}
    if refused:
        kept = [record for record in fitted if not isinstance(record, Exception)]
        outcomes = iter(save_releases(session, kept, source_ids))
        return [refused[i] if i in refused else next(outcomes) for i in range(len(fitted))]
    records = fitted
    for record in records:
        if record.source not in source_ids:
            source_ids[record.source] = ensure_source(session, record).id
    stored = _StoredMatches.read(session, records, source_ids)
    if len(records) > 1:
        whole = _save_all_or_none(session, records, source_ids, stored)
        if whole is not None:
            return whole
    claimed: set[tuple[Any, ...]] = set()
    outcomes: list[SaveOutcome | Exception] = []
    for record in records:
        source_id = source_ids[record.source]
        try:
            with session.begin_nested():
                existing = _matched(session, record, source_id, stored, claimed)
                outcomes.append(_save(session, record, source_id, existing))
        except Exception as exc:  # reported per record; the batch goes on
            outcomes.append(exc)
    return outcomes


def _matched(
    session: Session,
    record: ReleaseRecord,
    source_id: int,
    stored: "_StoredMatches",
    claimed: set[tuple[Any, ...]],
) -> Release | None:
    """The stored row ``record`` matches, from the batch's one read; looked up again when an
    earlier record of the batch claimed one of its keys (it is, or may be, the same release,
    and its writes are in the transaction now). Adds the record's keys to ``claimed``."""
    keys = _match_keys(record, source_id)
    seen = bool(keys & claimed)
    claimed |= keys
    return find_existing(session, source_id, record) if seen else stored.match(record, source_id)


def _save_all_or_none(
    session: Session,
    records: Sequence[ReleaseRecord],
    source_ids: dict[str, int],
    stored: "_StoredMatches",
) -> list[SaveOutcome | Exception] | None:
    """The batch saved under one SAVEPOINT, or ``None`` (and nothing written) when any record
    failed: the caller then saves record by record, each in its own SAVEPOINT.

    The same changes as record by record when none fails (nearly always), with fewer
    statements: no SAVEPOINT and RELEASE around each record (about a fifth of the batches' CPU
    per release, issue 19), and the new releases' rows, then their tags, raw pages and search
    index, one statement per table for the batch. The batch's release rows are a plain INSERT:
    a row another writer stored meanwhile fails it, and the records are saved one by one.
    """
    claimed: set[tuple[Any, ...]] = set()
    outcomes: list[SaveOutcome | Exception] = []
    later = _NewRows()
    try:
        with session.begin_nested():
            for record in records:
                source_id = source_ids[record.source]
                if later.releases and _match_keys(record, source_id) & claimed:
                    # An earlier record of the batch may be this release: its row must be in
                    # the database before ``_matched`` looks it up again.
                    later.write(session.connection())
                existing = _matched(session, record, source_id, stored, claimed)
                outcomes.append(_save(session, record, source_id, existing, later))
            later.write(session.connection())
    except Exception as exc:  # rolled back to the savepoint: saved one by one instead
        log.debug("batch of %d not saved at once (%s): record by record", len(records), exc)
        return None
    return outcomes


def _match_keys(record: ReleaseRecord, source_id: int) -> set[tuple[Any, ...]]:
    keys: set[tuple[Any, ...]] = {("url", record.url), ("fp", source_id, record.fingerprint)}
    if record.native_id:
        keys.add(("id", source_id, record.native_id))
    return keys


@dataclass
class _StoredMatches:
    """Stored releases that records of one batch may be sightings of, by each match key."""

    by_native_id: dict[tuple[int, str], Release]
    by_url: dict[str, Release]
    by_fingerprint: dict[tuple[int, str], Release]

    @classmethod
    def read(
        cls, session: Session, records: Sequence[ReleaseRecord], source_ids: dict[str, int]
    ) -> "_StoredMatches":
        native_ids: dict[int, set[str]] = {}
        fingerprints: dict[int, set[str]] = {}
        for record in records:
            source_id = source_ids[record.source]
            if record.native_id:
                native_ids.setdefault(source_id, set()).add(record.native_id)
            fingerprints.setdefault(source_id, set()).add(record.fingerprint)
        clauses = [Release.url.in_(sorted({record.url for record in records}))]
        for source_id, ids in native_ids.items():
            clauses.append(and_(Release.source_id == source_id, Release.native_id.in_(sorted(ids))))
        for source_id, prints in fingerprints.items():
            clauses.append(
                and_(Release.source_id == source_id, Release.fingerprint.in_(sorted(prints)))
            )
        found = cls({}, {}, {})
        if not records:
            return found
        # In id order, so that concurrent writers lock the rows they share in the same order.
        query = select(Release).where(or_(*clauses)).order_by(Release.id).with_for_update()
        for row in session.scalars(query):
            if row.native_id is not None:
                found.by_native_id.setdefault((row.source_id, row.native_id), row)
            found.by_url.setdefault(row.url, row)
            found.by_fingerprint.setdefault((row.source_id, row.fingerprint), row)
        return found

    def match(self, record: ReleaseRecord, source_id: int) -> Release | None:
        """Same order of preference as ``find_existing``: site id, URL, fingerprint."""
        if record.native_id:
            found = self.by_native_id.get((source_id, record.native_id))
            if found is not None:
                return found
        return self.by_url.get(record.url) or self.by_fingerprint.get(
            (source_id, record.fingerprint)
        )


def check_links(record: ReleaseRecord) -> None:
    """Refuse a record whose link is not an http(s) page of its source, or whose image or
    attachment link is not http(s) (issue 18): whatever made the record, no other link is
    ever stored, served or put in a feed."""
    if reason := link_problem(record.url, record.allowed_domains):
        raise UnsafeLink(reason, record.url)
    others = [record.image_url] if record.image_url else []
    others += [str(a.get("url") or "") for a in record.attachments]
    for url in others:
        if not web_link(url):
            raise UnsafeLink("scheme", url)


def _save(
    session: Session,
    record: ReleaseRecord,
    source_id: int,
    existing: Release | None,
    later: "_NewRows | None" = None,
) -> SaveOutcome:
    """Store ``record`` given the row it matched (None: a new release). A new release's row,
    search index entry, tags and raw page are written now, or kept in ``later`` for the
    caller to write."""
    check_links(record)
    now = utcnow()
    if existing is None:
        values = {name: getattr(record, name) for name in CONTENT_FIELDS + CLASSIFICATION_FIELDS}
        values.update(
            source_id=source_id,
            native_id=record.native_id,
            first_seen_at=now,
            last_seen_at=now,
            updated_at=now,
        )
        if later is not None:  # inserted with the batch's other new rows (``_NewRows``)
            later.releases.append((values, record))
            return SaveOutcome.NEW
        # Core statements built once and executed with parameters: building an ORM INSERT
        # with its values for every release cost more than the database's work.
        connection = session.connection()
        statements = _new_release_statements(connection.dialect.name)
        new_id = connection.execute(statements.release, values).scalar()
        if new_id is not None:
            # A new row has no tags and no raw page yet: plain inserts, no ORM load. A plain
            # INSERT passes no ORM hook: the search index is told here too (changes made
            # through the ORM reach it by storage.search's session hook).
            rows = _NewRows()
            rows.add(new_id, record)
            rows.write(connection)
            return SaveOutcome.NEW
        # Another writer stored it between our look-up and our insert: treat as seen.
        existing = find_existing(session, source_id, record)
        if existing is None:  # conflict on a key we did not look up by: report it plainly
            raise LookupError(
                f"release conflicts with a stored one but was not found: {record.url}"
            )
    existing.last_seen_at = now
    if record.listing_hash:
        existing.listing_hash = record.listing_hash
    if existing.fingerprint == record.fingerprint:
        # The same content, perhaps read another way (the site's markup or the source's
        # selectors changed): how it was read now is what health and reparse must see.
        existing.extraction = record.extraction
        existing.field_stages = dict(record.field_stages)
        if record.raw is not None and _read_by_another_extractor(session, existing, record.raw):
            _store_raw(session, existing, record.raw)
        return SaveOutcome.UNCHANGED
    _copy(record, existing, CONTENT_FIELDS + CLASSIFICATION_FIELDS)
    set_tags(existing)
    existing.updated_at = now
    _store_raw(session, existing, record.raw)
    return SaveOutcome.UPDATED


@dataclass
class _NewRows:
    """New releases of a batch: their rows (``releases``: values, record), then what they
    need besides: tags, raw pages and search index entries. Written by one statement per
    table (issue 19: the batch is under one SAVEPOINT, so the rows go in together or not at
    all)."""

    releases: list[tuple[dict[str, Any], ReleaseRecord]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    raws: list[dict[str, Any]] = field(default_factory=list)
    index: list[tuple[int, str, str]] = field(default_factory=list)

    def add(self, release_id: int, record: ReleaseRecord) -> None:
        for kind, value in sorted(_wanted_tags(record.partners, record.topics)):
            self.tags.append({"release_id": release_id, "kind": kind, "value": value})
        if record.raw is not None:
            self.raws.append({"release_id": release_id, **_raw_values(record.raw)})
        self.index.append((release_id, record.title, record.body))

    def write(self, connection: Any) -> None:
        """Write what is held, and forget it."""
        statements = _new_release_statements(connection.dialect.name)
        if self.releases:
            # One multi-row INSERT ... RETURNING (SQLAlchemy's "insertmanyvalues"); the rows
            # come back in no promised order, so each id is told by its (unique) URL.
            returned = connection.execute(statements.releases, [v for v, _ in self.releases])
            ids = {url: release_id for release_id, url in returned}
            if len(ids) != len(self.releases):  # two records of one URL: never reached
                raise LookupError("a batch's new releases share a URL")
            for values, record in self.releases:
                self.add(ids[values["url"]], record)
        if self.tags and connection.dialect.name == "sqlite":
            # Plain values, no type to process: the driver's executemany straight away
            # (issue 19: SQLAlchemy's parameter handling of 7 tags a release cost more than
            # SQLite's inserts). PostgreSQL keeps SQLAlchemy's one multi-row statement.
            connection.exec_driver_sql(
                f"INSERT INTO {ReleaseTag.__tablename__} (release_id, kind, value)"
                " VALUES (?, ?, ?)",
                [(tag["release_id"], tag["kind"], tag["value"]) for tag in self.tags],
            )
        elif self.tags:
            connection.execute(statements.tag, self.tags)
        if self.raws:
            connection.execute(statements.raw, self.raws)
        index_releases(connection, self.index)
        self.releases, self.tags, self.raws, self.index = [], [], [], []


@dataclass(frozen=True)
class _NewReleaseStatements:
    release: Any  # INSERT ... ON CONFLICT DO NOTHING RETURNING id
    releases: Any  # INSERT ... RETURNING id, url: a batch's rows (a conflict fails it)
    tag: Any
    raw: Any


@functools.cache
def _new_release_statements(dialect: str) -> _NewReleaseStatements:
    table = Release.__table__
    if dialect == "postgresql":
        upsert: Any = postgresql.insert(table)
    elif dialect == "sqlite":
        upsert = sqlite.insert(table)
    else:
        raise NotImplementedError(f"no ON CONFLICT support for {dialect}")
    return _NewReleaseStatements(
        release=upsert.on_conflict_do_nothing().returning(table.c.id),
        releases=insert(table).returning(table.c.id, table.c.url),
        tag=insert(ReleaseTag.__table__),
        raw=insert(RawResponse.__table__),
    )


def _wanted_tags(
    partners: Sequence[str] | None, topics: Sequence[str] | None
) -> set[tuple[str, str]]:
    return {("partner", code) for code in partners or []} | {
        ("topic", topic) for topic in topics or []
    }


def set_tags(release: Release) -> None:
    """Mirror the release's partners and topics into its tag rows."""
    wanted = _wanted_tags(release.partners, release.topics)
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


def _read_by_another_extractor(session: Session, release: Release, raw: RawPage) -> bool:
    stored = session.scalar(
        select(RawResponse.extractor_version).where(RawResponse.release_id == release.id)
    )
    return stored != raw.extractor_version


def _store_raw(session: Session, release: Release, raw: RawPage | None) -> None:
    if raw is None:
        return
    row = session.get(RawResponse, release.id) or RawResponse(release_id=release.id)
    for name, value in _raw_values(raw).items():
        setattr(row, name, value)
    session.add(row)


def _raw_values(raw: RawPage) -> dict[str, Any]:
    return {
        "fetched_at": raw.fetched_at,
        "final_url": raw.final_url,
        "status": raw.status,
        "encoding": raw.encoding,
        "body_zlib": compress_page(raw.body),
        "extractor_version": raw.extractor_version,
    }


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

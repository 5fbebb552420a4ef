"""Engine and session setup for any SQLAlchemy URL; SQLite gets WAL mode and a busy timeout."""

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseUnusable(Exception):
    """The database URL cannot be used: malformed, no driver, missing directory, unreachable
    server or a schema this version cannot read. The message is one line for the user."""


def make_engine(url: str, create_directory: bool = False) -> Engine:
    """An engine for ``url``. A SQLite file must be in an existing directory, so a mistyped
    path is an error instead of a new empty database; ``create_directory`` lets the caller
    (which knows its own default database) have that directory created."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnusable(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            directory = Path(parsed.database).parent
            if create_directory:
                directory.mkdir(parents=True, exist_ok=True)
            elif not directory.is_dir():
                raise DatabaseUnusable(f"no such directory for the SQLite database: {directory}")
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        hint = ""
        if parsed.get_backend_name() == "postgresql":
            hint = "; install stnews[postgres] and use postgresql+psycopg://"
        message = f"no database driver for {parsed.drivername!r} ({exc}){hint}"
        raise DatabaseUnusable(message) from None


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit transactions cannot be IMMEDIATE).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets readers (the feed server) work while a crawl writes.
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def _switch_to_wal(cursor) -> None:
    """``PRAGMA journal_mode=WAL``, waiting its turn.

    Two processes opening a new database at once both switch it; the switch needs SQLite's
    exclusive lock and fails at once with "database is locked" instead of waiting the busy
    timeout. The mode is stored in the file, so the one that waited finds it set.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _sqlite_begin(connection) -> None:
    """Write transactions take SQLite's write lock up front (BEGIN IMMEDIATE).

    Two deferred transactions that both read and then write deadlock, and SQLite fails one
    with "database is locked" at once, whatever the busy timeout. Taking the lock at BEGIN
    makes writers queue (up to the busy timeout) instead. Read-only sessions begin deferred,
    so in WAL mode readers never wait for a writer.
    """
    readonly = connection.get_execution_options().get("stnews_readonly", False)
    connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class Database:
    """One engine and its session factory; brings the schema up to date on first use."""

    def __init__(self, url: str, migrate: bool = True, create_directory: bool = False) -> None:
        self.url = url
        self.engine = make_engine(url, create_directory)
        if migrate:
            from storage.migrate import ensure_current

            ensure_current(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(stnews_readonly=True), expire_on_commit=False
        )

    @contextmanager
    def session(self, readonly: bool = False) -> Iterator[Session]:
        """A session whose work is committed as one transaction, or rolled back on error.

        ``readonly=True`` for sessions that only read (feeds, the web server): on SQLite they
        do not take the write lock.
        """
        factory = self._read_sessions if readonly else self._sessions
        with factory() as session, session.begin():
            yield session

    def cannot_write(self) -> str | None:
        """Why a crawl could store nothing here (a read-only file, a user without INSERT on
        the tables a crawl writes), or None. Tried, not guessed from permissions: a source, a
        release and a run row are inserted and rolled back, so nothing is left behind."""
        from sqlalchemy import insert

        from storage.models import CrawlRun, Release, Source, utcnow

        now = utcnow()
        try:
            with self.engine.connect() as connection, connection.begin() as transaction:
                source_id = connection.execute(
                    insert(Source).values(name="(stnews write check)", agency="-",
                                          agency_country="--", language="-", timezone="UTC",
                                          created_at=now).returning(Source.id)
                ).scalar_one()  # fmt: skip
                connection.execute(
                    insert(Release).values(source_id=source_id, url="stnews:write-check",
                                           title="-", published_at=now, body="", language="-",
                                           agency="-", agency_country="--", fingerprint="-",
                                           attachments=[], evidence=[], partners=[], topics=[],
                                           field_stages={}, extraction="selectors",
                                           first_seen_at=now, last_seen_at=now,
                                           updated_at=now)
                )  # fmt: skip
                connection.execute(
                    insert(CrawlRun).values(source="(stnews write check)", status="check",
                                            started_at=now)
                )  # fmt: skip
                transaction.rollback()
        except DBAPIError as exc:
            return str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        return None

    def dispose(self) -> None:
        self.engine.dispose()


def open_checked(
    url: str, migrate: bool = True, existing: bool = False, create_directory: bool = False
) -> Database:
    """A Database whose URL, driver and server have been tried: any failure is one
    DatabaseUnusable line (with the password hidden), never a driver traceback.

    ``existing=True`` (commands that only look): the database must already be there, at
    the current schema; nothing is created (no SQLite file, no directory) or migrated.
    """
    from storage.migrate import SchemaError, current_revision, head_revision

    if existing:
        _require_existing(url)
    try:
        creates = create_directory and not existing
        database = Database(url, migrate=migrate and not existing, create_directory=creates)
        if existing:
            current, head = current_revision(database.engine), head_revision()
            if current != head:
                database.dispose()
                raise DatabaseUnusable(
                    f"{_shown(url)} has no stnews tables yet (`stnews crawl` or `stnews db "
                    "upgrade` creates them)"
                    if current is None
                    else f"{_shown(url)} is at schema {current}, this stnews reads {head}: "
                    "run `stnews db upgrade`"
                )
        elif not migrate:
            with database.engine.connect():  # an unreachable server fails here, not later
                pass
        return database
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise DatabaseUnusable(f"cannot open the database {_shown(url)}: {reason}") from None
    except SchemaError as exc:
        raise DatabaseUnusable(str(exc)) from None


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _require_existing(url: str) -> None:
    """A SQLite URL must name a file that exists (connecting would create it)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnusable(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    if not Path(parsed.database).is_file():
        raise DatabaseUnusable(
            f"no database at {parsed.database} (`stnews crawl` or `stnews db upgrade` "
            "creates it)"
        )

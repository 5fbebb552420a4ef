"""Bringing any database to the current schema with Alembic.

A new, empty database gets the schema from the migrations; a database behind head is
upgraded. Concurrent first starts (a scheduler and a server at once) are serialized: an
advisory lock on PostgreSQL, the IMMEDIATE write lock on SQLite.
"""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

import storage.health
import storage.models
import storage.notify
import storage.pages
import storage.scheduling
import storage.search

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Tables that other libraries own in the same database (APScheduler's job store).
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})
# Tables that are stnews's but not in the models: the search index, whose shape differs by
# backend (an FTS5 table and its shadow tables on SQLite), made by migration 0004.
UNMODELLED_TABLES = frozenset({storage.search.TABLE}) | storage.search.SHADOW_TABLES
_LOCK_KEY = 0x5374_4E77  # "StNw": PostgreSQL advisory lock id for migrations

# Every model module registers its tables on this one metadata (imported above for that).
target_metadata = storage.models.Base.metadata
assert storage.health and storage.notify and storage.pages and storage.scheduling


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "table" and name in FOREIGN_TABLES | UNMODELLED_TABLES)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


class SchemaError(RuntimeError):
    """The database cannot be brought to the current schema automatically."""


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision`` (default: the newest).

    The state is read again once the lock is held: a process that started at the same moment
    may have migrated the database meanwhile, and then there is nothing left to do.
    """
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        current = MigrationContext.configure(connection).get_current_revision()
        if current is None and "releases" in inspect(connection).get_table_names():
            raise SchemaError(
                f"{engine.url.render_as_string(hide_password=True)} holds stnews tables but no "
                "migration history (it predates migrations); start a new database"
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def ensure_current(engine: Engine) -> None:
    """Upgrade only when behind: the check is one cheap query on every start."""
    if current_revision(engine) != head_revision():
        upgrade(engine)


def pending_differences(engine: Engine) -> list:
    """Differences between the models and the database schema (empty when they agree)."""
    from alembic.autogenerate import compare_metadata

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        return compare_metadata(context, target_metadata)

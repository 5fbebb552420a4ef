"""Test databases: SQLite files by default; fresh PostgreSQL schemas with STNEWS_TEST_DB=postgresql.

The whole suite runs on either backend (`.ci/run` runs both legs). A PostgreSQL test
database is a new schema in the `test` database, selected through the connection's
search_path, and dropped when the session ends.
"""

import os
import uuid
from pathlib import Path

import pytest

BACKEND = os.environ.get("STNEWS_TEST_DB", "sqlite")
POSTGRES_URL = os.environ.get(
    "STNEWS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("STNEWS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
_schemas: list[str] = []


def _admin_dsn() -> str:
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    return (
        f"host={url.host or '127.0.0.1'} port={url.port or 5432} "
        f"dbname={url.database or 'test'} user={url.username or 'postgres'}"
    )


def postgres_available() -> bool:
    import psycopg

    try:
        with psycopg.connect(_admin_dsn(), connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def require_postgres() -> None:
    """Skip (never in CI) when no PostgreSQL server answers."""
    if not postgres_available():
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL is required in CI and not reachable: {POSTGRES_URL}")
        pytest.skip(f"no PostgreSQL server at {POSTGRES_URL}")


def new_postgres_url() -> str:
    import psycopg

    require_postgres()
    schema = f"stnews_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    _schemas.append(schema)
    separator = "&" if "?" in POSTGRES_URL else "?"
    # synchronous_commit=off: a commit returns before its WAL reaches the disk (about 10 ms
    # less per commit here). It changes only what a crash of the server itself could lose,
    # which no test does; what other sessions see, and when, is unchanged.
    options = f"-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    return f"{POSTGRES_URL}{separator}options={options}"


def new_database_url(folder: Path, name: str = "stnews.db") -> str:
    """A new, empty database for one test, on the backend under test."""
    if BACKEND == "postgresql":
        return new_postgres_url()
    folder.mkdir(parents=True, exist_ok=True)  # stnews refuses a SQLite path in no directory
    return f"sqlite:///{folder / name}"


def drop_test_schemas() -> None:
    if not _schemas:
        return
    import psycopg

    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        for schema in _schemas:
            connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    _schemas.clear()

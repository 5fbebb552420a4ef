import os
from pathlib import Path

import pytest

from storage import Database
from tests.databases import drop_test_schemas, new_database_url


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return new_database_url(tmp_path)


@pytest.fixture(scope="session", autouse=True)
def _drop_postgres_schemas():
    yield
    drop_test_schemas()


@pytest.fixture
def database(database_url: str):
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture(autouse=True)
def _no_ambient_database(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests choose their database explicitly; a developer's DATABASE_URL must not leak in.
    if "DATABASE_URL" in os.environ:
        monkeypatch.delenv("DATABASE_URL")

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage import Database
from tests.databases import REDIS_URL, drop_test_schemas, new_database_url


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


@pytest.fixture(scope="session")
def redis_client():
    """The Redis server the tests share; skipped (never in CI) when none answers."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is required in CI and not reachable at {REDIS_URL}: {exc}")
        pytest.skip(f"no Redis server at {REDIS_URL}: {exc}")
    yield client
    client.close()


@pytest.fixture
def prefix(redis_client) -> Iterator[str]:
    """A Redis key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"stnews-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}:*"))
    if keys:
        redis_client.delete(*keys)

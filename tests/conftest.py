import inspect
import os
import re
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from storage import Database
from tests.databases import BACKEND, REDIS_URL, drop_test_schemas, new_database_url

#: A test module that reaches the backend under test other than through the fixtures below.
_USES_TEST_DATABASES = re.compile(
    r"^\s*(from tests\.databases import|import tests\.databases|from tests import databases)",
    re.MULTILINE,
)


@cache
def _module_uses_test_databases(module) -> bool:
    try:
        return bool(_USES_TEST_DATABASES.search(inspect.getsource(module)))
    except (OSError, TypeError):
        return True  # cannot tell: keep the test


def depends_on_backend(item: pytest.Item) -> bool:
    """Whether a test can behave differently on PostgreSQL: it opens a database under test
    (the ``database_url``/``database`` fixtures) or its module uses ``tests.databases``.
    Every other test never reads STNEWS_TEST_DB, so the PostgreSQL leg would rerun it as is."""
    if "database_url" in getattr(item, "fixturenames", ()):
        return True
    module = getattr(item, "module", None)
    return module is None or _module_uses_test_databases(module)


#: The test modules that take longest, longest first (summed test durations of a full run,
#: `pytest --durations=0`). `make test` hands whole modules to its workers in collection order
#: (`--dist loadfile`: a module's fixtures are set up once); starting with the longest keeps
#: both workers busy to the end. Only the order depends on this list: refresh it when the
#: suite changes much.
LONGEST_FIRST = (
    "tests/test_scheduler.py",
    "tests/test_sources.py",
    "tests/test_distributed.py",
    "tests/test_cli_progress.py",
    "tests/test_cli_look_only.py",
    "tests/test_feed_sources.py",
    "tests/test_crash_recovery.py",
    "tests/test_crawl_replay.py",
    "tests/test_hostile_input.py",
    "tests/test_soak.py",
    "tests/test_bench_smoke.py",
    "tests/test_crash_safety.py",
    "tests/test_concurrent_writers.py",
    "tests/test_bad_input.py",
    "tests/test_scrapy_commands.py",
    "tests/server/test_server.py",
    "tests/test_scheduler_enqueue.py",
    "tests/test_reparse.py",
    "tests/test_readonly_database.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))  # stable
    # The PostgreSQL leg of `make test` runs the tests whose outcome can depend on the
    # database; the SQLite leg runs everything.
    if BACKEND != "postgresql" or os.environ.get("STNEWS_TEST_ALL_ON_POSTGRES"):
        return
    keep, drop = [], []
    for item in items:
        wanted = depends_on_backend(item) and not item.get_closest_marker("sqlite_only")
        (keep if wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


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

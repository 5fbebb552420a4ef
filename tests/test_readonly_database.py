"""Issue 18, item 11: a database the crawl cannot write to fails the crawl loudly.

Before, a read-only SQLite file let a crawl read every release, drop each as a storage error
and exit 0. Now `stnews crawl` tries a write (rolled back) before any spider starts and stops
with one line and exit status 2 (an unusable database); a database that refuses only some of
a release's rows lets the check pass, loses every release, and the run is recorded
"incomplete" with exit status 1 and one line saying why.

Real refusals, no mocks: a SQLite file with mode 444 (the crawl runs without the
capabilities that let root write it anyway), and PostgreSQL roles without INSERT. Every case
runs whatever `STNEWS_TEST_DB` says: the SQLite case needs no server, the PostgreSQL ones use
the test server at 127.0.0.1:5432.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from storage import Database
from storage.models import CrawlRun, Release
from tests.databases import _admin_dsn, new_postgres_url
from tests.support import ROOT

FIXTURES = ROOT / "fixtures"


def stnews(*args: str, unprivileged: bool = False) -> subprocess.CompletedProcess[str]:
    """`stnews ARGS` in a child process; ``unprivileged``: without root's power to write
    files whose mode forbids it (CAP_DAC_OVERRIDE), as any other user would run it."""
    command = [sys.executable, "-m", "crawler.cli", *args]
    if unprivileged and os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to drop root's file capabilities"
        command = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", *command]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def one_line(stderr: str, needle: str) -> str:
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if needle in line]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def test_a_read_only_sqlite_file_stops_the_crawl_at_once(tmp_path: Path) -> None:
    path = tmp_path / "stnews.db"
    url = f"sqlite:///{path}"
    assert stnews("--db", url, "db", "upgrade").returncode == 0
    path.chmod(0o444)
    before = path.read_bytes()
    result = stnews("--db", url, "crawl", "ey", "--replay", str(FIXTURES), unprivileged=True)
    assert result.returncode == 2, (result.stdout[-2000:], result.stderr[-2000:])
    line = one_line(result.stderr, "cannot write to the database")
    assert "readonly database" in line and "nothing was crawled" in line
    assert path.read_bytes() == before
    path.chmod(0o644)
    database = Database(url)
    with database.session(readonly=True) as session:
        assert session.scalars(select(CrawlRun)).all() == []
    database.dispose()


@pytest.fixture
def role() -> Iterator[str]:
    """A PostgreSQL login role of this test's own, dropped afterwards."""
    import psycopg

    name = f"stnews_test_role_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        connection.execute(f'CREATE ROLE "{name}" LOGIN')
    yield name
    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        connection.execute(f'DROP OWNED BY "{name}"')
        connection.execute(f'DROP ROLE "{name}"')


def postgres_as(role: str, grants: list[str]) -> tuple[str, str]:
    """(owner URL, role URL) of a new migrated schema on which ``role`` has ``grants``."""
    import psycopg

    owner_url = new_postgres_url()
    Database(owner_url).dispose()  # migrates
    found = re.search(r"search_path%3D(\w+)", owner_url)
    assert found
    schema = found.group(1)
    with psycopg.connect(_admin_dsn(), autocommit=True) as connection:
        connection.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        for grant in grants:
            connection.execute(grant.format(schema=f'"{schema}"', role=f'"{role}"'))
    role_url = make_url(owner_url).set(username=role).render_as_string(hide_password=False)
    return owner_url, role_url


def test_a_postgres_user_without_write_stops_the_crawl_at_once(role: str) -> None:
    owner_url, role_url = postgres_as(
        role, ["GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}"]
    )
    result = stnews("--db", role_url, "crawl", "ey", "--replay", str(FIXTURES))
    assert result.returncode == 2, (result.stdout[-2000:], result.stderr[-2000:])
    line = one_line(result.stderr, "cannot write to the database")
    assert "permission denied" in line and "nothing was crawled" in line
    database = Database(owner_url)
    with database.session(readonly=True) as session:
        assert session.scalars(select(CrawlRun)).all() == []
    database.dispose()


def test_a_store_that_refuses_every_release_is_an_incomplete_run(role: str) -> None:
    # The role may write runs, sources and release rows, but not their raw pages: the check
    # passes, and every release then fails whole (its row rolled back with its raw page).
    owner_url, role_url = postgres_as(
        role,
        [
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
            "REVOKE INSERT ON {schema}.raw_responses FROM {role}",
        ],
    )
    result = stnews("--db", role_url, "crawl", "ey", "--replay", str(FIXTURES))
    assert result.returncode == 1, (result.stdout[-2000:], result.stderr[-2000:])
    line = one_line(result.stderr, "ey: incomplete:")
    assert "read but not stored" in line
    database = Database(owner_url)
    with database.session(readonly=True) as session:
        runs = session.scalars(select(CrawlRun)).all()
        assert [run.status for run in runs] == ["incomplete"]
        assert runs[0].dropped.get("storage-error", 0) > 0
        assert session.scalars(select(Release)).all() == []
    database.dispose()

"""Commands that only look never write, and a health verdict comes only from crawls of the
site: `scrapy check` and `stnews check` crawl into a throwaway database, a replay of fixtures
reports its verdict without recording it, and `status`, `releases`, `db current` and `doctor`
(without --write) create and migrate nothing."""

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crawler.cli import main
from storage import Database
from storage.health import MonitorEvent, SourceHealth, record_health
from tests.crawl_support import copy_fixtures, crawl_json, run_cli
from tests.databases import BACKEND, new_database_url
from tests.support import FIXTURES, ROOT


def snapshot(url: str) -> dict:
    """What a look must leave as it was: every table's row count, health, and on SQLite the
    bytes and modification times of the database files."""
    from sqlalchemy import inspect, text

    database = Database(url, migrate=False)
    try:
        with database.session(readonly=True) as session:
            tables = inspect(database.engine).get_table_names()
            counts = {
                t: session.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in tables
            }
            health = [
                (h.source, h.status, tuple(h.reasons or ()), h.checked_at)
                for h in session.scalars(select(SourceHealth).order_by(SourceHealth.source))
            ]
    finally:
        database.dispose()
    files = {}
    if BACKEND == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        for file in sorted(path.parent.glob(path.name + "*")):
            files[file.name] = (
                hashlib.sha256(file.read_bytes()).hexdigest(),
                file.stat().st_mtime_ns,
            )
    return {"counts": counts, "health": health, "files": files}


@pytest.fixture(scope="module")
def user_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A user's database after a crawl, with a health recorded for `ey` as a live crawl would."""
    db = new_database_url(tmp_path_factory.mktemp("user"))
    crawl_json(db, "ey", "koreakr_motir")
    database = Database(db)
    with database.session() as session:
        record_health(session, "ey", "healthy", [], stale=False)
    database.dispose()
    return db


@pytest.mark.slow  # the commands' own behaviour: SQLite leg only
def test_scrapy_check_crawls_into_a_throwaway_database(user_db: str) -> None:
    before = snapshot(user_db)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": user_db}
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "check", "ey", "koreakr_motir", "-s",
         "REPLAY_DIR=fixtures", "-s", f"DATABASE_URL={user_db}"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stderr and "contracts" in result.stderr
    assert snapshot(user_db) == before


@pytest.mark.slow  # the commands' own behaviour: SQLite leg only
def test_stnews_check_leaves_the_users_database_alone(user_db: str, capsys) -> None:
    before = snapshot(user_db)
    assert main(["--db", user_db, "check", "ey", "koreakr_motir", "--json"]) == 0
    checks = {c["source"]: c for c in json.loads(capsys.readouterr().out)}
    assert checks["ey"]["ok"] and checks["ey"]["health"]["status"] == "healthy"
    assert snapshot(user_db) == before


@pytest.mark.slow  # the commands' own behaviour: SQLite leg only
def test_a_replay_reports_its_verdict_and_never_moves_health(user_db: str, tmp_path) -> None:
    # The ey fixtures with a detail page whose body the selectors no longer find: a replay
    # judges the source degraded, and the health recorded from the site stays healthy.
    fixtures = copy_fixtures(tmp_path / "fixtures", ("ey",))
    for page in (fixtures / "ey").rglob("*.html"):
        page.write_text(page.read_text(encoding="utf-8").replace("data_left", "gone"), "utf-8")
    before = snapshot(user_db)
    row = crawl_json(user_db, "ey", "--full", replay=fixtures)["ey"]
    assert row["health"]["status"] != "healthy" and row["health"]["recorded"] is False
    assert any("body" in reason for reason in row["health"]["reasons"]), row["health"]
    after = snapshot(user_db)
    assert after["health"] == before["health"]
    assert after["counts"]["monitor_events"] == before["counts"]["monitor_events"]
    (status,) = json.loads(run_cli("status", "ey", "--json", db=user_db).stdout)
    assert status["health"] == "healthy"


def test_looking_commands_create_nothing(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the default database is var/stnews.db, here
    for argv in (["status"], ["releases"], ["ledger"], ["subscriptions"], ["db", "current"]):
        status = main(argv)
        err = capsys.readouterr().err
        if argv == ["db", "current"]:
            assert status == 0  # "empty": it reports the schema as it is
        else:
            assert status == 2 and "no database at var/stnews.db" in err, (argv, err)
    assert list(tmp_path.iterdir()) == []


def test_looking_commands_migrate_nothing(tmp_path: Path, capsys) -> None:
    from storage.migrate import current_revision, head_revision, upgrade

    url = new_database_url(tmp_path)
    database = Database(url, migrate=False)
    upgrade(database.engine, "0004")
    for argv in (["status"], ["releases"], ["subscriptions"]):
        assert main(["--db", url, *argv]) == 2
        err = capsys.readouterr().err
        assert f"is at schema 0004, this stnews reads {head_revision()}" in err
        assert "run `stnews db upgrade`" in err
    assert current_revision(database.engine) == "0004"
    database.dispose()


def test_doctor_without_write_creates_no_database(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'never.db'}"
    sources = tmp_path / "sources.toml"
    sources.write_bytes((ROOT / "sources.toml").read_bytes())
    result = run_cli("doctor", "ey", "--replay", str(FIXTURES), db=db,
                     env={"STNEWS_SOURCES": str(sources)})  # fmt: skip
    assert "ey" in result.stdout
    assert not (tmp_path / "never.db").exists()
    assert sources.read_bytes() == (ROOT / "sources.toml").read_bytes()


def test_monitor_events_count_helper_sees_a_recorded_event(tmp_path: Path) -> None:
    # The snapshot would notice an alarm: a recorded degradation adds a monitor event.
    url = new_database_url(tmp_path)
    database = Database(url)
    with database.session() as session:
        record_health(session, "ey", "degraded", ["field 'body' missing"], stale=False)
    with database.session(readonly=True) as session:
        assert session.scalar(select(func.count()).select_from(MonitorEvent)) == 1
    database.dispose()
    assert snapshot(url)["counts"]["monitor_events"] == 1

"""Alembic migrations: an empty database migrated to head matches the models exactly."""

from sqlalchemy import inspect

from storage.db import make_engine
from storage.migrate import current_revision, head_revision, pending_differences, upgrade
from tests.cli_support import call
from tests.databases import new_database_url


def test_empty_database_migrates_to_head_and_matches_the_models(tmp_path) -> None:
    engine = make_engine(new_database_url(tmp_path))
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert pending_differences(engine) == []
    assert {"releases", "sources", "crawl_runs", "raw_responses"} <= set(
        inspect(engine).get_table_names()
    )
    engine.dispose()


def test_db_upgrade_command_and_first_run(tmp_path) -> None:
    url = new_database_url(tmp_path)

    def stnews(*args: str, status: int = 0) -> str:
        result = call("--db", url, *args)
        assert result.returncode == status, result.stderr
        return result.stdout + result.stderr

    assert "empty" in stnews("db", "current")
    assert "upgraded from empty to" in stnews("db", "upgrade")
    assert "already at" in stnews("db", "upgrade")
    # A command that only reads refuses a database without the schema, and creates nothing;
    # the first run of a command that writes brings a new database to head.
    url = new_database_url(tmp_path, "second.db")
    assert "`stnews db upgrade` creates" in stnews("releases", "--json", status=2)
    assert "empty" in stnews("db", "current")
    stnews("reclassify")
    assert "(current)" in stnews("db", "current")

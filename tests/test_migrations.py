"""Alembic migrations: an empty database migrated to head matches the models exactly."""

from sqlalchemy import inspect

from storage.db import make_engine
from storage.migrate import current_revision, head_revision, pending_differences, upgrade
from tests.crawl_support import run_cli
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
    assert "empty" in run_cli("db", "current", db=url).stdout
    assert "upgraded from empty to" in run_cli("db", "upgrade", db=url).stdout
    assert "already at" in run_cli("db", "upgrade", db=url).stdout
    # A command that only reads refuses a database without the schema, and creates nothing;
    # the first run of a command that writes brings a new database to head.
    other = new_database_url(tmp_path, "second.db")
    refused = run_cli("releases", "--json", db=other, check=False)
    assert refused.returncode == 2 and "`stnews db upgrade` creates" in refused.stderr
    assert "empty" in run_cli("db", "current", db=other).stdout
    run_cli("reclassify", db=other)
    assert "(current)" in run_cli("db", "current", db=other).stdout

"""Scrapy's own commands work from the repository root, as Scrapy users expect."""

import os
import subprocess
import sys

import pytest

from tests.databases import new_database_url
from tests.support import ROOT


def scrapy(*args: str, tmp_db: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": tmp_db}
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args], capture_output=True, text=True, cwd=ROOT,
        env=env, timeout=180,
    )  # fmt: skip


def test_scrapy_list(tmp_path) -> None:
    from crawler.source_registry import spider_classes

    result = scrapy("list", tmp_db=f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 0, result.stderr
    # Every source of sources.toml, once: code classes are listed through their source only.
    assert result.stdout.split() == sorted(spider_classes())
    assert {"moeaidb", "msit", "nstc", "nstc_pages", "ey"} <= set(result.stdout.split())
    assert "same name" not in result.stderr


@pytest.mark.slow
def test_scrapy_check_against_fixtures(tmp_path) -> None:
    result = scrapy("check", "-s", "REPLAY_DIR=fixtures", tmp_db=f"sqlite:///{tmp_path}/x.db")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stderr


@pytest.mark.slow  # Scrapy's command line: SQLite leg only
def test_scrapy_crawl_replays_into_the_database(tmp_path) -> None:
    from tests.crawl_support import expected_release_ids, stored_releases

    db = new_database_url(tmp_path)
    result = scrapy("crawl", "msit", "-s", "REPLAY_DIR=fixtures", tmp_db=db)
    assert result.returncode == 0, result.stderr
    ids = [r["native_id"] for r in stored_releases(db)]
    assert sorted(ids) == sorted(expected_release_ids("msit"))

"""Two crawls of one source writing into one database at once: no duplicate, no error."""

import json
import os

import pytest

from bench.sitegen import SyntheticSite
from tests import forked_cli
from tests.crawl_support import stored_releases
from tests.databases import BACKEND, new_database_url
from tests.support import ROOT


@pytest.mark.parametrize("rounds", [2])
def test_simultaneous_crawls_store_each_release_once(tmp_path, rounds: int) -> None:
    site = SyntheticSite(50)
    fixtures = site.write_fixtures(tmp_path / "site")
    db = new_database_url(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_LOG_LEVEL": "WARNING"}
    command = ["--db", db, "crawl", "nstc", "--replay", str(fixtures), "--full", "--json"]
    for _ in range(rounds):  # the first round races on inserts, the second on updates
        # Forked from one preloaded interpreter: real processes, without 2 s of imports each.
        children = [forked_cli.Forked(command, env=env, cwd=ROOT) for _ in range(2)]
        outputs = [child.communicate(timeout=180) for child in children]
        for child, (stdout, stderr) in zip(children, outputs, strict=True):
            assert child.returncode == 0, stderr
            assert "database is locked" not in stderr
            assert "Traceback" not in stderr, stderr
            (summary,) = json.loads(stdout)
            assert summary["errors"] == 0 and summary["dropped"] == {}, summary
    releases = stored_releases(db)
    ids = [release["native_id"] for release in releases]
    assert len(ids) == len(set(ids)) == 50, BACKEND

"""After any kill or interrupt, a plain incremental `stnews crawl` (no `--full`) completes the set.

A synthetic site of 40 releases is crawled completely; then it grows to 100 (new releases
first, as news lists are) and the next crawl is stopped part-way: SIGKILL, or SIGINT (Ctrl-C)
at several points. A plain rerun must then store every release exactly once. Without care it
does not: the first list page of the grown site shows only releases the stopped crawl stored,
the incremental middleware stops paging there, and the rest stay missing for good. A killed
crawl leaves whole releases only: each stored one has its raw page (its batch committed
whole, or not at all).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.sitegen import SyntheticSite
from storage import CrawlRun, Database, RawResponse, Release
from tests import forked_cli
from tests.databases import BACKEND, new_database_url
from tests.support import ROOT

# Whole crawls in child processes: a loaded machine may need more than the default timeout.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

BEFORE, AFTER = 40, 100
BATCH = 10  # small batches: a stop lands between commits of 10 releases


def _env() -> dict[str, str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_LOG_LEVEL": "WARNING"}
    environment.pop("DATABASE_URL", None)
    return environment


class Site:
    def __init__(self, tmp: Path, pages: Path, url: str | None = None) -> None:
        self.url = url or new_database_url(tmp)
        self.before, self.after = pages / "before", pages / "after"
        self.db = Database(self.url)
        #: More ``-s NAME=VALUE`` options for every crawl.
        self.settings: list[str] = []

    def command(self, replay: Path) -> list[str]:
        return ["--db", self.url, "crawl", "nstc",
                "--replay", str(replay), "--json", "-s", f"STORE_BATCH_SIZE={BATCH}",
                *self.settings]  # fmt: skip

    def crawl(self, replay: Path) -> tuple[int, dict]:
        done = forked_cli.run(self.command(replay), env=_env(), cwd=ROOT, timeout=300)
        assert "Traceback" not in done.stderr, done.stderr
        (row,) = json.loads(done.stdout)
        return done.returncode, row

    def stored(self) -> int:
        with self.db.session(readonly=True) as session:
            return session.scalar(select(func.count()).select_from(Release)) or 0

    def without_raw_page(self) -> int:
        """Stored releases missing their raw page: half-written ones."""
        with self.db.session(readonly=True) as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Release)
                    .where(~Release.id.in_(select(RawResponse.release_id)))
                )
                or 0
            )

    def distinct_ids(self) -> int:
        with self.db.session(readonly=True) as session:
            ids = list(session.scalars(select(Release.native_id)))
        assert len(ids) == len(set(ids)), "a release stored twice"
        return len(ids)

    def statuses(self) -> list[str]:
        with self.db.session(readonly=True) as session:
            return list(session.scalars(select(CrawlRun.status).order_by(CrawlRun.id)))

    def stop_part_way(self, at: int, stop: Callable[[forked_cli.Forked], None]) -> tuple[int, str]:
        """Start the crawl of the grown site and ``stop`` it once ``at`` more releases are
        stored; returns its exit status and stderr."""
        # Killed on the way out if still running.
        with forked_cli.Forked(self.command(self.after), env=_env(), cwd=ROOT) as process:
            deadline = time.monotonic() + 300
            # Wait for the crawl to have recorded its run: a signal in the interpreter's first
            # instants is a race with Scrapy installing its handlers, not what is tested here.
            while (
                len(self.statuses()) < 2 or self.stored() < BEFORE + at
            ) and process.poll() is None:
                assert time.monotonic() < deadline, "the crawl did not get that far"
                time.sleep(0.005)
            assert process.poll() is None, "the crawl ended before it could be stopped"
            stop(process)
            _, stderr = process.communicate(timeout=300)
        return process.returncode, stderr


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    SyntheticSite(BEFORE).write_fixtures(folder / "before")
    SyntheticSite(AFTER).write_fixtures(folder / "after")
    return folder


@pytest.fixture(scope="module")
def crawled_before(pages: Path, tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A SQLite database holding the complete first crawl, made once per module and copied by
    each test (the tests stop the second crawl; the first is the same for all). None on
    PostgreSQL, where each test crawls it itself."""
    if BACKEND != "sqlite":
        return None
    folder = tmp_path_factory.mktemp("before-db")
    site = Site(folder, pages, f"sqlite:///{folder / 'stnews.db'}")
    code, row = site.crawl(site.before)
    assert code == 0 and row["new"] == BEFORE
    site.db.dispose()  # the last connection checkpoints the WAL into the file
    return folder / "stnews.db"


@pytest.fixture
def site(tmp_path: Path, pages: Path, crawled_before: Path | None):
    if crawled_before is not None:
        shutil.copyfile(crawled_before, tmp_path / "stnews.db")
        site = Site(tmp_path, pages, f"sqlite:///{tmp_path / 'stnews.db'}")
        assert site.stored() == BEFORE and site.statuses() == ["finished"]
    else:
        site = Site(tmp_path, pages)
        code, row = site.crawl(site.before)
        assert code == 0 and row["new"] == BEFORE
    yield site
    site.db.dispose()


def test_a_killed_crawl_is_completed_by_a_plain_rerun(site: Site) -> None:
    site.stop_part_way(20, lambda process: process.kill())
    assert BEFORE + 20 <= site.stored() < AFTER
    assert site.without_raw_page() == 0
    code, row = site.crawl(site.after)
    assert code == 0 and row["status"] == "finished"
    assert site.distinct_ids() == AFTER
    assert site.statuses()[-2:] == ["interrupted", "finished"]  # the kill noticed at the rerun
    # Trusted again: the next crawl stops at the first list page, all of it known.
    code, row = site.crawl(site.after)
    assert code == 0 and row["new"] == 0 and row["pages"] <= 2


@pytest.mark.parametrize("at", [0, 20, 40])
def test_ctrl_c_stops_cleanly_and_a_plain_rerun_completes_the_set(site: Site, at: int) -> None:
    code, stderr = site.stop_part_way(at, lambda process: process.send_signal(signal.SIGINT))
    assert "Traceback" not in stderr, stderr
    assert code != 0
    # Recorded as interrupted: never "finished".
    assert site.statuses()[1:] == ["interrupted"], stderr
    # No "stored < AFTER" here: a graceful stop lets the requests in flight finish, and on a
    # fast run those may be the last ones. Even then the run is not "finished" (above).
    code, row = site.crawl(site.after)
    assert code == 0 and row["status"] == "finished", row
    assert site.distinct_ids() == AFTER

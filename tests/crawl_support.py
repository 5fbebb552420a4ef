"""Running whole crawls in child processes: Twisted's reactor cannot restart in one process."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests import forked_cli
from tests.cli_support import run_in_process
from tests.support import FIXTURES, ROOT

STNEWS = [sys.executable, "-m", "crawler.cli"]
EXPECTED = ROOT / "tests" / "expected_releases.json"


def run_cli(
    *args: str, db: str, check: bool = True, cwd: Path = ROOT, env: dict | None = None
) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_LOG_LEVEL": "WARNING", **(env or {})}
    env.pop("DATABASE_URL", None)
    result = forked_cli.run(["--db", db, *args], env=env, cwd=cwd, timeout=180)
    if check and result.returncode != 0:
        raise AssertionError(f"stnews {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def crawl_json(db: str, *args: str, replay: Path = FIXTURES) -> dict[str, dict]:
    result = run_cli("crawl", "--replay", str(replay), "--json", *args, db=db)
    return {row["source"]: row for row in json.loads(result.stdout)}


def stored_releases(db: str, *args: str) -> list[dict]:
    """`stnews releases --json`: in this process (it crawls nothing)."""
    return json.loads(run_in_process("releases", "--json", *args, db=db).stdout)


def expected_release_ids(source: str) -> set[str]:
    """Distinct site ids of the releases a replayed crawl of a source's fixtures stores."""
    return set(json.loads(EXPECTED.read_text(encoding="utf-8"))[source])


def copy_fixtures(target: Path, sources: tuple[str, ...] | None = None) -> Path:
    for folder in FIXTURES.iterdir():
        if folder.is_dir() and (sources is None or folder.name in sources):
            shutil.copytree(folder, target / folder.name)
    return target

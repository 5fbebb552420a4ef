"""`pip install .` (not editable) gives a working `stnews` outside the checkout.

The package is built and installed into a fresh venv in a temporary directory, then run from
another temporary directory that has no sources file and no fixtures: the sources, the
classifier's model, the migrations and the templates must all come from the wheel.

Tests never touch the network, so the new venv gets its *dependencies* from this venv's
site-packages (one line in a ``.pth`` file: that only extends ``sys.path``, it does not run
this venv's own ``.pth`` files, so the editable install of the checkout stays out), and pip
and the build's setuptools come from there too (``--no-build-isolation``). stnews itself comes
only from what pip installed; the test checks that ``crawler`` is imported from the new venv.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import feedparser
import pytest

from crawler.sources import load_sources
from tests.support import FIXTURES, ROOT

pytestmark = pytest.mark.slow

#: What a build reads: the project metadata and the three top-level packages.
BUILD_INPUTS = ["pyproject.toml", "README.md", "LICENSE", "sources.toml"]
PACKAGES = ["crawler", "spiders", "storage"]
#: Two sources with fixtures, one read from a list page and one from RSS.
SOURCES = ["nstc", "nstc_zh"]


def _clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user who has only installed stnews."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("STNEWS_", "SCRAPY_", "PYTHON", "PIP_REQUIRE_VIRTUALENV"))
        and key not in {"DATABASE_URL", "VIRTUAL_ENV"}
    }
    return {**env, **extra}


def _run(command: list[str | Path], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A venv with stnews installed from a copy of the checkout, and pip's output."""
    base = tmp_path_factory.mktemp("install")
    # A copy, so the build's build/ and *.egg-info never land in the checkout.
    source = base / "src"
    source.mkdir()
    for name in BUILD_INPUTS:
        shutil.copy(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            source / package,
            symlinks=True,  # crawler/data/sources.toml links to ../../sources.toml
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    venv = base / "venv"
    # Without pip: Python's bundled pip and (on 3.11) an old setuptools would shadow this
    # venv's, which the build needs (SPDX licence strings need setuptools 77).
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=base)
    python = venv / "bin" / "python"
    site = _run(
        [python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=base
    ).stdout.strip()
    Path(site, "stnews-test-dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n", encoding="utf-8"
    )
    result = _run(
        [python, "-m", "pip", "install", "--no-index", "--no-build-isolation", source], cwd=base
    )
    return venv, result.stdout + result.stderr


def test_install_prints_no_deprecation_warning(installed: tuple[Path, str]) -> None:
    _, output = installed
    assert "Successfully installed stnews" in output
    assert "deprecat" not in output.lower(), output


def test_every_data_file_of_the_packages_is_installed(installed: tuple[Path, str]) -> None:
    venv, _ = installed
    (site,) = (venv / "lib").glob("python*/site-packages")
    data = [
        path.relative_to(ROOT)
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"}
    ]
    assert data  # templates, the model, the sources, the migration template
    missing = [str(path) for path in data if not (site / path).is_file()]
    assert not missing, f"not in the wheel (add them to package-data): {missing}"
    assert (site / "crawler/data/sources.toml").read_bytes() == (ROOT / "sources.toml").read_bytes()


def test_installed_stnews_crawls_and_writes_feeds(
    installed: tuple[Path, str], tmp_path: Path
) -> None:
    venv, _ = installed
    work = tmp_path / "work"
    work.mkdir()
    where = _run(
        [venv / "bin" / "python", "-c", "import crawler; print(crawler.__file__)"], cwd=work
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where

    stnews = venv / "bin" / "stnews"
    listed = json.loads(_run([stnews, "sources", "--json"], cwd=work).stdout)
    assert [row["name"] for row in listed] == [s.name for s in load_sources(ROOT / "sources.toml")]

    crawl = _run([stnews, "crawl", *SOURCES, "--replay", FIXTURES, "--json"], cwd=work)
    rows = {row["source"]: row for row in json.loads(crawl.stdout)}
    assert set(rows) == set(SOURCES)
    for name in SOURCES:
        assert rows[name]["stored"] > 0, rows[name]
    assert (work / "var" / "stnews.db").is_file()  # the default database, under ./var

    _run([stnews, "feed"], cwd=work)
    feed = feedparser.parse(work / "var" / "feeds" / "all.atom")
    assert not feed.bozo, feed.bozo_exception
    assert len(feed.entries) == sum(rows[name]["stored"] for name in SOURCES)

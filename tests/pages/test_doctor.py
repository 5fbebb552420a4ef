"""`stnews doctor`, `extract` and `expected` from the command line, and the drift story end to
end: a redesign (fixtures/redesign/ey: list and detail markup both changed) still yields every
release through discovery and generic extraction, the source is degraded with its reasons, and
the selectors the doctor proposes, once written, bring it back to healthy with no fallback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from crawler.sources import DEFAULT_SOURCES_FILE, load_sources
from tests.cli_support import call, run_in_process
from tests.crawl_support import crawl_json, expected_release_ids, run_cli, stored_releases
from tests.databases import new_database_url
from tests.support import FIXTURES

REDESIGN = FIXTURES / "redesign"


def _status(db: str, source: str) -> dict:
    (row,) = json.loads(run_in_process("status", source, "--json", db=db).stdout)
    return row


def _sources_copy(tmp_path: Path) -> Path:
    path = tmp_path / "sources.toml"
    shutil.copy(DEFAULT_SOURCES_FILE, path)
    return path


@pytest.mark.slow
def test_a_redesign_degrades_the_source_and_the_doctor_brings_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sources = _sources_copy(tmp_path)
    monkeypatch.setenv("STNEWS_SOURCES", str(sources))
    db = new_database_url(tmp_path)

    # 1. The redesign: nothing of the old selectors matches, every release is still stored.
    summary = crawl_json(db, "ey", replay=REDESIGN)["ey"]
    assert summary["new"] == len(expected_release_ids("ey")) and summary["dropped"] == {}
    releases = stored_releases(db, "--source", "ey")
    assert all(r["title"] and r["body"] and r["published"] for r in releases)
    assert {r["field_stages"]["body"] for r in releases} == {"generic"}
    verdict = summary["health"]  # a replay reports its verdict, and records none
    assert verdict["status"] == "degraded" and _status(db, "ey")["health"] == "unknown"
    reasons = " | ".join(verdict["reasons"])
    assert "list selectors matched no release" in reasons
    assert "field 'body' needed a fallback in 11 of 11 releases (generic 11)" in reasons

    # 2. The doctor, without --write, proposes and writes nothing.
    before = sources.read_text(encoding="utf-8")
    looked = run_cli("doctor", "ey", "--replay", str(REDESIGN), db=db)
    assert "propose [source.detail] body = 'div.article-body'" in looked.stdout
    assert "propose [source.list] item = 'div.release-list > article.release-card'" in looked.stdout
    assert "check by eye" in looked.stdout
    assert sources.read_text(encoding="utf-8") == before

    # 3. With --write: the file keeps its comments and layout, and gains the selectors.
    written = run_cli("doctor", "ey", "--replay", str(REDESIGN), "--write", db=db)
    assert "wrote" in written.stderr
    after = sources.read_text(encoding="utf-8")
    assert after.startswith(before.split("\n", 1)[0])  # the header comment
    assert after.count("\n# ") == before.count("\n# ")  # no comment lost
    (ey,) = [s for s in load_sources(sources) if s.name == "ey"]
    assert ey.detail.body == "div.article-body" and ey.detail.title == "h1.article-title"
    assert ey.listing.item == "div.release-list > article.release-card"

    # 4. A crawl with the written selectors: healthy, and no release needs a fallback.
    assert crawl_json(db, "ey", "--full", replay=REDESIGN)["ey"]["health"]["status"] == "healthy"
    for release in stored_releases(db, "--source", "ey"):
        for field in ("title", "published_raw", "body"):
            assert release["field_stages"][field] == "selectors", (release["url"], field)


def test_doctor_on_the_fixtures_finds_every_source_fine() -> None:
    result = run_cli("doctor", "--replay", str(FIXTURES), "--json", db="sqlite://")
    reports = {report["source"]: report for report in json.loads(result.stdout)}
    assert set(reports) == {s.name for s in load_sources() if s.enabled}
    for name, report in reports.items():
        assert report["verdict"] == "ok", (name, report)
    nstc = reports["nstc"]
    assert nstc["list_found_by"] == "discovery" and nstc["list_stage"] == "selectors"
    assert nstc["list_url"].startswith("https://www.nstc.gov.tw/folksonomy/list/")


def test_doctor_writes_the_discovered_list_into_the_sources_file(tmp_path: Path) -> None:
    sources = _sources_copy(tmp_path)
    run_cli("doctor", "nstc", "--replay", str(FIXTURES), "--write", db="sqlite://",
            env={"STNEWS_SOURCES": str(sources)})  # fmt: skip
    (nstc,) = [s for s in load_sources(sources) if s.name == "nstc"]
    assert nstc.start_url_strings[0].startswith("https://www.nstc.gov.tw/folksonomy/list/")
    assert nstc.discover is not None  # kept: the fallback should the list move again
    assert "discovered through [source.discover]" in sources.read_text(encoding="utf-8")


def test_extract_prints_fields_with_their_stages() -> None:
    url = "https://english.ey.gov.tw/Page/61BF20C3E89B856/bb664055-d90d-49f5-8480-9372821a4550"
    page = FIXTURES / "ey/real/detail-bb664055-d90d-49f5-8480-9372821a4550.html"
    data = json.loads(call("extract", "ey", str(page), "--url", url, "--json").stdout)
    assert data["title"] == "Premier Su urges public to conserve water"
    assert data["stages"]["body"] == "selectors" and len(data["body"]) == 4
    table = call("extract", "ey", str(page), "--url", url).stdout
    assert "published_raw" in table and "selectors" in table and "2021-03-18" in table
    listing = call("extract", "nstc_zh", str(FIXTURES / "nstc_zh/list/page-1.html"), "--list",
                   "--url", "https://www.nstc.gov.tw/folksonomy/list/x?l=ch").stdout  # fmt: skip
    assert "read by: selectors" in listing


def test_extract_errors_are_one_line() -> None:
    unknown = call("extract", "nope", "x.html", "--url", "https://x")
    assert unknown.returncode == 2 and "unknown source 'nope'" in unknown.stderr
    missing = call("extract", "ey", "/nowhere.html", "--url", "https://x")
    assert missing.returncode == 2 and "no such file" in missing.stderr


def test_expected_check_reports_an_outdated_file(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES / "ey", fixtures / "ey")
    check = ("expected", "ey", "--fixtures", str(fixtures), "--check")
    assert run_cli(*check, db="sqlite://").returncode == 0
    stale = next((fixtures / "ey" / "detail").glob("*.expected.json"))
    stale.write_text("{}\n", encoding="utf-8")
    result = run_cli(*check, check=False, db="sqlite://")
    assert result.returncode == 1 and "changed" in result.stdout
    assert stale.read_text(encoding="utf-8") == "{}\n"  # --check writes nothing
    run_cli("expected", "ey", "--fixtures", str(fixtures), db="sqlite://")
    assert json.loads(stale.read_text(encoding="utf-8"))["stages"]

"""The partner sources (issue 15): configuration only, fixtures with provenance, whole replays,
what "home" means, and the korea.kr feeds' misdeclared charset in a real crawl."""

import json
from pathlib import Path

import pytest

from crawler.sources import SourcesFileError, load_sources, parse_sources
from crawler.urls import canonical_url
from tests.crawl_support import crawl_json, run_cli, stored_releases
from tests.databases import new_database_url
from tests.support import FIXTURES

PARTNERS = (
    "mofa_en", "taiwan_today", "koreakr_msit", "koreakr_motir", "koreakr_mofa", "mext", "jst",
    "ec_rtd", "cordis", "govuk_dsit", "ukri", "nsf", "disr", "ised",
)  # fmt: skip
#: What "home" means for each partner source: the publisher's own side.
HOMES = {
    "mofa_en": "TW", "taiwan_today": "TW", "koreakr_msit": "KR", "koreakr_motir": "KR",
    "koreakr_mofa": "KR", "mext": "JP", "jst": "JP", "ec_rtd": "EU", "cordis": "EU",
    "govuk_dsit": "GB", "ukri": "GB", "nsf": "US", "disr": "AU", "ised": "CA",
}  # fmt: skip
PROVENANCE_KINDS = {"real", "derived", "synthetic"}

# Whole crawls about the crawler's handling of input, not about the database: SQLite leg only.
pytestmark = pytest.mark.slow


def _index(source: str) -> list[dict]:
    return json.loads((FIXTURES / source / "index.json").read_text(encoding="utf-8"))["responses"]


def _release_urls(source: str) -> set[str]:
    """The followed pages of a source's fixtures: one release each (URLs as stored)."""
    return {
        canonical_url(entry["url"])
        for entry in _index(source)
        if entry["file"].startswith("detail/")
    }


def test_sources_file_spans_countries_and_languages() -> None:
    sources = load_sources()
    publishers = {s.agency_country for s in sources}
    languages = {s.language.split("-")[0] for s in sources}
    assert len(sources) >= 18
    assert len(publishers) >= 8, publishers
    assert languages >= {"en", "zh", "ko", "ja"}
    assert {s.name for s in sources} >= set(PARTNERS)


def test_partner_sources_are_configuration_only() -> None:
    sources = {s.name: s for s in load_sources()}
    for name in PARTNERS:
        source = sources[name]
        assert source.spider is None, f"{name} needs Python: say why in its entry"
        assert source.kind == "feed" and source.feed is not None and source.feed.follow_links
        assert source.detail is not None and source.detail.title and source.detail.body
        assert source.health.max_quiet_days, f"{name}: no declared rhythm"


def test_home_is_written_down_for_every_partner_source() -> None:
    sources = {s.name: s for s in load_sources()}
    assert {name: sources[name].home_code for name in PARTNERS} == HOMES
    for name in PARTNERS:
        assert sources[name].home_note, f"{name}: what home means is not written down"
    # The EU publishes as the EU, not as a member state.
    assert sources["ec_rtd"].agency_country == "EU" and sources["cordis"].agency_country == "EU"
    # Sources without a `home` default to their agency's country.
    assert sources["nstc"].home is None and sources["nstc"].home_code == "TW"


@pytest.mark.parametrize("code", ["XX", "EUR", "UN"])
def test_home_and_country_refuse_unknown_codes(code: str) -> None:
    entry = f"""
[[source]]
name = "demo"
agency = "Demo"
agency_country = "{code}"
language = "en"
timezone = "UTC"
kind = "feed"
start_urls = ["https://example.org/feed"]
"""
    with pytest.raises(SourcesFileError, match="agency_country"):
        parse_sources(entry)
    as_home = entry.replace(f'"{code}"', '"EU"').replace("language", f'home = "{code}"\nlanguage')
    with pytest.raises(SourcesFileError, match="home"):
        parse_sources(as_home)
    assert parse_sources(entry.replace(f'"{code}"', '"EU"'))[0].home_code == "EU"


@pytest.mark.parametrize("source", PARTNERS)
def test_every_fixture_response_records_its_provenance(source: str) -> None:
    entries = _index(source)
    assert len(_release_urls(source)) >= 5  # a healthy first page (min_first_page_items)
    for entry in entries:
        provenance = entry.get("provenance") or {}
        assert provenance.get("kind") in PROVENANCE_KINDS, entry["url"]
        assert len(provenance.get("source", "")) > 40, entry["url"]
        assert (FIXTURES / source / entry["file"]).is_file()
    # A synthetic page says which real text it restates, or that it is invented.
    for entry in entries:
        text = entry["provenance"]["source"]
        if entry["file"].startswith("detail/"):
            assert "Text:" in text and ("http" in text or "invented" in text), entry["url"]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory) -> tuple[dict, dict, list[dict], str]:
    """Every source replayed from the fixtures, then a second plain run."""
    db = new_database_url(tmp_path_factory.mktemp("db"))
    first = crawl_json(db)
    second = crawl_json(db)
    return first, second, stored_releases(db, "--limit", "1000"), db


def test_replay_stores_every_partner_release_once(replayed) -> None:
    first, _, releases, _ = replayed
    for source in PARTNERS:
        stored = {canonical_url(r["url"]) for r in releases if r["source"] == source}
        assert stored == _release_urls(source), source
        assert first[source]["status"] == "finished"
        assert first[source]["new"] == len(stored)
        assert first[source]["dropped"] == {} and first[source]["errors"] == 0
        for release in (r for r in releases if r["source"] == source):
            assert release["title"] and release["body"] and release["published"], release["url"]


def test_second_run_stores_nothing_new(replayed) -> None:
    first, second, _, _ = replayed
    assert set(second) == set(first)
    for source, row in second.items():
        assert (row["new"], row["updated"]) == (0, 0), (source, row)


def test_korea_kr_feeds_declared_us_ascii_are_read_as_utf8(replayed) -> None:
    _, _, releases, _ = replayed
    headers = {e["headers"]["Content-Type"] for e in _index("koreakr_msit") if "feed/" in e["file"]}
    assert headers == {"text/xml;charset=us-ascii"}  # the fixture keeps the wrong declaration
    titles = {r["title"] for r in releases if r["source"] == "koreakr_msit"}
    assert "과기정통부, 일본과 첨단기술 분야 협력 토대 마련" in titles
    assert all(title.isascii() is False and "Ã" not in title for title in titles)


def test_japanese_pages_give_local_dates(replayed) -> None:
    _, _, releases, _ = replayed
    by_url = {r["url"]: r for r in releases}
    # 令和7年12月22日 on the page, timed by the feed's dc:date of the same day.
    horizon = by_url["https://www.mext.go.jp/b_menu/houdou/2025/mext_01688.html"]
    assert horizon["published"] == "2025-12-22T17:00:00+09:00"
    heisei = by_url["https://www.mext.go.jp/b_menu/houdou/2019/mext_01580.html"]
    assert heisei["published"].startswith("2019-04-26")
    quantum = by_url["https://scienceportal.jst.go.jp/newsflash/20260204_n01/"]
    assert quantum["published"].startswith("2026-02-04")


def test_partner_sources_are_healthy_and_quiet_not_broken(replayed) -> None:
    # The fixtures are months old: every partner source is stale (quiet beyond its declared
    # rhythm), none is broken or degraded, and the reason says the feed itself is fine.
    first, second, _, db = replayed
    for source in PARTNERS:
        for run in (first, second):
            assert run[source]["health"]["status"] == "healthy", run[source]
            assert run[source]["health"]["stale"] is True
    # A replay of fixtures reports its verdict and records none.
    status = {row["source"]: row for row in json.loads(run_cli("status", "--json", db=db).stdout)}
    assert {status[source]["health"] for source in PARTNERS} == {"unknown"}


def test_fixture_builder_is_kept_in_step(tmp_path: Path) -> None:
    """The committed fixtures are what fixtures/_build/partners.py writes."""
    import importlib.util
    import sys

    build = FIXTURES / "_build"
    sys.path.insert(0, str(build))
    try:
        spec = importlib.util.spec_from_file_location("partners_build", build / "partners.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        module.FIXTURES = tmp_path
        module.main()
    finally:
        sys.path.remove(str(build))
        sys.modules.pop("content", None)
        sys.modules.pop("partners_build", None)
    for source in PARTNERS:
        for entry in _index(source):
            if entry["provenance"]["kind"] != "synthetic":
                continue  # built from a real page by fixtures/derive.py
            committed = (FIXTURES / source / entry["file"]).read_bytes()
            assert (tmp_path / source / entry["file"]).read_bytes() == committed, entry["file"]


#: The Japanese cooperation releases of the fixtures and their parties, as the real releases
#: they restate say (each page's provenance names its source): Horizon Europe association
#: is negotiated and agreed with the EU, the joint committee is the UK's, the director-level
#: talks are Korea's, the joint calls are with the UK's EPSRC and the US NSF.
JAPANESE_COOPERATION = {
    "https://www.mext.go.jp/b_menu/houdou/2025/mext_01688.html": ["EU"],
    "https://www.mext.go.jp/b_menu/houdou/2023/mext_01590.html": ["GB"],
    "https://www.mext.go.jp/b_menu/houdou/2023/mext_01655.html": ["KR"],
    "https://scienceportal.jst.go.jp/newsflash/20241202_n01/": ["EU"],
    "https://scienceportal.jst.go.jp/newsflash/20260204_n01/": ["GB"],
    "https://scienceportal.jst.go.jp/newsflash/20230420_n01/": ["US"],
}


def test_japanese_cooperation_reaches_the_cooperation_feed(replayed, tmp_path: Path) -> None:
    """Issue 15: after a replay and `stnews feed`, the Japanese cooperation releases are in the
    cooperation feed with their partners; the Japanese domestic ones are not."""
    *_, db = replayed
    run_cli("feed", "--out", str(tmp_path), "--limit", "500", db=db)
    feed = json.loads((tmp_path / "cooperation-releases.json").read_text(encoding="utf-8"))
    japanese = {
        item["url"]: item["_stnews"]
        for item in feed["items"]
        if item["_stnews"]["source"] in ("mext", "jst")
    }
    assert {url: meta["partners"] for url, meta in japanese.items()} == JAPANESE_COOPERATION
    # The partner feeds carry them too (the EU's for Horizon Europe association).
    eu = json.loads((tmp_path / "partner-eu.json").read_text(encoding="utf-8"))
    eu_urls = {item["url"] for item in eu["items"]}
    assert {u for u, p in JAPANESE_COOPERATION.items() if p == ["EU"]} <= eu_urls
    # The kinds a reader filters on: the committee and the talks are committee meetings.
    assert japanese["https://www.mext.go.jp/b_menu/houdou/2023/mext_01590.html"]["coop_type"] == (
        "joint-committee"
    )
    assert japanese["https://www.mext.go.jp/b_menu/houdou/2023/mext_01655.html"]["coop_type"] == (
        "joint-committee"
    )
    assert japanese["https://www.mext.go.jp/b_menu/houdou/2025/mext_01688.html"]["coop_type"] == (
        "agreement"
    )

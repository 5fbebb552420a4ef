"""Whole crawls replayed from the fixtures, through every pipeline into SQLite."""

import re
from pathlib import Path

import pytest

from tests.crawl_support import (
    copy_fixtures,
    crawl_json,
    expected_release_ids,
    run_cli,
    stored_releases,
)
from tests.databases import new_database_url
from tests.support import FIXTURES

SOURCES = ("nstc", "moeaidb", "msit")

# Lines of page chrome that must never reach a stored body.
CHROME = re.compile(
    r"Go to the content anchor|^:::|Move to the top of the page|Go to Content|Go to Navigation"
    r"|Number of Views|Copyright|Contact Person|Contact Phone|Last Updated of Page Layout"
    r"|HOME News & Notice|Best viewed|Toll Free|Office Hours|^Date:|^Source:|Last Modified"
    r"|Published at:|Last modified at:|담당부서|작성자|연락처|Search Area",
    re.MULTILINE,
)

# The news seeds in ../shared/seeds, as stored: title, local publication date, agency, and
# the first and last sentence of the body (hyphenation repaired).
SEEDS = {
    ("nstc", "d82a8144-43dc-412b-9d71-4aa310c72fd6"): {
        "title": "Taiwan and France Jointly Announce the Signing of a Science and Technology "
        "Cooperation Convention with Future Cooperation Focusing on Six Key Areas",
        "published": "2023-11-29",
        "agency": "National Science and Technology Council",
        "first": "On November 29, the National Science and Technology Council (NSTC) jointly "
        "held a press conference with the French Office in Taipei.",
        "last": "According to initial plans, a Taiwan-France Science and Technology Meeting, "
        "which will focus on dialogues regarding S&T policy and academic research, is "
        "scheduled to take place in early May 2024 in Taiwan.",
    },
    ("moeaidb", None): {
        "title": "Taiwan, France launch innovative cooperation, achieve fruitful results on "
        "industrial collaboration at 24th ICCM",
        "published": "2017-10-19T16:58:00+08:00",
        "modified": "2017-10-19T17:00:00+08:00",
        "agency": "Industrial Development Administration, Ministry of Economic Affairs",
        "contact_org": "Industrial Policy Division, Industrial Development Bureau, Ministry of "
        "Economic Affairs",
        "first": "The 24th Taiwan-France Industrial Cooperation Consultation Meeting (ICCM) was "
        "held at the National Taiwan University Hospital International Convention Center on "
        "Oct. 13, 2017.",
        "last": "The IDB director will lead a delegation to France to take part in the meeting "
        "and seek even more commercial and cooperation opportunities.",
    },
    ("msit", "212"): {
        "title": "The 7th Korea-France Joint Coordinating Committee on Science and Technology "
        "(July 6)",
        "published": "2018-07-06",
        "agency": "Ministry of Science and ICT",
        "first": "- Strengthen cooperation in cutting-edge fields (e.g. AI, climate technology)",
        "last": "Director-General Kyung-hee Song of International Cooperation stated that the "
        "Committee “was an occasion to reaffirm the importance of global cooperation in science "
        "and technology to national development and prosperity of mankind,” adding that "
        "“meaningful discussions were held on cooperation in AI research, climate change "
        "response and talent development.”",
    },
    ("nstc", None): {
        "title": "A New Platform for Scientific Research Cooperation between Taiwan and the "
        "US－The NSTC Announces the Official Launch of the Taiwan Science and Technology Hub",
        "published": "2023-01-03",
        "agency": "National Science and Technology Council",
        "first": "Enhancing Taiwan’s international profile in S&T",
        "last": "In addition, the Taiwan S&T Hub will create further opportunities for "
        "comprehensive links in fields such as semiconductors, precision health, quantum "
        "technology, and sustainable energy.",
    },
}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> tuple[str, dict, dict, list[dict]]:
    """One crawl of every source, then a full second one over the same fixtures."""
    db = new_database_url(tmp_path_factory.mktemp("db"))
    first = crawl_json(db)
    second = crawl_json(db, "--full")
    return db, first, second, stored_releases(db)


def test_every_fixture_release_is_stored_exactly_once(crawled) -> None:
    _, first, _, releases = crawled
    for source in SOURCES:
        ids = [r["native_id"] for r in releases if r["source"] == source]
        assert len(ids) == len(set(ids)), f"{source}: a release stored twice"
        assert set(ids) == expected_release_ids(source)
        assert first[source]["status"] == "finished"
        assert first[source]["new"] == len(expected_release_ids(source))
        assert first[source]["dropped"] == {}
    assert len({r["url"] for r in releases}) == len(releases)
    assert len(releases) >= 30


def test_url_variants_are_recognized_as_duplicates(crawled) -> None:
    # NSTC lists one release again as `?l=EN&pageNum=2`: fetched, then deduplicated.
    # (IDA's old-host duplicate redirects to a URL already fetched: Scrapy's own dupefilter
    # drops that request before any item exists.)
    _, first, _, _ = crawled
    assert first["nstc"]["duplicates"] == 1, first


def test_second_crawl_stores_nothing_new(crawled) -> None:
    _, first, second, _ = crawled
    for source in SOURCES:
        assert second[source]["new"] == 0
        assert second[source]["updated"] == 0
        assert second[source]["unchanged"] == first[source]["new"]


def test_incremental_poll_of_unchanged_fixtures_fetches_one_page(crawled) -> None:
    db = crawled[0]
    polled = crawl_json(db)
    for source in SOURCES:
        # The first list page, answered 304; NSTC reads its home page's menu first (the list
        # URL is discovered, not configured).
        assert polled[source]["pages"] == (2 if source == "nstc" else 1)
        assert polled[source]["not_modified"] == 1
        assert (polled[source]["new"], polled[source]["updated"]) == (0, 0)
        assert polled[source]["stored"] == len(expected_release_ids(source))


def _find_seed(releases: list[dict], source: str, native_id: str | None, title: str) -> dict:
    (match,) = [
        r
        for r in releases
        if r["source"] == source and (r["native_id"] == native_id or r["title"] == title)
    ]
    return match


@pytest.mark.parametrize(("key", "seed"), list(SEEDS.items()), ids=lambda v: str(v)[:30])
def test_seed_releases_are_extracted_exactly(crawled, key, seed) -> None:
    releases = crawled[3]
    release = _find_seed(releases, *key, seed["title"])
    assert release["title"] == seed["title"]
    assert release["published"].startswith(seed["published"])
    assert release["agency"] == seed["agency"]
    paragraphs = release["body"].split("\n\n")
    assert paragraphs[0].startswith(seed["first"])
    assert paragraphs[-1].endswith(seed["last"])
    if "modified" in seed:
        assert release["modified"] == seed["modified"]
    if "contact_org" in seed:
        assert release["contact_org"] == seed["contact_org"]
    assert release["language"] == "en"
    assert release["agency_country"] in {"TW", "KR"}


def test_no_chrome_in_any_body(crawled) -> None:
    for release in crawled[3]:
        found = CHROME.findall(release["body"])
        assert not found, f"{release['url']}: {found}"


def test_broken_hyphenation_is_repaired_in_storage(crawled) -> None:
    bodies = "\n".join(r["body"] for r in crawled[3])
    for broken in ("Tech-nology", "Coopera-tion", "al-so", "coun-tries", "Tai-wan"):
        assert broken not in bodies
    for compound in ("Taiwan-France", "ministry-level", "net-zero", "cross-ministry"):
        assert compound in bodies


def test_published_times_carry_the_agency_offset(crawled) -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from crawler.sources import sources_by_name

    zones = {name: ZoneInfo(source.timezone) for name, source in sources_by_name().items()}
    for release in crawled[3]:
        published = datetime.fromisoformat(release["published"])
        # The agency's own offset on that day (Europe and Australia change theirs in summer).
        expected = published.astimezone(zones[release["source"]]).utcoffset()
        assert published.utcoffset() == expected, (release["source"], release["published"])


def feed_entries(db: str, out: Path, name: str) -> list:
    import feedparser

    run_cli("feed", "--out", str(out), db=db)
    parsed = feedparser.parse((out / name).read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    return parsed.entries


def test_partner_feeds_hold_the_seed_releases(crawled, tmp_path: Path) -> None:
    db = crawled[0]
    seeds = {
        "000": "https://www.nstc.gov.tw/folksonomy/detail/d82a8144-43dc-412b-9d71-4aa310c72fd6?l=en",
        "001": "https://www.moeaidb.gov.tw/external/ctlr?PRO=news.rwdNewsView&id=22962&lang=1",
        "003": "https://www.nstc.gov.tw/folksonomy/detail/be2045b6-4bfd-47be-a773-5f4193a29cca?l=en",
        "004": "https://www.msit.go.kr/eng/bbs/view.do?bbsSeqNo=42&mId=4&mPid=2&nttSeqNo=212&sCode=eng",
    }
    france = {entry.link for entry in feed_entries(db, tmp_path, "partner-fr.atom")}
    usa = {entry.link for entry in feed_entries(db, tmp_path, "partner-us.atom")}
    assert {seeds["000"], seeds["001"], seeds["004"]} <= france
    assert seeds["003"] not in france
    assert seeds["003"] in usa
    stored = {r["url"]: r for r in crawled[3]}
    assert stored[seeds["000"]]["coop_type"] == "agreement"
    assert stored[seeds["001"]]["coop_type"] == "joint-committee"
    assert stored[seeds["003"]]["coop_type"] == "hub-or-center"
    assert stored[seeds["004"]]["coop_type"] == "joint-committee"


def test_edited_page_updates_its_row(tmp_path: Path) -> None:
    fixtures = copy_fixtures(tmp_path / "fixtures", ("nstc",))
    db = new_database_url(tmp_path)
    crawl_json(db, "nstc", replay=fixtures)
    before = {r["native_id"]: r for r in stored_releases(db)}

    (entry_before,) = [
        e for e in feed_entries(db, tmp_path / "feeds", "partner-fr.atom") if "d82a8144" in e.link
    ]

    page = next(fixtures.rglob("*d82a8144*.html"))
    text = page.read_text(encoding="utf-8")
    assert "early May 2024 in Taiwan." in text
    page.write_text(text.replace("early May 2024 in Taiwan.", "early June 2024 in Taipei."))

    # The list does not show the edit, so only a full crawl (or the re-check interval) sees it.
    summary = crawl_json(db, "nstc", "--full", replay=fixtures)["nstc"]
    assert (summary["new"], summary["updated"]) == (0, 1)
    after = {r["native_id"]: r for r in stored_releases(db)}
    assert after.keys() == before.keys()
    edited = after["d82a8144-43dc-412b-9d71-4aa310c72fd6"]
    assert edited["body"].endswith("early June 2024 in Taipei.")
    assert edited["updated"] > before["d82a8144-43dc-412b-9d71-4aa310c72fd6"]["updated"]
    assert edited["first_seen"] == before["d82a8144-43dc-412b-9d71-4aa310c72fd6"]["first_seen"]

    # The feed entry keeps its id and moves its updated time: a reader sees no duplicate.
    entries = feed_entries(db, tmp_path / "feeds", "partner-fr.atom")
    (entry_after,) = [e for e in entries if "d82a8144" in e.link]
    assert entry_after.id == entry_before.id
    assert entry_after.updated_parsed > entry_before.updated_parsed
    assert len({e.id for e in entries}) == len(entries)


@pytest.mark.slow
def test_page_without_a_date_is_dropped_with_its_reason(tmp_path: Path) -> None:
    fixtures = copy_fixtures(tmp_path / "fixtures", ("nstc",))
    # Take the date of seed 000 off its detail page (its "Date:" and "Last Modified :" lines)
    # and its list entry.
    for page in fixtures.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        text = text.replace("2023-11-29", "").replace("2023/11/29", "")
        page.write_text(text, encoding="utf-8")
    db = new_database_url(tmp_path)
    summary = crawl_json(db, "nstc", replay=fixtures)["nstc"]
    assert summary["dropped"] == {"missing-date": 1}
    assert summary["new"] == len(expected_release_ids("nstc")) - 1
    stored = {r["native_id"] for r in stored_releases(db)}
    assert "d82a8144-43dc-412b-9d71-4aa310c72fd6" not in stored


def _reencode_seed_page(fixtures: Path, encoding: str, declare: bool) -> None:
    """Re-save seed 000's page in ``encoding``, declared only in a meta tag (or nowhere)."""
    page = next(fixtures.rglob("*d82a8144*.html"))
    html = page.read_text(encoding="utf-8")
    html = re.sub(r"<meta[^>]+charset[^>]*>", "", html, flags=re.IGNORECASE)
    if declare:
        html = html.replace("<head>", f'<head><meta charset="{encoding}">', 1)
    page.write_bytes(html.encode(encoding, errors="xmlcharrefreplace"))
    index = fixtures / "nstc" / "index.json"
    text = index.read_text(encoding="utf-8")
    index.write_text(re.sub(r'"text/html;\s*charset=[^"]*"', '"text/html"', text, flags=re.I))


@pytest.mark.slow
@pytest.mark.parametrize(("encoding", "declare"), [("big5", True), ("utf-8", False)])
def test_charset_from_meta_tag_or_detection(tmp_path: Path, encoding: str, declare: bool) -> None:
    fixtures = copy_fixtures(tmp_path / "fixtures", ("nstc",))
    _reencode_seed_page(fixtures, encoding, declare)
    db = new_database_url(tmp_path)
    crawl_json(db, "nstc", replay=fixtures)
    seed = SEEDS[("nstc", "d82a8144-43dc-412b-9d71-4aa310c72fd6")]
    (release,) = [
        r for r in stored_releases(db) if r["native_id"] == "d82a8144-43dc-412b-9d71-4aa310c72fd6"
    ]
    assert release["title"] == seed["title"]
    assert "Taiwan’s success" in release["body"]


def test_fixture_directory_is_the_default_layout() -> None:
    for source in SOURCES:
        assert (FIXTURES / source / "index.json").is_file()

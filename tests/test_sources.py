"""The sources file: its schema, the spider registry, the configurable spiders, the Executive
Yuan source (configuration and fixtures only), `stnews sources` and `stnews check`."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

from crawler.items import PageSnapshotItem, ReleaseItem
from crawler.pages.selectors import apply_date_formats, release_id
from crawler.release_spider import ReleaseSpider, SourceSpider
from crawler.source_registry import spider_classes
from crawler.sources import (
    DEFAULT_SOURCES_FILE,
    RELEASE_FIELDS,
    SourcesFileError,
    load_sources,
    sources_for_editing,
    sources_path,
)
from spiders.configured import ConfiguredPageSpider, ConfiguredSpider
from spiders.msit import MsitSpider
from tests import forked_cli
from tests.cli_support import call
from tests.crawl_support import crawl_json, expected_release_ids, stored_releases
from tests.databases import new_database_url
from tests.support import FIXTURES, ROOT

EY_LIST = "https://english.ey.gov.tw/Page/5A898E83D438145A"

DEMO = """
[[source]]
name = "demo"
agency = "Demo Ministry of Science"
agency_country = "TW"
language = "en"
timezone = "Asia/Taipei"
start_urls = ["https://demo.example/news"]
allowed_domains = ["demo.example"]
{top}
[source.list]
item = "li.news"
{listing}
[source.detail]
{detail}
"""


def demo(top: str = "", listing: str = "", detail: str = "") -> str:
    return DEMO.format(top=top, listing=listing, detail=detail)


def write(tmp_path: Path, text: str, name: str = "sources.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def flat(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


def stnews(*args: str, sources: Path | None = None, db: str | None = None, cwd: Path = ROOT):
    """`stnews args`: in this process (no command here crawls in its own process), or, to
    start with another sources file or from another directory, in a child of its own."""
    prefix = ["--db", db] if db else []
    if sources is None and cwd == ROOT:
        return call(*prefix, *args)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    env.pop("STNEWS_SOURCES", None)
    if sources is not None:
        env["STNEWS_SOURCES"] = str(sources)
    return forked_cli.run([*prefix, *args], env=env, cwd=cwd, timeout=300)


# --- schema --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            demo().replace('"TW"', '"XX"'),
            ["source 'demo', field 'agency_country'", "ISO 3166-1"],
            id="bad-country",
        ),
        pytest.param(
            demo(top='colour = "red"'), ["source 'demo', field 'colour'", "Extra"], id="unknown"
        ),
        pytest.param(
            demo(listing='titel = "h3"'), ["source 'demo', field 'list.titel'"], id="typo-in-list"
        ),
        pytest.param(
            demo().replace('item = "li.news"', 'link = "a"'),
            ["source 'demo', field 'list.item'", "required"],
            id="missing-list-item",
        ),
        pytest.param(
            demo().replace("Asia/Taipei", "Asia/Taipeh"),
            ["source 'demo', field 'timezone'", "unknown time zone"],
            id="bad-zone",
        ),
        pytest.param(
            demo(detail='body = "div["'),
            ["source 'demo', field 'detail.body'", "not a CSS selector"],
            id="bad-css",
        ),
        pytest.param(
            demo(listing="id_pattern = '/news/(\\d+'"),
            ["source 'demo', field 'list.id_pattern'", "not a regular expression"],
            id="bad-regex",
        ),
        pytest.param(
            demo() + '[source.health]\nrequired_fields = ["titel"]\n',
            ["source 'demo', field 'health.required_fields'", "'titel'"],
            id="unknown-required-field",
        ),
        pytest.param(
            demo().replace('name = "demo"', 'name = "Demo Ministry"'),
            ["source 'Demo Ministry', field 'name'"],
            id="bad-name",
        ),
        pytest.param(
            demo().replace('name = "demo"\n', ""), ["source #1, field 'name'"], id="no-name"
        ),
        pytest.param(
            demo().replace("[source.list]", "").replace('item = "li.news"', ""),
            ["source 'demo'", "needs a [source.list] table"],
            id="html-without-list",
        ),
        pytest.param(demo() + demo(), ["duplicate source names: demo"], id="duplicate"),
        pytest.param(demo() + "[[source]\n", ["not valid TOML"], id="bad-toml"),
    ],
)
def test_schema_errors_name_the_source_and_field(tmp_path, text, expected) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SourcesFileError) as raised:
        load_sources(path)
    message = str(raised.value)
    assert message.startswith(str(path))
    for fragment in expected:
        assert fragment in message


def test_the_shipped_file_is_valid_and_holds_every_source() -> None:
    sources = {source.name: source for source in load_sources(DEFAULT_SOURCES_FILE)}
    assert {"nstc", "moeaidb", "msit", "nstc_pages", "ey"} <= set(sources)
    assert sources["ey"].spider is None and sources["ey"].listing is not None
    assert sources["msit"].spider == "spiders.msit:MsitSpider"


def test_missing_file(tmp_path) -> None:
    with pytest.raises(SourcesFileError, match="sources file not found"):
        load_sources(tmp_path / "nope.toml")


# --- registry ------------------------------------------------------------------------------


def test_registry_builds_one_class_per_enabled_source_carrying_the_files_metadata() -> None:
    classes = spider_classes(DEFAULT_SOURCES_FILE)
    sources = [s for s in load_sources(DEFAULT_SOURCES_FILE) if s.enabled]
    assert set(classes) <= {s.name for s in sources}
    for source in sources:
        if source.kind == "feed" and source.name not in classes:
            continue  # its spider module may not be installed (logged, tested below)
        cls = classes[source.name]
        assert cls.__module__ == "spiders.registry"
        assert cls.name == source.name and cls.source_config == source
        assert (cls.agency, cls.agency_country, cls.language, cls.timezone) == (
            source.agency, source.agency_country, source.language, source.timezone,
        )  # fmt: skip
        assert cls.start_urls == source.start_url_strings
        assert cls.allowed_domains == source.allowed_domains
        if issubclass(cls, ReleaseSpider):
            assert cls.health == source.health
    # No site code for NSTC, the Executive Yuan or IDA English: configuration only.
    for name in ("ey", "nstc", "moeaidb"):
        assert classes[name].__bases__ == (ConfiguredSpider,)
    assert issubclass(classes["nstc_pages"], ConfiguredPageSpider)
    assert not hasattr(classes["nstc_pages"], "health")  # not a release source


def test_code_classes_declare_no_metadata_and_read_it_from_the_file() -> None:
    for cls in (MsitSpider, ConfiguredSpider, ConfiguredPageSpider):
        assert cls.name is None  # so Scrapy lists only the registry's subclass
        for attribute in ("agency", "agency_country", "timezone", "start_urls"):
            assert attribute not in vars(cls)
    spider = MsitSpider()
    assert (spider.name, spider.agency, spider.timezone) == (
        "msit", "Ministry of Science and ICT", "Asia/Seoul",
    )  # fmt: skip


def test_the_file_is_the_source_of_truth(tmp_path, monkeypatch) -> None:
    text = DEFAULT_SOURCES_FILE.read_text(encoding="utf-8")
    path = write(tmp_path, text.replace('"Ministry of Science and ICT"', '"MSIT (renamed)"'))
    monkeypatch.setenv("STNEWS_SOURCES", str(path))
    assert MsitSpider().agency == "MSIT (renamed)"
    assert spider_classes()["msit"].agency == "MSIT (renamed)"


def test_the_sources_file_is_named_then_local_then_bundled(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("STNEWS_SOURCES", raising=False)
    monkeypatch.chdir(tmp_path)
    # Nothing here: the file the package ships (in a checkout, the repository's own).
    assert sources_path() == DEFAULT_SOURCES_FILE
    assert DEFAULT_SOURCES_FILE.read_bytes() == (ROOT / "sources.toml").read_bytes()
    local = write(tmp_path, demo())
    assert sources_path() == local
    assert [s.name for s in load_sources()] == ["demo"]
    named = write(tmp_path, demo().replace('"demo"', '"named"'), "elsewhere.toml")
    monkeypatch.setenv("STNEWS_SOURCES", str(named))
    assert [s.name for s in load_sources()] == ["named"]


def test_edits_go_to_the_users_file_never_the_bundled_one(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("STNEWS_SOURCES", raising=False)
    monkeypatch.chdir(tmp_path)
    path, text = sources_for_editing()  # no ./sources.toml yet: it starts as the default
    assert path == tmp_path / "sources.toml"
    assert text == DEFAULT_SOURCES_FILE.read_text(encoding="utf-8")
    write(tmp_path, demo())
    assert sources_for_editing() == (tmp_path / "sources.toml", demo())
    monkeypatch.setenv("STNEWS_SOURCES", str(tmp_path / "typo.toml"))
    with pytest.raises(SourcesFileError, match=r"typo\.toml: sources file not found"):
        sources_for_editing()  # a named file must exist: no silent copy under a typo


def test_disabled_sources_get_no_spider(tmp_path) -> None:
    path = write(tmp_path, demo(top="enabled = false"))
    assert spider_classes(path) == {}


def test_a_spider_class_that_cannot_be_imported_names_its_source(tmp_path) -> None:
    path = write(tmp_path, demo(top='spider = "spiders.nowhere:Nothing"'))
    with pytest.raises(SourcesFileError, match="source 'demo', field 'spider'"):
        spider_classes(path)
    path = write(tmp_path, demo(top='spider = "crawler.sources:SourceConfig"'), "b.toml")
    with pytest.raises(SourcesFileError, match="not a Scrapy spider class"):
        spider_classes(path)


def test_one_spider_class_can_serve_two_sources(tmp_path) -> None:
    text = DEFAULT_SOURCES_FILE.read_text(encoding="utf-8")
    extra = (
        '\n[[source]]\nname = "msit_copy"\nagency = "Copy"\nagency_country = "KR"\n'
        'language = "en"\ntimezone = "Asia/Seoul"\nspider = "spiders.msit:MsitSpider"\n'
        'start_urls = ["https://www.msit.go.kr/eng/bbs/list.do?sCode=eng&mId=4&mPid=2"]\n'
    )
    classes = spider_classes(write(tmp_path, text + extra))
    assert classes["msit"].agency == "Ministry of Science and ICT"
    assert classes["msit_copy"].agency == "Copy"
    assert classes["msit_copy"]().name == "msit_copy"


def test_feed_sources_without_their_spider_module_are_skipped(tmp_path, caplog) -> None:
    path = write(
        tmp_path,
        demo().replace('start_urls = ["https://demo.example/news"]', 'kind = "feed"\n'
                       'start_urls = ["https://demo.example/rss.xml"]'),
    )  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="crawler.source_registry"):
        classes = spider_classes(path)
    if importlib.util.find_spec("spiders.feed_source") is None:
        assert classes == {}
        assert "source 'demo' skipped" in caplog.text
    else:
        assert classes["demo"].name == "demo"


def test_page_sources_without_code_use_the_configured_page_spider(tmp_path) -> None:
    text = (
        demo(detail='title = "h1"\nbody = "main"\nremove = [".stamp"]')
        .replace('start_urls = ["https://demo.example/news"]', 'kind = "page"\n'
                 'start_urls = ["https://demo.example/about"]')
        .replace('[source.list]\nitem = "li.news"\n', "")
    )  # fmt: skip
    cls = spider_classes(write(tmp_path, text))["demo"]
    assert issubclass(cls, ConfiguredPageSpider) and not hasattr(cls, "health")
    page = (
        b"<html><head><title>About - Demo</title></head><body><nav>Home</nav><main>"
        b"<h1>About us</h1><p>First.</p><p class='stamp'>Updated 2026-01-01</p><p>Second.</p>"
        b"</main></body></html>"
    )
    response = HtmlResponse("https://demo.example/about", body=page, encoding="utf-8")
    (item,) = list(cls().parse(response))
    assert isinstance(item, PageSnapshotItem)
    assert (item["source"], item["title"]) == ("demo", "About us")
    assert item["text"] == "About us\n\nFirst.\n\nSecond."
    assert item["agency"] == "Demo Ministry of Science"


# --- the configurable spider ----------------------------------------------------------------

LIST_PAGE = b"""<html><body><ul>
<li class="news"><a href="/news/101">Pinned: privacy notice</a><span>2026-01-01</span></li>
<li class="news"><a href="/news/102">Minister visits lab</a><span>05/04/2026</span></li>
<li class="news"><a href="/video/7">A video</a><span>2026-04-04</span></li>
<li class="news"><span>no link here</span></li>
</ul><a class="next" href="?page=2">Next</a></body></html>"""

DETAIL_PAGE = b"""<html><head><meta name="description" content="A page description that is
long enough to be a summary of the release."></head><body><div class="article">
<h1>Minister visits lab</h1><p class="meta">Posted on: 05/04/2026</p>
<div class="text"><p>First paragraph.</p><div class="share">Share</div><p>Second one.</p></div>
<a class="file" href="/files/report.pdf">Report</a><a class="file" href="/files/report.pdf">
Report</a><a class="file" href="/files/data.csv"></a>
</div></body></html>"""


def _demo_spider(tmp_path: Path, **parts: str) -> ConfiguredSpider:
    path = write(tmp_path, demo(**parts))
    return spider_classes(path)["demo"]()


def _html(url: str, body: bytes) -> HtmlResponse:
    return HtmlResponse(url, body=body, encoding="utf-8", request=Request(url))


def test_list_page_follows_releases_and_the_next_page(tmp_path) -> None:
    spider = _demo_spider(
        tmp_path,
        listing='title = "a::text"\ndate = "span::text"\nnext_page = "a.next"\n'
        "skip_titles = ['Pinned:']\nlink_pattern = '/news/\\d+$'\nid_pattern = '/news/(\\d+)'",
    )
    output = list(spider.parse(_html("https://demo.example/news", LIST_PAGE)))
    details = [r for r in output if r.callback == spider.parse_detail]
    assert [r.url for r in details] == ["https://demo.example/news/102"]
    assert details[0].meta["listing"] == {
        "id": "102", "title": "Minister visits lab", "date": "05/04/2026",
    }  # fmt: skip
    assert details[0].cb_kwargs == {"entry": {
        "url": "https://demo.example/news/102", "native_id": "102",
        "title": "Minister visits lab", "date": "05/04/2026", "origin": "list",
    }}  # fmt: skip
    (following,) = [r for r in output if r.callback != spider.parse_detail]
    assert following.url == "https://demo.example/news?page=2"
    assert following.meta.get("list_page") is True


def test_a_list_page_without_releases_stops_paging(tmp_path) -> None:
    spider = _demo_spider(tmp_path, listing='next_page = "a.next"')
    empty = b'<html><body><a class="next" href="?page=9">Next</a></body></html>'
    assert list(spider.parse(_html("https://demo.example/news?page=8", empty))) == []


def test_without_an_id_pattern_the_canonical_url_identifies_a_release() -> None:
    assert release_id("https://demo.example/news/5?b=2&a=1", None) == (
        "https://demo.example/news/5?a=1&b=2"
    )
    assert release_id("https://demo.example/n/5", r"/n/(\d+)") == "5"
    long = "https://demo.example/" + "x" * 200
    assert release_id(long, None).startswith("sha256:") and len(release_id(long, None)) <= 128


def test_date_formats_are_tried_first_and_unmatched_dates_stay_raw() -> None:
    assert apply_date_formats("05/04/2026", ["%m/%d/%Y", "%d/%m/%Y"]) == "2026-05-04"
    assert apply_date_formats("05/04/2026", ["%d/%m/%Y"]) == "2026-04-05"
    assert apply_date_formats("2026-04-05 14:30", ["%Y-%m-%d %H:%M"]) == "2026-04-05 14:30:00"
    assert apply_date_formats("Apr 5, 2026", ["%d/%m/%Y"]) == "Apr 5, 2026"
    assert apply_date_formats(None, ["%d/%m/%Y"]) is None


def test_detail_page_through_selectors(tmp_path) -> None:
    spider = _demo_spider(
        tmp_path,
        top='date_formats = ["%d/%m/%Y"]',
        detail='title = "h1"\ndate = ".meta"\ndate_pattern = \'Posted on:\\s*(\\S+)\'\n'
        'body = ".text"\nremove = [".share"]\nattachments = "a.file"\n'
        'summary = "meta[name=description]::attr(content)"',
    )
    url = "https://demo.example/news/102"
    entry = {"url": url, "title": "From the list"}
    (item,) = list(spider.parse_detail(_html(url, DETAIL_PAGE), entry=entry))
    assert isinstance(item, ReleaseItem)
    assert item["source"] == "demo" and item["agency"] == "Demo Ministry of Science"
    assert item["title"] == "Minister visits lab"
    assert item["published_raw"] == "2026-04-05"  # day first, as the source declares
    assert item["body"] == "First paragraph.\n\nSecond one."
    assert item["summary"].startswith("A page description that is long")
    assert item["attachments"] == [
        {"name": "Report", "url": "https://demo.example/files/report.pdf"},
        {"name": "data.csv", "url": "https://demo.example/files/data.csv"},
    ]
    assert item.get("native_id") is None  # no id_pattern: the canonical URL stands in later
    assert item["extraction"] == "selectors"
    assert item["field_stages"] == {name: "selectors" for name in (
        "title", "published_raw", "body", "summary", "attachments")}  # fmt: skip
    assert item["extractor_version"].startswith("demo/1.")


def test_editing_selectors_changes_the_extractor_version(tmp_path) -> None:
    one = _demo_spider(tmp_path, detail='body = ".text"')
    (tmp_path / "edited").mkdir()
    other = _demo_spider(tmp_path / "edited", detail='body = ".content"')
    assert one.extractor_version != other.extractor_version


def test_list_values_stand_in_for_what_the_page_lacks(tmp_path) -> None:
    spider = _demo_spider(tmp_path, detail='title = "h2"\ndate = ".none"\nbody = ".text"')
    response = _html("https://demo.example/news/102", DETAIL_PAGE)
    entry = {"url": response.url, "title": "Listed", "date": "2026-04-05"}
    (item,) = list(spider.parse_detail(response, entry=entry))
    assert (item["title"], item["published_raw"]) == ("Listed", "2026-04-05")
    assert item["extraction"] == "selectors"
    assert item["field_stages"]["title"] == item["field_stages"]["published_raw"] == "list"


def test_without_the_fallback_a_missed_body_stays_missing(tmp_path) -> None:
    spider = _demo_spider(tmp_path, detail='body = ".nowhere"\ngeneric_fallback = false')
    (item,) = list(spider.parse_detail(_html("https://demo.example/news/102", DETAIL_PAGE)))
    assert item["body"] == "" and "body" not in item["field_stages"]


def test_generic_extraction_fills_a_body_the_selectors_miss(tmp_path) -> None:
    spider = _demo_spider(tmp_path, detail='title = "h1"\nbody = ".nowhere"')
    page = (FIXTURES / "ey" / "detail" / "c71f0e5a-9d34-4b2c-a8e6-5b0f3d9c1e82.html").read_bytes()
    (item,) = list(spider.parse_detail(_html("https://demo.example/news/1", page)))
    assert item["extraction"] == "generic"
    assert "special budget proposal of NT$98.6 billion" in item["body"]


# --- the Executive Yuan source: configuration and fixtures only -----------------------------


def test_ey_needs_no_python() -> None:
    cls = spider_classes(DEFAULT_SOURCES_FILE)["ey"]
    assert cls.__bases__ == (ConfiguredSpider,)
    assert not list(ROOT.joinpath("spiders").glob("ey*.py"))
    assert not list(ROOT.joinpath("spiders").glob("nstc*.py"))


@pytest.mark.slow
def test_ey_crawls_from_its_fixtures_end_to_end(tmp_path) -> None:
    db = new_database_url(tmp_path)
    summary = crawl_json(db, "ey")["ey"]
    assert summary["status"] == "finished" and summary["dropped"] == {}
    assert summary["new"] == len(expected_release_ids("ey")) >= 8
    releases = stored_releases(db, "--source", "ey")
    assert {r["native_id"] for r in releases} == expected_release_ids("ey")
    for release in releases:
        assert release["agency"] == "Executive Yuan" and release["agency_country"] == "TW"
        assert release["published"].endswith("+08:00")
        assert release["extraction"] == "selectors"
        for chrome in ("Share:", "Date:", "Source:", "Copyright", "Related Links"):
            assert chrome not in release["body"]
    partners = {partner for release in releases for partner in release["partners"]}
    assert {"US", "JP"} <= partners


# --- `stnews sources`, `stnews check` ------------------------------------------------------


def test_a_malformed_sources_file_fails_at_start_naming_source_and_field(tmp_path) -> None:
    bad = write(tmp_path, demo().replace('"TW"', '"XX"'))
    for args in (("crawl", "--replay", str(FIXTURES)), ("sources",), ("check",)):
        result = stnews(*args, sources=bad, db=f"sqlite:///{tmp_path}/x.db")
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "error:" in flat(result.stderr)
        assert "source 'demo', field 'agency_country'" in flat(result.stderr)


def test_scrapy_fails_at_start_on_a_malformed_file(tmp_path) -> None:
    bad = write(tmp_path, demo(listing="id_pattern = '('"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_SOURCES": str(bad)}
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "list"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "source 'demo', field 'list.id_pattern'" in flat(result.stderr)


def test_sources_lists_every_source() -> None:
    result = stnews("sources", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["ey"]["spider"] is None and rows["ey"]["kind"] == "html"
    assert rows["nstc_pages"]["kind"] == "page"
    assert rows["msit"]["agency_country"] == "KR"
    assert rows["msit"]["home"] == "KR" and rows["ec_rtd"]["home"] == "EU"
    assert rows["mext"]["read_as"] == "feed → pages"
    assert rows["msit_ko"]["read_as"] == "feed → pages, + list check (code: MsitKoreanFeedSpider)"
    table = stnews("sources")
    assert (
        table.returncode == 0
        and "list → pages" in flat(table.stdout)
        and "Executive Yuan" in flat(table.stdout)
    )


def test_sources_add_without_a_file_starts_a_local_copy(tmp_path) -> None:
    bundled = DEFAULT_SOURCES_FILE.read_text(encoding="utf-8")
    result = stnews("sources", "add", "ey_copy", "--from", "ey", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    names = [s.name for s in load_sources(tmp_path / "sources.toml")]
    assert names == [*(s.name for s in load_sources(DEFAULT_SOURCES_FILE)), "ey_copy"]
    assert DEFAULT_SOURCES_FILE.read_text(encoding="utf-8") == bundled


def test_sources_add_copies_an_entry_as_a_template(tmp_path) -> None:
    path = write(tmp_path, DEFAULT_SOURCES_FILE.read_text(encoding="utf-8"))
    printed = stnews("sources", "add", "ey_copy", "--from", "ey", "--file", str(path), "--print")
    assert printed.returncode == 0, printed.stderr
    assert 'name = "ey_copy"' in flat(printed.stdout) and path.read_text() == (
        DEFAULT_SOURCES_FILE.read_text(encoding="utf-8")
    )
    result = stnews("sources", "add", "ey_copy", "--from", "ey", "--file", str(path))
    assert result.returncode == 0, result.stderr
    sources = {s.name: s for s in load_sources(path)}
    copy, original = sources["ey_copy"], sources["ey"]
    assert copy.model_dump(exclude={"name"}) == original.model_dump(exclude={"name"})
    assert list(sources)[-1] == "ey_copy"
    again = stnews("sources", "add", "ey_copy", "--from", "ey", "--file", str(path))
    assert again.returncode == 2 and "already a source named 'ey_copy'" in flat(again.stderr)
    unknown = stnews("sources", "add", "x_y", "--from", "nope", "--file", str(path))
    assert unknown.returncode == 2 and "no source 'nope'" in flat(unknown.stderr)
    invalid = stnews("sources", "add", "Bad Name", "--from", "ey", "--file", str(path))
    assert invalid.returncode == 2 and "field 'name'" in flat(invalid.stderr)


@pytest.mark.slow
def test_check_passes_for_every_source() -> None:
    result = stnews("check", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {check["source"]: check for check in json.loads(result.stdout)}
    assert {"nstc", "moeaidb", "msit", "nstc_pages", "ey"} <= set(checks)
    ey = checks["ey"]
    assert ey["ok"] and ey["failures"] == []
    assert ey["seen"] == ey["releases"] == len(expected_release_ids("ey")) == 11
    assert set(ey["fields"]) == set(RELEASE_FIELDS)
    assert ey["fields"]["title"] == ey["fields"]["body"] == ey["fields"]["published"] == 11
    assert ey["fields"]["contact_org"] == 11 and ey["fields"]["image_url"] == 3
    assert checks["nstc_pages"]["fields"]["text"] == 1
    table = stnews("check", "ey")
    assert table.returncode == 0 and "ok" in flat(table.stdout)


def _broken_ey(tmp_path: Path, *edits: tuple[str, str]) -> tuple[Path, Path]:
    """A sources file with `ey_broken`, a copy of `ey` edited, and fixtures for it."""
    path = write(tmp_path, DEFAULT_SOURCES_FILE.read_text(encoding="utf-8"))
    added = stnews("sources", "add", "ey_broken", "--from", "ey", "--file", str(path))
    assert added.returncode == 0, added.stderr
    text = path.read_text(encoding="utf-8")
    head, _, copy = text.rpartition("# ey_broken: copied")
    for old, new in edits:
        assert old in copy
        copy = copy.replace(old, new)
    path.write_text(head + "# ey_broken: copied" + copy, encoding="utf-8")
    fixtures = tmp_path / "fixtures"
    shutil.copytree(FIXTURES / "ey", fixtures / "ey_broken")
    return path, fixtures


@pytest.mark.slow
def test_check_fails_naming_the_field_a_broken_selector_empties(tmp_path) -> None:
    path, fixtures = _broken_ey(
        tmp_path,
        ('body = "div.words_content > div.data_left"', 'body = "div.words_content > div.lft"'),
        ("[source.detail]\n", "[source.detail]\ngeneric_fallback = false\n"),
    )
    result = stnews("check", "ey_broken", "--file", str(path), "--fixtures", str(fixtures))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAIL" in flat(result.stdout)
    assert "field 'body' filled in 0 of 11 (0%), expected at least 90%" in flat(result.stdout)
    data = stnews("check", "ey_broken", "--file", str(path), "--fixtures", str(fixtures), "--json")
    (check,) = json.loads(data.stdout)
    # Without a text, no release is stored: all eleven are dropped, counted by their reason.
    assert not check["ok"] and check["fields"]["body"] == 0
    assert check["dropped"] == {"missing-body": 11}


@pytest.mark.slow
def test_check_counts_bodies_the_generic_fallback_recovers(tmp_path) -> None:
    path, fixtures = _broken_ey(
        tmp_path, ('body = "div.words_content > div.data_left"', 'body = "div.lft"')
    )
    result = stnews(
        "check", "ey_broken", "--file", str(path), "--fixtures", str(fixtures), "--json"
    )
    (check,) = json.loads(result.stdout)
    assert check["generic"] == check["fields"]["body"] == 11, check
    # The source's health says the selectors drifted, naming the field and the stage.
    assert any("field 'body' needed a fallback in 11 of 11 releases (generic 11)" in reason
               for reason in check["health"]["reasons"]), check["health"]  # fmt: skip


@pytest.mark.slow
def test_check_fails_for_a_source_without_fixtures_or_releases(tmp_path) -> None:
    # Neither the list selectors nor the detail-URL pattern discovery relies on match.
    path, fixtures = _broken_ey(
        tmp_path,
        ('item = "li"', 'item = "li.nothing"'),
        ("link_pattern = '/Page/61BF20C3E89B856/", "link_pattern = '/Page/NOWHERE/"),
    )
    result = stnews(
        "check", "ey_broken", "--file", str(path), "--fixtures", str(fixtures), "--json"
    )
    assert result.returncode == 1
    (check,) = json.loads(result.stdout)
    assert check["seen"] == 0 and "no release from the fixtures" in check["failures"][0]
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = stnews("check", "ey", "--fixtures", str(empty))
    assert missing.returncode == 1 and "no fixtures" in flat(missing.stdout)


def test_check_rejects_unknown_sources() -> None:
    result = stnews("check", "nope")
    assert result.returncode == 2 and "unknown or disabled source(s): nope" in flat(result.stderr)


def test_source_spider_base_is_shared() -> None:
    assert issubclass(ReleaseSpider, SourceSpider)
    assert issubclass(ConfiguredPageSpider, SourceSpider)

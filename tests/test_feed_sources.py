"""Feed sources (spiders/feed_source.py): NSTC 新聞資料, MSIT 보도자료 and IDA RSS feeds.

Parsing untrusted feeds safely, reading entries and detail pages, keeping IDA's industry
insights apart, the page check that finds releases a feed dropped, and whole crawls replayed
from the fixtures into the database and on to the cooperation feed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.items import ReleaseItem
from crawler.source_registry import spider_classes
from crawler.sources import sources_path
from spiders.feed_source import FeedSourceSpider, own_zone_offset, read_feed, unsafe_dtd
from spiders.ida import IdaFeedSpider
from spiders.msit import MsitKoreanFeedSpider
from tests.crawl_support import crawl_json, run_cli, stored_releases
from tests.databases import new_database_url
from tests.safety_support import crawl, page, serve
from tests.support import FIXTURES, fixture_response

FEED_SOURCES = ("nstc_zh", "msit_ko", "ida_zh")
NSTC_FEED = "https://www.nstc.gov.tw/nstc/rss/newsdata"
NSTC_CHECK = "https://www.nstc.gov.tw/folksonomy/list/9aa56881-8df0-4eb6-a5a7-32a2f72826ff?l=ch"
MSIT_FEED = "https://www.msit.go.kr/user/rss/rss.do?bbsSeqNo=94"
MSIT_CHECK = "https://www.msit.go.kr/bbs/list.do?sCode=user&mPid=208&mId=307"
MSIT_VIEW = "https://www.msit.go.kr/bbs/view.do?sCode=user&mId=307&mPid=208&bbsSeqNo=94&nttSeqNo={}"
IDA_FEED = "https://www.ida.gov.tw/ctlr?PRO=rss.RSSView&t=1"
IDA_CHECK = "https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsList&type=news&page=1"
IDA_VIEW = "https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsView&id={}"

#: The cooperation announcements of the fixtures: site id → partners.
COOPERATION = {
    ("nstc_zh", "3f9c2a71-5d84-4e0b-9a6f-1c2d7e8b4a10"): ["FR"],  # 臺法科技合作會議
    ("nstc_zh", "8b1e4d6c-2a7f-4c3e-b5d9-0e6f1a2b3c4d"): ["US"],  # 臺美科技合作對話
    ("nstc_zh", "c7d2e9f0-6a1b-4f8c-9d3e-2b5a7c8e1f46"): ["EU"],  # 臺歐盟半導體聯合研究
    ("msit_ko", "3196512"): ["GB"],  # 한-영 AI 안전 연구 협력 MoU
    ("msit_ko", "3196207"): ["US"],  # 한·미 과학기술공동위원회 (body only in the attachment)
    ("msit_ko", "3195530"): ["EU"],  # 한-EU 디지털 파트너십 협의회
    ("msit_ko", "3195702"): ["AU"],  # 한-호주 공동연구: on the list page, not in the RSS
    ("ida_zh", "43580"): ["DE"],  # 臺德 合作備忘錄
    ("ida_zh", "43552"): ["JP"],  # 臺日 合作意向書
}
EXPECTED_IDS = {
    "nstc_zh": {
        "3f9c2a71-5d84-4e0b-9a6f-1c2d7e8b4a10", "8b1e4d6c-2a7f-4c3e-b5d9-0e6f1a2b3c4d",
        "c7d2e9f0-6a1b-4f8c-9d3e-2b5a7c8e1f46", "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
        "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", "9a8b7c6d-5e4f-4a3b-8c1d-0e9f8a7b6c5d",
        "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
    },
    # The RSS's seven, the one it lacks (3195702) and an older one only the list still shows.
    "msit_ko": {
        "3196512", "3196207", "3195874", "3195702", "3195530", "3195188", "3194802",
        "3194455", "3194101",
    },
    # Six press releases and an older one from the news list; no industry insight.
    "ida_zh": {"43580", "43552", "43519", "43488", "43455", "43421", "43390"},
}  # fmt: skip
IDA_INSIGHTS = {"43566", "43502"}

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>測試</title><link>https://feeds.example.org/</link>
<description>test</description>{items}</channel></rss>
"""
ITEM = """<item><title>{title}</title><link>{link}</link><description>{text}</description>
<pubDate>Tue, 17 Nov 2026 14:30:00 +0800</pubDate></item>"""
FEED_TEST_SOURCE = """
[[source]]
name = "feed_test"
agency = "Test Agency"
agency_country = "TW"
language = "zh-Hant"
timezone = "Asia/Taipei"
kind = "feed"
start_urls = ["https://feeds.example.org/rss.xml"]
allowed_domains = ["feeds.example.org"]

[source.feed]
follow_links = {follow}
max_bytes = 200000
timeout = 1
"""


# --- Reading feeds ---------------------------------------------------------------------------


def _fixture_body(url: str) -> bytes:
    return fixture_response(url).body


@pytest.mark.parametrize(
    ("url", "count", "first_title"),
    [
        (NSTC_FEED, 7, "臺法科技合作會議於巴黎舉行 雙方簽署量子與半導體聯合研究合作備忘錄"),
        (MSIT_FEED, 7, "한-영, 인공지능(AI) 안전 연구 협력 양해각서(MoU) 체결"),
        (IDA_FEED, 8, "臺德簽署智慧製造與氫能產業合作備忘錄 深化雙邊供應鏈夥伴關係"),
    ],
)
def test_fixture_feeds_are_read_from_their_bytes(url: str, count: int, first_title: str) -> None:
    reading = read_feed(_fixture_body(url), url, "application/rss+xml;charset=utf-8")
    assert reading.problem is None and reading.warning is None
    assert len(reading.entries) == count
    first = reading.entries[0]
    assert first.title == first_title
    assert first.url.startswith("https://")
    assert first.date and first.date[:3] in {"Wed", "Thu", "Tue"}  # RFC 822, kept raw
    assert first.summary and first.body


# The classic "billion laughs": ten levels of ten references each.
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + b"".join(
        b'<!ENTITY lol%d "%s">\n' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    + b']>\n<rss version="2.0"><channel><title>t</title>'
    b"<item><title>&lol9;</title><link>https://x.example/1</link></item></channel></rss>"
)
# One large literal entity used many times ("quadratic blowup"): feedparser's loose parser
# would expand it after expat refuses the document.
QUADRATIC = (
    b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "'
    + b"x" * 100_000
    + b'">\n]>\n<rss version="2.0"><channel><title>t</title><item><title>T</title>'
    b"<link>https://x.example/1</link><description>" + b"&a;" * 2_000 + b"</description>"
    b"</item></channel></rss>"
)


def _external_entity(path: Path) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY xxe SYSTEM "file://{path}">\n]>\n'
        '<rss version="2.0"><channel><title>t</title><item><title>T &xxe;</title>'
        "<link>https://x.example/1</link></item></channel></rss>"
    ).encode()


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.txt"
    path.write_text("TOP-SECRET-LOCAL-FILE", encoding="utf-8")
    return path


@pytest.mark.parametrize("kind", ["billion-laughs", "quadratic", "external", "utf-16", "one-line"])
def test_feeds_declaring_entities_are_refused_before_parsing(kind: str, secret: Path) -> None:
    body = {
        "billion-laughs": BILLION_LAUGHS,
        "quadratic": QUADRATIC,
        "external": _external_entity(secret),
        # The markers in a wide encoding must not slip through the byte check.
        "utf-16": _external_entity(secret)
        .decode()
        .replace('"1.0"?>', '"1.0" encoding="UTF-16"?>')
        .encode("utf-16"),
        "one-line": BILLION_LAUGHS.replace(b"\n", b""),
    }[kind]
    started = time.monotonic()
    reading = read_feed(body, "https://feeds.example.org/rss.xml")
    assert time.monotonic() - started < 1
    assert reading.problem == "internal-dtd"
    assert reading.entries == []
    assert "TOP-SECRET" not in repr(reading)


def test_an_external_dtd_reference_is_accepted_but_never_read(secret: Path) -> None:
    # RSS 0.91 names Netscape's DTD; nothing behind a DOCTYPE's SYSTEM id is ever read.
    body = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "file://{secret}">\n'
        + RSS.split("\n", 1)[1].format(items=ITEM.format(title="T", link="/a", text="x"))
    ).encode()
    assert not unsafe_dtd(body)
    reading = read_feed(body, "https://feeds.example.org/rss.xml")
    assert [entry.url for entry in reading.entries] == ["https://feeds.example.org/a"]
    assert "TOP-SECRET" not in repr(reading)


def test_a_body_naming_a_local_file_is_not_opened(tmp_path: Path) -> None:
    # Handed bytes, feedparser would open them as a file name; the spider hands it a stream.
    local = tmp_path / "feed.xml"
    item = ITEM.format(title="TOP-SECRET-LOCAL-FEED", link="https://x.example/1", text="x")
    local.write_text(RSS.format(items=item), encoding="utf-8")
    reading = read_feed(str(local).encode(), "https://feeds.example.org/rss.xml")
    assert reading.problem == "not-a-feed"
    assert "TOP-SECRET" not in repr(reading)


def test_non_feeds_empty_feeds_and_ill_formed_feeds() -> None:
    url = "https://feeds.example.org/rss.xml"
    html = b"<html><body><h1>Service unavailable</h1><p>Try later.</p></body></html>"
    assert read_feed(html, url, "text/html").problem == "not-a-feed"
    assert read_feed(RSS.format(items="").encode(), url).problem == "no-entries"
    # An unescaped "&": ill-formed XML, but the entries are there: used, with a warning.
    items = ITEM.format(title="R&D 合作", link="https://x.example/1", text="x")
    items += "<item><title>無連結</title></item>"  # points nowhere: skipped and counted
    reading = read_feed(RSS.format(items=items).encode(), url)
    assert reading.problem is None and reading.warning and reading.without_link == 1
    (entry,) = reading.entries
    assert entry.title.startswith("R&D") and entry.url == "https://x.example/1"


def test_atom_entries_give_their_content_and_dates() -> None:
    atom = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:x</id>
<updated>2026-11-18T08:00:00+08:00</updated>
<entry><title>한-영 협력</title><id>urn:uuid:1234</id><link href="/news/7"/>
<published>2026-11-17T10:00:00+09:00</published><updated>2026-11-18T08:00:00+09:00</updated>
<summary>요약</summary>
<content type="html">&lt;p&gt;첫 문단&lt;/p&gt;&lt;p&gt;둘째 문단&lt;/p&gt;</content>
</entry></feed>"""
    (entry,) = read_feed(atom.encode(), "https://feeds.example.org/atom.xml").entries
    assert entry.url == "https://feeds.example.org/news/7" and entry.guid == "urn:uuid:1234"
    assert (entry.date, entry.modified) == (
        "2026-11-17T10:00:00+09:00",
        "2026-11-18T08:00:00+09:00",
    )
    assert (entry.summary, entry.body) == ("요약", "첫 문단\n\n둘째 문단")


def test_a_zone_abbreviation_of_the_agencys_own_zone_becomes_its_offset() -> None:
    # IDA's feed writes "CST" for Taipei time; dateparser alone reads US Central Time.
    assert own_zone_offset("Tue, 17 Nov 2026 14:30:00 CST", "Asia/Taipei").endswith("+0800")
    assert own_zone_offset("Tue, 17 Nov 2026 14:30:00 KST", "Asia/Seoul").endswith("+0900")
    assert own_zone_offset("Tue, 17 Nov 2026 14:30:00 CST", "America/Chicago").endswith("-0600")
    assert own_zone_offset("Tue, 17 Nov 2026 14:30:00 EST", "Asia/Taipei").endswith("EST")
    assert own_zone_offset("2026-11-17", "Asia/Taipei") == "2026-11-17"


# --- The spider on single responses --------------------------------------------------------


def _spider(name: str, path: Path | None = None, **kwargs: Any) -> FeedSourceSpider:
    cls = spider_classes(path or sources_path())[name]
    crawler = get_crawler(cls, {"DATABASE_URL": "sqlite://"})
    spider = cls.from_crawler(crawler, **kwargs)
    crawler.spider = spider
    return spider


def _stats(spider: FeedSourceSpider) -> dict[str, Any]:
    return spider.crawler.stats.get_stats()


def _details(spider: FeedSourceSpider, url: str) -> list[Request]:
    return [out for out in spider.parse(fixture_response(url)) if isinstance(out, Request)]


def _release(spider: FeedSourceSpider, request: Request) -> ReleaseItem:
    response = fixture_response(request.url)
    items = list(spider.parse_detail(response, **request.cb_kwargs))
    assert len(items) == 1
    return items[0]


def test_the_registry_builds_the_feed_spiders() -> None:
    classes = spider_classes(sources_path())
    assert issubclass(classes["nstc_zh"], FeedSourceSpider)
    assert issubclass(classes["msit_ko"], MsitKoreanFeedSpider)
    assert issubclass(classes["ida_zh"], IdaFeedSpider)
    assert classes["msit_ko"].timezone == "Asia/Seoul" and classes["msit_ko"].language == "ko"


def test_feed_requests_carry_the_sources_limits() -> None:
    spider = _spider("msit_ko")
    request = spider.feed_request(MSIT_FEED)
    assert request.meta["download_maxsize"] == 2 * 1024 * 1024
    assert request.meta["download_timeout"] == 30
    assert request.meta["list_page"]  # conditional: an unchanged feed costs a 304
    spider.checking = True
    assert "list_page" not in spider.feed_request(MSIT_FEED).meta  # a check needs it all


def test_nstc_entries_are_followed_to_their_chinese_pages() -> None:
    spider = _spider("nstc_zh")
    requests = _details(spider, NSTC_FEED)
    assert len(requests) == 7
    first = requests[0]
    assert first.url.endswith("/folksonomy/detail/3f9c2a71-5d84-4e0b-9a6f-1c2d7e8b4a10?l=CH")
    assert first.meta["listing"]["id"] == "3f9c2a71-5d84-4e0b-9a6f-1c2d7e8b4a10"
    item = _release(spider, first)
    assert item["title"].startswith("臺法科技合作會議於巴黎舉行")
    assert item["published_raw"] == "Wed, 18 Nov 2026 15:30:00 +0800"  # the feed times the day
    assert item["body"].startswith("國家科學及技術委員會（國科會）於11月17日在法國巴黎")
    assert item["body"].endswith("詳細資訊請參閱國科會網站。")
    assert item["extraction"] == "selectors" and item["language"] == "zh-Hant"
    assert item["attachments"] == [
        {
            "name": "臺法量子與半導體聯合研究合作備忘錄簡介.pdf",
            "url": "https://www.nstc.gov.tw/nstc/attachments/a7b8c9d0-e1f2-4a3b-9c4d-5e6f7a8b9c0d",
        }
    ]
    assert item["image_url"].startswith("https://www.nstc.gov.tw/nstc/attachments/")


def test_msit_pages_give_their_attachments_and_stub_bodies() -> None:
    spider = _spider("msit_ko")
    requests = {r.meta["listing"]["id"]: r for r in _details(spider, MSIT_FEED)}
    assert set(requests) == EXPECTED_IDS["msit_ko"] - {"3195702", "3194101"}
    stub = _release(spider, requests["3196207"])
    assert stub["title"] == "제12차 한·미 과학기술공동위원회 개최…양국 공동성명 채택"
    assert stub["body"] == "※ 보도자료 본문은 첨부파일을 참고하시기 바랍니다."
    assert stub["contact_org"] == "구미협력담당관"
    assert [a["name"].rsplit(".", 1)[1] for a in stub["attachments"]] == ["hwpx", "pdf", "pdf"]
    assert stub["attachments"][0]["url"] == (
        "https://www.msit.go.kr/ssm/file/fileDown.do?atchFileNo=51188&fileOrd=1&fileBtn=A"
    )
    full = _release(spider, requests["3196512"])
    assert full["native_id"] == "3196512"
    assert full["body"].split("\n\n")[0].startswith("- 양국 AI안전연구소 간 공동연구")
    assert "담당부서" not in full["body"]


def test_ida_industry_insights_are_kept_apart() -> None:
    spider = _spider("ida_zh")
    requests = _details(spider, IDA_FEED)
    ids = {r.meta["listing"]["id"] for r in requests}
    assert "43566" not in ids  # its link says type=insights: never fetched
    assert _stats(spider)["feed/excluded/link"] == 1
    (untyped,) = [r for r in requests if r.meta["listing"]["id"] == "43502"]
    # Its link looks like a press release; its page's breadcrumb says 產業大小事.
    assert list(spider.parse_detail(fixture_response(untyped.url), **untyped.cb_kwargs)) == []
    assert _stats(spider)["feed/excluded/page"] == 1
    release = _release(spider, next(r for r in requests if r.meta["listing"]["id"] == "43580"))
    assert release["published_raw"] == "2026-11-17 14:30"
    assert release["modified_raw"] == "2026-11-17 18:05"
    assert release["contact_org"] == "產業政策組"


def test_the_check_page_finds_the_release_the_feed_lacks(caplog) -> None:
    spider = _spider("msit_ko")
    spider.checking, spider.feeds_pending = True, 1
    outputs = list(spider.parse(fixture_response(MSIT_FEED)))
    (check,) = [
        o for o in outputs if isinstance(o, Request) and o.callback == spider.parse_check_page
    ]
    assert check.url == MSIT_CHECK
    fetched = list(spider.parse_check_page(fixture_response(MSIT_CHECK)))
    assert [r.url for r in fetched] == [MSIT_VIEW.format(3195702), MSIT_VIEW.format(3194101)]
    stats = _stats(spider)
    assert stats["feed/missing_from_feed"] == 1  # within the feed's window: reported
    assert stats["feed/check/older_than_feed"] == 1  # older than the feed's oldest: fetched
    assert MSIT_VIEW.format(3195702) in caplog.text
    missing = _release(spider, fetched[0])
    assert missing["title"].startswith("한-호주 핵심광물·양자기술 공동연구 착수")
    assert missing["published_raw"] == "2026-11-11"


@pytest.mark.parametrize(("name", "feed", "check"), [("nstc_zh", NSTC_FEED, NSTC_CHECK)])
def test_a_check_page_the_feed_covers_reports_nothing(name: str, feed: str, check: str) -> None:
    # The list spells `l=ch`, the feed `l=CH`, and pins a fraud warning: matched by uuid.
    spider = _spider(name)
    list(spider.parse(fixture_response(feed)))
    assert list(spider.parse_check_page(fixture_response(check))) == []
    assert "feed/missing_from_feed" not in _stats(spider)


def test_without_following_links_releases_come_from_the_entries(tmp_path: Path) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(FEED_TEST_SOURCE.format(follow="false"), encoding="utf-8")
    spider = _spider("feed_test", path)
    items = RSS.format(
        items=ITEM.format(title="臺美合作", link="/news/1", text="&lt;p&gt;第一段&lt;/p&gt;")
    )
    response = XmlResponse(
        "https://feeds.example.org/rss.xml", body=items.encode(), request=Request("https://x")
    )
    (item,) = list(spider.parse(response))
    assert (item["url"], item["title"], item["body"]) == (
        "https://feeds.example.org/news/1", "臺美合作", "第一段",
    )  # fmt: skip
    assert item["extraction"] == "feed"
    assert item["extractor_version"].endswith("/feed-entry")
    # Re-extraction from the stored raw response gives the same release.
    stored = HtmlResponse(item["url"], body=item["raw_body"], request=Request(item["url"]))
    again = spider.stored_entry_item(stored)
    assert (again["title"], again["body"], again["url"]) == (
        item["title"],
        item["body"],
        item["url"],
    )
    # ... but only through that path: a fetched page that looks like a stored entry is a
    # page like any other, never a release's URL, title and text.
    (page_item,) = list(spider.parse_detail(stored))
    assert page_item["url"] == stored.url and page_item.get("title") != "臺美合作"


def test_a_page_without_selectors_falls_back_to_generic_extraction_then_the_entry(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sources.toml"
    path.write_text(FEED_TEST_SOURCE.format(follow="true"), encoding="utf-8")
    spider = _spider("feed_test", path)
    entry = {"url": "https://feeds.example.org/news/1", "title": "來自摘要的標題",
             "date": "Tue, 17 Nov 2026 14:30:00 +0800", "body": "摘要內文。",
             "origin": "feed"}  # fmt: skip
    article = "".join(f"<p>{'產業發展署推動智慧製造與淨零轉型。' * 4}{n}</p>" for n in range(4))
    page_html = f"<html><body><nav>選單</nav><article>{article}</article></body></html>"
    generic = HtmlResponse(entry["url"], body=page_html.encode(), encoding="utf-8")
    (item,) = list(spider.parse_detail(generic, entry=entry))
    assert item["extraction"] == "generic" and "淨零轉型" in item["body"]
    assert item["title"] == "來自摘要的標題"  # the entry's title, before a generic guess
    empty = HtmlResponse(entry["url"], body=b"<html><body></body></html>", encoding="utf-8")
    (item,) = list(spider.parse_detail(empty, entry=entry))
    assert (item["extraction"], item["body"]) == ("feed", "摘要內文。")


# --- Whole crawls ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> tuple[str, dict[str, dict], list[dict]]:
    """One crawl of the three feed sources from the fixtures (a first poll: page checked)."""
    db = new_database_url(tmp_path_factory.mktemp("feeds-db"))
    summary = crawl_json(db, *FEED_SOURCES)
    return db, summary, stored_releases(db, *(f"--source={name}" for name in FEED_SOURCES))


@pytest.mark.slow
def test_feed_sources_replay_end_to_end_into_the_database(crawled) -> None:
    _, summary, releases = crawled
    for name in FEED_SOURCES:
        assert summary[name]["status"] == "finished"
        assert summary[name]["dropped"] == {} and summary[name]["errors"] == 0
        ids = [r["native_id"] for r in releases if r["source"] == name]
        assert sorted(ids) == sorted(EXPECTED_IDS[name])
        assert summary[name]["new"] == len(EXPECTED_IDS[name])
    for release in releases:
        assert release["title"] and release["body"] and release["published"]
        assert release["published"].startswith("2026-1")
        assert release["language"] == {"msit_ko": "ko"}.get(release["source"], "zh-Hant")
    assert not IDA_INSIGHTS & {r["native_id"] for r in releases}


@pytest.mark.slow
def test_chinese_and_korean_cooperation_releases_are_classified(crawled) -> None:
    releases = {(r["source"], r["native_id"]): r for r in crawled[2]}
    cooperation = {key for key, r in releases.items() if r["is_cooperation"]}
    assert cooperation == set(COOPERATION)
    for key, partners in COOPERATION.items():
        assert releases[key]["partners"] == partners, key


@pytest.mark.slow
def test_cooperation_releases_reach_the_cooperation_feed(crawled, tmp_path: Path) -> None:
    db, _, releases = crawled
    run_cli("feed", "--out", str(tmp_path), "--limit", "100", db=db)
    atom = (tmp_path / "cooperation.atom").read_text(encoding="utf-8")
    for release in releases:
        key = (release["source"], release["native_id"])
        assert (f"<title>{release['title']}</title>" in atom) == (key in COOPERATION), key


@pytest.mark.slow
def test_the_check_page_reports_and_stores_what_the_feed_lacks(tmp_path: Path) -> None:
    db = new_database_url(tmp_path)
    first = crawl(db, tmp_path, "msit_ko", replay=FIXTURES)
    assert first.returncode == 0, first.stderr
    assert first.stat("msit_ko", "feed/check_pages") == 1  # the first poll checks
    assert first.stat("msit_ko", "feed/missing_from_feed") == 1
    assert "release missing from the feed" in first.stderr
    assert MSIT_VIEW.format(3195702) in first.stderr
    stored = {r["native_id"] for r in stored_releases(db, "--source", "msit_ko")}
    assert {"3195702", "3194101"} <= stored
    # The next polls read the feed only ...
    second = crawl(db, tmp_path, "msit_ko", replay=FIXTURES)
    assert second.stat("msit_ko", "feed/check_pages") == 0
    assert second.summary["msit_ko"]["skipped"] == 7  # and fetch no known release again
    # ... until the sixth, or one told to check: the gap is reported again, not refetched.
    forced = crawl(db, tmp_path, "msit_ko", "-a", "check_page=1", replay=FIXTURES)
    assert forced.stat("msit_ko", "feed/missing_from_feed") == 1
    assert forced.summary["msit_ko"]["new"] == 0


# --- Hostile or broken feeds in a crawl -------------------------------------------------------


def _feed_test_fixtures(tmp_path: Path, body: bytes, content_type: str) -> Path:
    folder = tmp_path / "fixtures" / "feed_test"
    folder.mkdir(parents=True)
    (folder / "rss.xml").write_bytes(body)
    index = {
        "responses": [
            {
                "url": "https://feeds.example.org/rss.xml",
                "status": 200,
                "file": "rss.xml",
                "headers": {"Content-Type": content_type},
            }
        ]
    }
    (folder / "index.json").write_text(json.dumps(index), encoding="utf-8")
    return folder.parent


@pytest.fixture
def feed_test_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "sources.toml"
    path.write_text(FEED_TEST_SOURCE.format(follow="true"), encoding="utf-8")
    monkeypatch.setenv("STNEWS_SOURCES", str(path))
    return path


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (BILLION_LAUGHS, "application/rss+xml", "internal-dtd"),
        (QUADRATIC, "application/rss+xml", "internal-dtd"),
        (b"<rss>" + b"x" * 300_000 + b"</rss>", "application/rss+xml", "too-large"),
        (b"<html><body><p>503 Service Unavailable</p></body></html>", "text/html", "not-a-feed"),
    ],
    ids=["billion-laughs", "quadratic", "over-size", "not-a-feed"],
)
def test_an_unusable_feed_is_refused_and_counted(
    feed_test_source: Path, tmp_path: Path, body: bytes, content_type: str, reason: str
) -> None:
    db = new_database_url(tmp_path)
    replay = _feed_test_fixtures(tmp_path, body, content_type)
    started = time.monotonic()
    result = crawl(db, tmp_path, "feed_test", replay=replay, timeout=60)
    assert time.monotonic() - started < 60
    assert result.stat("feed_test", f"feed/problem/{reason}") == 1, result.stats
    assert result.summary["feed_test"]["new"] == 0
    assert "unusable" in result.stderr


@pytest.mark.slow
def test_an_external_entity_feed_reads_no_local_file(
    feed_test_source: Path, tmp_path: Path, secret: Path
) -> None:
    db = new_database_url(tmp_path)
    replay = _feed_test_fixtures(tmp_path, _external_entity(secret), "application/rss+xml")
    result = crawl(db, tmp_path, "feed_test", replay=replay)
    assert result.stat("feed_test", "feed/problem/internal-dtd") == 1
    assert "TOP-SECRET" not in result.stderr + json.dumps(result.stats)
    assert stored_releases(db) == []


LIVE = {"ALLOW_PRIVATE_ADDRESSES": "True", "RETRY_ENABLED": "False"}


def _slow(seconds: float, body: bytes) -> Any:
    def reply(_hit: int) -> tuple[int, dict[str, str], bytes]:
        time.sleep(seconds)
        return 200, {"Content-Type": "application/rss+xml"}, body

    return reply


@pytest.mark.slow
def test_live_downloads_stop_at_the_size_limit_and_the_timeout(
    feed_test_source: Path, tmp_path: Path
) -> None:
    big = RSS.format(items=ITEM.format(title="x", link="/1", text="y" * 300_000)).encode()
    routes = {
        "/big.xml": page(big, **{"Content-Type": "application/rss+xml"}),
        # No Content-Length: the limit is hit while the body streams in.
        "/stream.xml": page(big, Connection="close", **{"Content-Type": "application/rss+xml"}),
        "/slow.xml": _slow(3, RSS.format(items="").encode()),
    }
    with serve(routes) as site:
        # The slow one first: its server thread wakes up after the client left, while the
        # other crawls still run (and its "connection reset" stays in this test's output).
        for path, reason in [
            ("/slow.xml", "timeout"), ("/big.xml", "too-large"), ("/stream.xml", "too-large"),
        ]:  # fmt: skip
            db = new_database_url(tmp_path / path.strip("/."))
            result = crawl(
                db, tmp_path, "feed_test", "-a", f"start_url={site.origin}{path}", settings=LIVE
            )
            assert result.stat("feed_test", f"feed/problem/{reason}") == 1, (path, result.stats)


def test_fixture_sets_exist_for_every_feed_source() -> None:
    for name in FEED_SOURCES:
        index = json.loads((FIXTURES / name / "index.json").read_text(encoding="utf-8"))
        feeds = [r for r in index["responses"] if r["file"].startswith("feed/")]
        assert [r["headers"]["Content-Type"] for r in feeds] == [
            "application/rss+xml;charset=utf-8"
        ]


# --- Whether a poll reads the check page --------------------------------------------------------


def test_the_spider_reads_no_database_to_decide_on_the_check() -> None:
    # Told by its argument; not told (a bare `scrapy crawl`), it checks.
    for argument, checks in (("1", True), ("0", False), (None, True)):
        spider = _spider("msit_ko", check_page=argument)
        assert spider._check_due() is checks, argument


def test_the_runner_checks_every_nth_poll_from_the_stored_runs(tmp_path: Path) -> None:
    from scrapy.settings import Settings

    from crawler.service.runner import feed_check
    from storage import Database
    from storage.models import CrawlRun

    db = new_database_url(tmp_path)
    settings = Settings({"DATABASE_URL": db})
    classes = spider_classes(sources_path())
    msit_ko = classes["msit_ko"]
    every = msit_ko.source_config.feed.check_every
    assert every > 1
    database = Database(db)
    try:
        seen = []
        for _poll in range(every + 1):
            seen.append(feed_check(msit_ko, settings))
            with database.session() as session:
                session.add(CrawlRun(source="msit_ko", status="finished"))
                session.add(CrawlRun(source="msit_ko", status="failed"))  # not a poll
    finally:
        database.dispose()
    assert seen == [{"check_page": True}] + [{"check_page": False}] * (every - 1) + [
        {"check_page": True}
    ]
    unchecked = next(cls for cls in classes.values() if cls.source_config.kind != "feed")
    assert feed_check(unchecked, settings) == {}  # no check page: no argument


def test_reading_feeds_uses_no_deprecated_feedparser_mapping() -> None:
    # feedparser maps a missing `updated` to `published` with a DeprecationWarning.
    import warnings

    for url in (MSIT_FEED, NSTC_FEED):
        response = fixture_response(url)
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            reading = read_feed(response.body, response.url)
        assert reading.entries and all(entry.date for entry in reading.entries), url


def test_spiders_read_no_database() -> None:
    # Spiders know navigation; what the database says reaches them as arguments
    # (crawler.service.runner.feed_check) or through Scrapy components.
    import ast

    from tests.support import ROOT

    found = []
    for path in sorted((ROOT / "spiders").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )  # fmt: skip
            found += [
                f"{path.name}: {name}"
                for name in names
                if name.split(".")[0] in ("storage", "sqlalchemy") or name == "crawler.database"
            ]
    assert found == []

"""Every real saved page of the sites, through the page objects of its source.

The pages are in ``fixtures/<source>/real/`` (copies of ``../shared/realpages/``, with their
provenance in each ``index.json`` or PROVENANCE.md). Each must give the right title, a date
that parses in the agency's zone, and a body without any of the page's chrome.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from scrapy.http import HtmlResponse

from crawler.normalize import parse_date
from crawler.pages.page import html_response
from crawler.source_registry import page_objects
from crawler.sources import sources_by_name
from tests.support import FIXTURES

SOURCES = sources_by_name()
NSTC_ARTICLE = "https://www.nstc.gov.tw/folksonomy/detail/a22a29a9-03d7-4d55-850a-f4f6ca1a04e9?l=ch"
NSTC_TOPIC_LIST = "https://www.nstc.gov.tw/folksonomy/list/c79bf57b-dc94-4aff-8d14-3262b5559cfc?l=ch"
EY = "https://english.ey.gov.tw/Page/61BF20C3E89B856/"
ARTICLE_FILE = "nstc_zh/real/detail-a22a29a9-03d7-4d55-850a-f4f6ca1a04e9-ch.html"
TOPIC_LIST_FILE = FIXTURES / "nstc_zh/real/list-c79bf57b-dc94-4aff-8d14-3262b5559cfc-ch.html"

# Text of the real pages' chrome: menus, breadcrumb, footer, skip links, share bar.
CHROME = {
    "nstc": ("關於國科會", "回首頁", "隱私權保護政策", "106214 台北市", "資訊系統服務專線", ":::",
             "跳到主要內容", "國科會簡介", "行政院公報", "更新日期"),
    "ey": ("Newsroom", "Executive Yuan Press Releases", "Government Agency News", "Share on",
           "Site Map", "We Are apologized", "Date:", "Source:", ":::", "Email the Premier"),
}  # fmt: skip


def _read(source: str, url: str, file: str) -> tuple[HtmlResponse, object]:
    response = html_response(url, (FIXTURES / file).read_bytes())
    _, detail_page = page_objects(SOURCES[source])
    return response, detail_page.read(response)


def _local(raw: str | None, zone: str) -> datetime:
    parsed = parse_date(raw, zone)
    assert parsed is not None and parsed.tzinfo is not None, raw
    return parsed.astimezone(ZoneInfo(zone))


def _no_chrome(body: list[str], site: str) -> None:
    text = "\n".join(body)
    for line in CHROME[site]:
        assert line not in text, line


def test_nstc_article_page() -> None:
    _, fields = _read("nstc_zh", NSTC_ARTICLE, ARTICLE_FILE)
    assert fields.title == "政府網站資料開放宣告"  # not "國家科學及技術委員會-網站政策及宣告-…"
    assert _local(fields.published_raw, "Asia/Taipei").isoformat() == "2022-09-30T00:00:00+08:00"
    assert fields.modified_raw == "2022/09/30"
    assert fields.body[0] == "一、授權方式及範圍"
    assert fields.body[-1].startswith("五、本網站之宣告，並不授與使用者代表本機關建議")
    assert all("font-weight" not in p for p in fields.body)  # the page's inline <style>
    _no_chrome(fields.body, "nstc")
    assert fields.stages["title"] == fields.stages["body"] == "selectors"


def test_nstc_topic_list_is_read_by_discovery_without_its_footer_links() -> None:
    response = html_response(NSTC_TOPIC_LIST, TOPIC_LIST_FILE.read_bytes())
    list_page, _ = page_objects(SOURCES["nstc_zh"])
    reading = list_page.read(response)
    # A topic list (#templateW), not the news list (#templateJ): the list selectors match
    # nothing, and discovery finds the one release-shaped link of its content, not the
    # three policy pages the footer links in the same /folksonomy/detail/ shape.
    assert reading.stage == "discovery" and "matched no release" in reading.problem
    assert [(e.title, e.native_id) for e in reading.entries] == [
        ("常見問答(FAQ)", "d21566a0-3465-4b63-84b7-5d7cb2e1e5ff")
    ]
    assert reading.next_pages == []  # "共 2 筆資料，第 1/1 頁": the pager form leads nowhere


def test_nstc_topic_list_attachments_are_forms() -> None:
    from crawler.pages.attachments import read_attachments

    response = html_response(NSTC_TOPIC_LIST, TOPIC_LIST_FILE.read_bytes())
    found = read_attachments(response, response, "form[action*='/nstc/attachments/']")
    assert [(a.name, a.url) for a in found] == [
        ("行政院及所屬機關(構)使用生成式AI參考指引總說明及規定(PDF).pdf",
         "https://www.nstc.gov.tw/nstc/attachments/da74d556-5b1b-4cbd-9015-901cce87ff91"),
        ("行政院及所屬機關(構)使用生成式AI參考指引總說明及規定(ODT).odt",
         "https://www.nstc.gov.tw/nstc/attachments/99619717-6c5e-4270-b3b8-46f2041c228c"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("uuid", "title", "day", "first", "last"),
    [
        ("bb664055-d90d-49f5-8480-9372821a4550", "Premier Su urges public to conserve water",
         "2021-03-18", "Premier Su Tseng-chang on Thursday received a Ministry of Economic",
         "He called on all citizens to come together to save water."),
    ],
)  # fmt: skip
def test_executive_yuan_detail_pages(uuid, title, day, first, last) -> None:
    _, fields = _read("ey", EY + uuid, f"ey/real/detail-{uuid}.html")
    assert fields.native_id == uuid
    assert fields.title == title  # not padded, no "(Executive Yuan, R.O.C. (Taiwan)-…)"
    assert _local(fields.published_raw, "Asia/Taipei").isoformat() == f"{day}T00:00:00+08:00"
    assert fields.contact_org == "Department of Information Services, Executive Yuan"
    assert fields.body[0].startswith(first)
    assert fields.body[-1].endswith(last)
    _no_chrome(fields.body, "ey")
    assert set(fields.stages.values()) == {"selectors"}


def test_executive_yuan_site_wide_meta_date_is_never_taken() -> None:
    # DC.Date is 2011/12/01 on every page: without the Date: line, no date at all.
    response = html_response(EY + "bb664055-d90d-49f5-8480-9372821a4550",
                             (FIXTURES / "ey/real/detail-bb664055-d90d-49f5-8480-9372821a4550.html")
                             .read_bytes().replace(b"Date:&nbsp;2021-03-18", b""))  # fmt: skip
    _, detail_page = page_objects(SOURCES["ey"])
    assert detail_page.read(response).published_raw is None


def test_msit_english_list_fragment() -> None:
    raw = (FIXTURES / "msit/real/eng-list-script-fragment.txt").read_text(encoding="utf-8")
    # The fragment reached us as one line (its author joined the page's lines); on the page
    # the `//` duplicate ends at its line break, so the break is put back before the `if`.
    script = raw.replace("; if('REG_DT'", ";\nif('REG_DT'")
    body = (f"<html><body><div class='board_list'><p id='td_NTT_SJ_0'></p></div>"
            f"<script>{script}</script></body></html>")  # fmt: skip
    url = "https://www.msit.go.kr/eng/bbs/list.do?sCode=eng&mId=4&mPid=2"
    response = html_response(url, body.encode())
    list_page, _ = page_objects(SOURCES["msit"])
    reading = list_page.read(response)
    assert [(e.native_id, e.title, e.date) for e in reading.entries] == [
        ("1290", "MSIT Announces the Enforcement Decree of the AI Basic Act", "Jan 22, 2026")
    ]
    assert reading.entries[0].url == (
        "https://www.msit.go.kr/eng/bbs/view.do?sCode=eng&mId=4&mPid=2&bbsSeqNo=42&nttSeqNo=1290"
    )


def test_msit_korean_list_fragment() -> None:
    fragment = (FIXTURES / "msit/real/ko-board100-list-fragment.html").read_text(encoding="utf-8")
    response = html_response("https://www.msit.go.kr/bbs/list.do?sCode=user&mPid=121&mId=311",
                             f"<html><body>{fragment}</body></html>".encode())  # fmt: skip
    list_page, _ = page_objects(SOURCES["msit_ko"])
    entries = list_page.read(response).entries
    # Ids from the static wrapper anchors; titles from raw Korean unescape() pieces; the live
    # dates, not the `//` and `/* */` leftovers around them.
    assert [(e.native_id, e.title, e.date) for e in entries] == [
        ("3186887", "2026년도 제4차 과학기술분야 연구기획과제 공모", "2026. 10. 1"),
        ("3186884", "2026년도 한-스웨덴 공동연구사업 신규과제 선정결과 공고", "2026. 9. 23"),
    ]
    assert _local(entries[0].date, "Asia/Seoul").isoformat() == "2026-10-01T00:00:00+09:00"


def test_msit_legacy_page_gives_the_seed_without_its_chrome() -> None:
    url = "https://english.msit.go.kr/english/msipContents/contentsView.do?cateId=msse42&artId=1398784"
    _, fields = _read("msit", url, "msit/legacy/contentsView-1398784.html")
    assert fields.title == ("The 7th Korea-France Joint Coordinating Committee on Science and "
                            "Technology (July 6)")  # fmt: skip
    assert fields.body[0] == ("- Strengthen cooperation in cutting-edge fields (e.g. AI, climate "
                              "technology)")  # fmt: skip
    assert fields.body[-1].startswith("Director-General Kyung-hee Song of International")
    text = "\n".join(fields.body)
    for chrome in ("Go to Content", "Go to Navigation", "HOME News & Notice", "Move to the top"):
        assert chrome not in text
    # The page states no year ("July 6"): no date is made up for it.
    assert fields.published_raw is None

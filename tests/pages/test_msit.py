"""MSIT: rows read out of the list pages' inline jQuery (comments left out), the pager, and
the release pages (attachments behind script download calls)."""

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response
from scrapy.utils.test import get_crawler

from crawler.items import ReleaseItem
from crawler.source_registry import page_objects, spider_classes
from crawler.sources import sources_by_name
from spiders.msit import js_unescape, live_script, parse_list_script
from tests.support import fixture_response

MsitSpider = spider_classes()["msit"]
LIST_PAGE_OBJECT, DETAIL_PAGE_OBJECT = page_objects(sources_by_name()["msit"])
LIST = "https://www.msit.go.kr/eng/bbs/list.do?sCode=eng&mId=4&mPid=2&pageIndex={}"
VIEW = "https://www.msit.go.kr/eng/bbs/view.do?sCode=eng&mId=4&mPid=2&bbsSeqNo=42&nttSeqNo={}"
DOWNLOAD = "https://www.msit.go.kr/ssm/file/fileDown.do?atchFileNo={}&fileOrd={}&fileBtn=A"


def _html(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=body.encode("utf-8"), encoding="utf-8", request=Request(url))


def _spider():
    return MsitSpider.from_crawler(get_crawler(MsitSpider))


def _detail(url: str, entry: dict | None = None) -> ReleaseItem:
    items = list(_spider().parse_detail(fixture_response(url), entry=entry))
    assert len(items) == 1
    return items[0]


# --- %uXXXX / %XX decoder ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("escaped", "expected"),
    [
        ("Korea%20and%20UK", "Korea and UK"),
        ("%uD55C%uAD6D", "한국"),
        ("K-%uBC14%uC774%uC624", "K-바이오"),
        ("MSIT%u2019s%20Work%20Plan", "MSIT’s Work Plan"),
        ("Korea%u2013US%20%u00B7%20EU", "Korea–US · EU"),
        ("Korea%E2%80%93EU", "Korea–EU"),  # UTF-8 bytes, as a server-side URL encoder writes
        ("%ED%95%9C%EA%B5%AD", "한국"),
        ("Despr%E9aux", "Despréaux"),  # JS escape() writes Latin-1 code points as %XX
        ("%uD83D%uDE80", "🚀"),  # a surrogate pair
        ("%28July%206%29%3A", "(July 6):"),
        ("100%", "100%"),
        ("50%%20off", "50% off"),
        ("%zz%u12", "%zz%u12"),
        ("A+B", "A+B"),  # unescape leaves + alone
        ("", ""),
    ],
)
def test_js_unescape(escaped: str, expected: str) -> None:
    assert js_unescape(escaped) == expected


def test_js_unescape_lone_surrogate_is_replaced() -> None:
    assert js_unescape("a%uD83Db") == "a\ufffdb"



# --- list script ------------------------------------------------------------------------------
def test_rows_of_the_first_list_page() -> None:
    rows = parse_list_script(live_script(fixture_response(LIST.format(1))))
    assert [row.row for row in rows] == [str(n) for n in range(11)]
    assert [row.ntt_seq_no for row in rows] == [
        "1205", "1296", "1292", "1289", "1286", "1283", "1279", "1275", "1271", "1268", "1264",
    ]  # fmt: skip
    titles = {row.ntt_seq_no: row.title for row in rows}
    # Titles as the English board writes them: entities (&amp;) read, Korean words kept.
    assert titles["1205"] == "MSIT’s Work Plan for 2026"
    assert (
        titles["1275"] == "MSIT Presents 2026 Korea Science & Technology Awards to Six Researchers"
    )
    assert titles["1268"] == (
        "MSIT and Ministry of Health and Welfare Sign Cooperation Agreement"
        " on ‘K-바이오’ Data Platform"
    )
    # The live dates, not the leftovers in comments after them ("Jan 1, 2001").
    assert (rows[0].reg_dt, rows[0].date) == ("Jan 14, 2026", "Jan 14, 2026")
    assert rows[-1].date == "May 21, 2026"


def test_comments_are_not_read_as_statements() -> None:
    raw = fixture_response(LIST.format(1)).text
    assert "/*  $('#td_'+'NTT_SJ'+'_0')" in raw and "// $('#td_'+'REG_DT'+'_0')" in raw
    # Read without stripping comments, the stale statements would win (they come last).
    stale = parse_list_script(raw)[0]
    assert (stale.ntt_seq_no, stale.title, stale.date) == ("1", "draft", "Jan 1, 2001")
    live = parse_list_script(live_script(fixture_response(LIST.format(1))))[0]
    assert (live.ntt_seq_no, live.title, live.date) == ("1205", "MSIT’s Work Plan for 2026",
                                                        "Jan 14, 2026")  # fmt: skip


def test_rows_of_the_second_list_page() -> None:
    rows = parse_list_script(live_script(fixture_response(LIST.format(2))))
    assert [(row.ntt_seq_no, row.date) for row in rows] == [
        ("1236", "Mar 12, 2026"), ("1205", "Jan 14, 2026"), ("1071", "Dec 26, 2024"),
        ("1018", "Aug 27, 2024"), ("964", "Feb 13, 2024"), ("212", "Jul 6, 2018"),
    ]  # fmt: skip
    assert rows[5].title == (
        "The 7th Korea-France Joint Coordinating Committee on Science and Technology (July 6)"
    )


SCRIPT = r"""
var sHtml = replyHrml;
sHtml += ctgryHtml;
sHtml += unescape('First%20%uD0C0%uC774%uD2C0');
sHtml += newHtml;
$('#td_'+'NTT_SJ'+'_0').html('<a onclick="fn_detail(&quot;101&quot;)"><span>'+sHtml+'</span></a>');
$('#td_'+'REG_DT'+'_0').html('Jan 2, 2025');
var sHtml = replyHrml;
sHtml += unescape('Second');
$('#td_NTT_SJ_1').html('<a onclick="fn_detail(\'102\')">'+sHtml+'</a>');
$('#td_'+'PSTG_YMD'+'_1').html('2025-01-01');
$('#td_'+'REG_DT'+'_1').html('draft');
$('#td_'+'REG_DT'+'_1').html('Jan 1, 2025');
$('#td_'+'NTT_SJ'+'_2').html('<span>Rock \'n\' Roll &lt;Live&gt;</span>');
"""


def test_script_statements() -> None:
    rows = parse_list_script(SCRIPT)
    assert [(r.ntt_seq_no, r.title, r.date) for r in rows] == [
        ("101", "First 타이틀", "Jan 2, 2025"),  # pieces do not leak into the next row
        ("102", "Second", "Jan 1, 2025"),  # the last write to a cell wins, as in the browser
        (None, "Rock 'n' Roll <Live>", None),
    ]


def test_detail_id_from_anchor_around_the_cell() -> None:
    page = """<html><body>
      <input type="hidden" id="bbsSeqNo" name="bbsSeqNo" value="94">
      <ul><li><a href="#" onclick="fn_detail(3184474);"><div id="td_NTT_SJ_0"></div></a>
              <span id="td_REG_DT_0"></span></li>
          <li><a href="#" onclick="fn_detail(3184470);"><div id="td_NTT_SJ_1"></div></a></li></ul>
      <script>
        var sHtml = replyHrml; sHtml+= unescape('%uBCF4%uB3C4%uC790%uB8CC'); sHtml+= newHtml;
        $('#td_'+'NTT_SJ'+'_0').html(sHtml);
        $('#td_'+'REG_DT'+'_0').html('2024-05-12');
        var sHtml = replyHrml; sHtml+= unescape('Second'); $('#td_'+'NTT_SJ'+'_1').html(sHtml);
      </script></body></html>"""
    url = "https://www.msit.go.kr/bbs/list.do;jsessionid=AbC123.node1?sCode=user&mId=307&mPid=208"
    requests = list(_spider().parse(_html(url, page)))
    assert [r.url for r in requests] == [
        "https://www.msit.go.kr/bbs/view.do?sCode=user&mId=307&mPid=208&bbsSeqNo=94&nttSeqNo=3184474",
        "https://www.msit.go.kr/bbs/view.do?sCode=user&mId=307&mPid=208&bbsSeqNo=94&nttSeqNo=3184470",
    ]
    assert requests[0].cb_kwargs["entry"]["title"] == "보도자료"
    assert requests[0].cb_kwargs["entry"]["date"] == "2024-05-12"


def test_list_requests_and_the_fn_paging_pager() -> None:
    spider = _spider()
    first = list(spider.parse(fixture_response(LIST.format(1))))
    # The pager calls fn_paging(2): the board's pageIndex, one higher.
    assert [r.url for r in first if r.callback == spider.parse] == [LIST.format(2)]
    details = [r for r in first if r.callback == spider.parse_detail]
    assert len(details) == 11
    assert details[1].url == VIEW.format(1296)
    assert details[1].cb_kwargs["entry"]["title"] == (
        "Korea and UK Sign MoU on AI Safety Research Cooperation"
    )
    # The pinned notice repeats a release that page 2 lists again; page 2 is the last.
    second = list(spider.parse(fixture_response(LIST.format(2))))
    assert all(r.callback == spider.parse_detail for r in second)
    assert details[0].url in {r.url for r in second}


def test_next_page_from_plain_pager_links() -> None:
    page = """<html><body><div class="paging"><strong>3</strong>
      <a href="/eng/bbs/list.do?sCode=eng&amp;mId=4&amp;mPid=2&amp;pageIndex=4">4</a></div>
      <script>$('#td_'+'NTT_SJ'+'_0').html('<a onclick="fn_detail(&quot;7&quot;)">A</a>');</script>
      </body></html>"""
    spider = _spider()
    requests = list(spider.parse(_html(LIST.format(3), page)))
    assert [r.url for r in requests if r.callback == spider.parse] == [LIST.format(4)]


# --- detail pages -----------------------------------------------------------------------------
CHROME = (
    "Move to the top of the page",
    "Go to Content",
    "Go to Navigation",
    "Search Area",
    "HOME News & Notice",
    "담당부서",
    "작성자",
    "연락처",
    "Attachments",
    "Preview",
    "Copyright",
)
DETAILS = [1296, 1292, 1289, 1286, 1283, 1279, 1275, 1271, 1268, 1264, 1236, 1205, 1071, 1018,
           964, 212]  # fmt: skip


@pytest.mark.parametrize("number", DETAILS)
def test_no_chrome_in_bodies(number: int) -> None:
    item = _detail(VIEW.format(number))
    paragraphs = item["body"].split("\n\n")
    for text in CHROME:
        assert text not in item["body"], text
    assert paragraphs[0] != item["title"]  # the repeated title is gone
    assert "+82-44-" not in item["body"] and item["contact_org"] not in paragraphs
    assert item["field_stages"]["body"] == item["field_stages"]["title"] == "selectors"


def test_seed_release() -> None:
    item = _detail(VIEW.format(212), {"url": VIEW.format(212), "date": "Jul 6, 2018"})
    assert item["native_id"] == "212"
    assert item["published_raw"] == "2018-07-06"  # the page's own date, not the list's
    assert item["contact_org"] == "Bilateral Cooperation Division"
    paragraphs = item["body"].split("\n\n")
    assert paragraphs[0].startswith("- Strengthen cooperation in cutting-edge fields")
    assert paragraphs[1].startswith("- Hold 7th Korea-France Joint Coordinating Committee")
    assert "* CNAM : Conservatorie national des arts et métiers" in paragraphs


def test_attachments() -> None:
    item = _detail(VIEW.format(1296))
    assert item["attachments"] == [
        {
            "name": "(Press Release) Korea-UK MoU on AI Safety Research Cooperation.pdf",
            "url": DOWNLOAD.format("41532", "1"),
        },
        {
            "name": "(보도자료) 한-영 AI 안전 연구협력 양해각서 체결.hwpx",
            "url": DOWNLOAD.format("41532", "2"),
        },
    ]
    assert item["image_url"] == (
        "https://www.msit.go.kr/upload/eng/editor/2026/07/20260721_korea_uk_mou.jpg"
    )
    # Old pages call fn_download2('<no>','<ord>') without the extension.
    legacy = _detail(VIEW.format(212))
    assert legacy["attachments"] == [
        {
            "name": "(Press Release) 7th Korea-France Joint Coordinating Committee on S&T.hwp",
            "url": DOWNLOAD.format("10271", "1"),
        }
    ]
    # A page without files: the script's hidden download form is no attachment.
    assert _detail(VIEW.format(1264))["attachments"] == []


def test_list_date_when_the_page_has_none() -> None:
    response = fixture_response(VIEW.format(964))
    page = response.text.replace('<span class="date">2024-02-13</span>', "")
    entry = {"url": response.url, "date": "Feb 13, 2024"}
    item = next(_spider().parse_detail(_html(response.url, page), entry=entry))
    assert item["published_raw"] == "Feb 13, 2024"
    assert item["field_stages"]["published_raw"] == "list"


def test_one_item_even_for_an_empty_page() -> None:
    url = VIEW.format(999)
    items = list(_spider().parse_detail(_html(url, "<html><body></body></html>")))
    assert len(items) == 1
    item = items[0]
    assert item["native_id"] == "999"
    for field in ("title", "published_raw", "contact_org", "image_url"):
        assert item.get(field) is None, field
    assert item["body"] == "" and item["attachments"] == []  # validation drops it
    titled = next(_spider().parse_detail(_html(url, "<html></html>"),
                                         entry={"url": url, "title": "From list"}))  # fmt: skip
    assert titled["title"] == "From list"


def test_one_item_for_a_response_that_is_not_a_page() -> None:
    url = VIEW.format(998)
    response = Response(url=url, body=b"%PDF-1.7", request=Request(url))
    items = list(_spider().parse_detail(response, entry={"url": url, "title": "From list",
                                                         "native_id": "998"}))  # fmt: skip
    assert len(items) == 1
    assert (items[0]["native_id"], items[0]["title"]) == ("998", "From list")
    assert items[0].get("body") is None

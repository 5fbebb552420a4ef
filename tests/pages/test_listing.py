"""List pages: every known pager form, discovery of release links without the page's chrome,
and finding a list through a menu. The pages are small synthetic snippets, one per form;
the real pagers and menus are tested on real pages in test_real_pages.py."""

from __future__ import annotations

import pytest

from crawler.pages.listing import ListPage, discover_entries, find_list_url, next_page_url
from crawler.pages.page import html_response
from crawler.sources import DiscoverOptions, parse_sources

LIST = "https://www.example.go.kr/news/list.do?sCode=eng"


def _page(body: str, url: str = LIST):
    return html_response(url, f"<html><body>{body}</body></html>".encode())


@pytest.mark.parametrize(
    ("url", "pager", "expected"),
    [
        # Plain links with a page parameter (whatever its case).
        (LIST, '<a href="list.do?sCode=eng&page=2">2</a>', "page=2"),
        (LIST, '<a href="list.do?sCode=eng&pageNum=2&pageSize=10">2</a>', "pageNum=2"),
        (LIST + "&pageIndex=4", '<a href="list.do?sCode=eng&pageIndex=5">5</a>', "pageIndex=5"),
        # eGovFrame and MSIT script pagers: the page's hidden field names the parameter.
        (LIST, '<input type="hidden" id="pageIndex" name="pageIndex" value="1">'
               '<a href="javascript:;" onclick="fn_paging(2);">2</a>', "pageIndex=2"),
        (LIST, '<a href="#" onclick="fn_egov_link_page(2); return false;">2</a>', "pageIndex=2"),
        # korea.kr: pageLink(N) writes #pageIndex and submits the search form.
        (LIST, '<form id="mainForm"><input type="hidden" id="pageIndex" name="pageIndex" '
               'value="1"></form><a href="#pageLink" onclick="pageLink(2)">2</a>', "pageIndex=2"),
    ],
)  # fmt: skip
def test_next_page_through_every_pager_form(url: str, pager: str, expected: str) -> None:
    found = next_page_url(_page(f"<ul><li>a release</li></ul>{pager}", url))
    assert found is not None and expected in found


def test_a_pager_form_is_submitted_with_the_next_page_number() -> None:
    form = ('<span class="ttt">Total 30 items, page 1/3, </span><form action="/news/list?view=l"'
            ' method="get"><input type="hidden" name="l" value="en"><input name="pageSize" '
            'value="10"><input name="pageNum" value="1"><button type="submit">Go</button></form>')
    url = "https://www.example.go.kr/news/list?l=en"
    found = next_page_url(_page(form, url))
    assert found == "https://www.example.go.kr/news/list?view=l&l=en&pageSize=10&pageNum=2"
    # The last page says so: no request past the end.
    assert next_page_url(_page(form.replace("page 1/3", "page 3/3").replace('"1"', '"3"'),
                               url)) is None  # fmt: skip
    assert next_page_url(_page(form.replace("Total 30 items, page 1/3, ", "共 2 筆資料，第 1/1 頁"),
                               url)) is None  # fmt: skip


def test_no_pager_means_no_next_page() -> None:
    assert next_page_url(_page('<a href="/about">About</a>')) is None


SOURCES = """
[[source]]
name = "example"
agency = "Example Ministry"
agency_country = "KR"
language = "en"
timezone = "Asia/Seoul"
start_urls = ["https://www.example.go.kr/news/list.do"]

[source.list]
item = "ul.news > li"
title = "a::text"
link_pattern = '/news/view\\.do\\?id=\\d+'
id_pattern = '[?&]id=(\\d+)'
skip_titles = ["Notice:"]
"""
CHROME = """<div class="header"><a href="/news/view.do?id=1">Latest: menu link</a></div>
<div class="left_menu"><a href="/news/view.do?id=2">Menu entry</a></div>
<div class="footer"><a href="/news/view.do?id=3">Privacy policy</a></div>"""


def _list_page() -> ListPage:
    (config,) = parse_sources(SOURCES)
    return ListPage(config)


def test_discovery_when_the_list_selectors_match_nothing() -> None:
    content = """<div class="board"><div class="row"><a href="/news/view.do?id=11">
      <span class="date">2026-03-12</span><strong>Korea and Chile sign an MoU</strong></a></div>
      <div class="row"><a href="/news/view.do?id=12" title="Ministers meet">Ministers meet</a>
      <span>2026.03.10</span></div>
      <div class="row"><a href="/news/view.do?id=13">Notice: system maintenance</a></div></div>"""
    reading = _list_page().read(_page(CHROME + content))
    assert reading.stage == "discovery" and "1 found" not in reading.problem
    assert [(e.native_id, e.title, e.date) for e in reading.entries] == [
        ("11", "Korea and Chile sign an MoU", "2026-03-12"),
        ("12", "Ministers meet", "2026.03.10"),
    ]  # the menu, header and footer links are not releases; the notice is skipped


def test_selectors_that_match_are_used_and_nothing_is_discovered() -> None:
    content = '<ul class="news"><li><a href="/news/view.do?id=21">A release</a></li></ul>'
    reading = _list_page().read(_page(CHROME + content))
    assert reading.stage == "selectors" and reading.problem is None
    assert [e.native_id for e in reading.entries] == ["21"]


def test_discover_entries_keeps_page_order_and_one_entry_per_release() -> None:
    content = ('<main><a href="/news/view.do?id=7"><img src="x.jpg"></a>'
               '<a href="/news/view.do?id=7">Title seven</a>'
               '<a href="/news/view.do?id=5">Five</a>'
               '<a href="javascript:void(0)">x</a><a href="mailto:a@b">m</a></main>')
    found = discover_entries(_page(content), r"/news/view\.do\?id=\d+")
    assert [(e.url.rsplit("=", 1)[1], e.title) for e in found] == [("7", "Title seven"),
                                                                 ("5", "Five")]  # fmt: skip


def test_a_list_is_found_through_a_menu_by_the_links_text() -> None:
    menu = """<div class="main-menu"><a href="/folksonomy/list/aaa?l=en">About</a>
      <a href="/folksonomy/list/bbb?l=en">News &amp; Events</a>
      <a href="/folksonomy/list/ccc?l=en"> Press Releases </a></div>"""
    options = DiscoverOptions(
        page="https://www.example.gov.tw/?l=en",
        link_text=[r"^\s*Press\s+Releases?\s*$", r"News"],
        link_pattern="/folksonomy/list/",
    )
    response = html_response("https://www.example.gov.tw/?l=en", menu.encode())
    assert find_list_url(response, options) == "https://www.example.gov.tw/folksonomy/list/ccc?l=en"
    # Patterns are tried in order: the more specific first.
    options = options.model_copy(update={"link_text": [r"News"]})
    assert find_list_url(response, options) == "https://www.example.gov.tw/folksonomy/list/bbb?l=en"
    options = options.model_copy(update={"link_text": [r"Calls"]})
    assert find_list_url(response, options) is None

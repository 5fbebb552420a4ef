"""Generic extraction (trafilatura + htmldate): the fallback for pages selectors do not fit."""

from __future__ import annotations

import socket

import pytest
from scrapy.http import HtmlResponse, Request, Response

from crawler.pages.generic import EMPTY, extract_html
from tests.support import fixture_response

# A ministry page in markup no spider knows: header, menu, breadcrumb, a sidebar, a share bar
# and a footer around the article; the date is only in the text.
UNKNOWN_MARKUP = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Korea and Chile expand joint research on lithium recycling | News | Example Ministry</title>
<meta name="description" content="Ministry of Examples">
</head><body>
<header class="site-top"><a href="/">Example Ministry of Science</a>
  <nav class="gnb"><ul><li><a href="/about">About the Ministry</a></li>
  <li><a href="/policy">Policy Briefings</a></li><li><a href="/news">Newsroom</a></li></ul></nav>
</header>
<div class="crumbs"><a href="/">Home</a> &gt; <a href="/news">Newsroom</a> &gt; Releases</div>
<div class="layout">
<aside class="side-menu"><h3>Newsroom</h3><ul><li><a href="/news/releases">Press releases</a></li>
  <li><a href="/news/photos">Photo gallery</a></li>
  <li><a href="/news/videos">Video clips</a></li></ul>
  <div class="banner">Subscribe to the weekly science newsletter for updates</div></aside>
<div class="contents-area">
  <div class="post-head"><h1>Korea and Chile expand joint research on lithium recycling</h1>
    <span class="meta">Posted on 12 March 2024 · Views 1,204</span></div>
  <div class="post-body">
    <p>The Example Ministry of Science and the Chilean Agency for Research and Development
    signed an agreement in Santiago on Monday to expand joint research on lithium recycling
    and battery materials over the next five years.</p>
    <p>Under the agreement, the two countries will open a joint laboratory in Antofagasta,
    exchange twenty researchers each year and fund six collaborative projects on recovering
    lithium from used batteries.</p>
    <p>The minister said that the partnership would strengthen supply chains for critical
    minerals in both countries and help industry reach its recycling targets by 2030.</p>
  </div>
  <div class="share-bar"><a href="#">Share on Facebook</a> <a href="#">Print this page</a></div>
</div></div>
<footer class="site-footer"><p>Copyright 2024 Example Ministry. All rights reserved.</p>
  <p>Government Complex Sejong, 477 Galmae-ro, Sejong-si</p></footer>
</body></html>"""

URL = "https://www.example.go.kr/news/releases/view.do?id=2024-031"

CHROME = (
    "About the Ministry",
    "Policy Briefings",
    "Photo gallery",
    "Subscribe to the weekly",
    "Share on Facebook",
    "Print this page",
    "Copyright",
    "Galmae-ro",
    "Views 1,204",
)


def html_response(url: str, html: str | bytes) -> HtmlResponse:
    body = html.encode("utf-8") if isinstance(html, str) else html
    return HtmlResponse(url=url, body=body, encoding="utf-8", request=Request(url))


def generic_extract(response: Response):
    """Generic extraction of a response, as the chain's last stage runs it."""
    if not isinstance(response, HtmlResponse):
        return EMPTY
    return extract_html(response.text, response.url)


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection or resolve a name fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_unknown_markup_yields_title_body_paragraphs_and_date(no_network: None) -> None:
    found = generic_extract(html_response(URL, UNKNOWN_MARKUP))
    assert found.title is not None and found.title.startswith(
        "Korea and Chile expand joint research on lithium recycling"
    )
    paragraphs = found.body
    assert len(paragraphs) == 3
    assert paragraphs[0].startswith("The Example Ministry of Science and the Chilean Agency")
    assert paragraphs[2].endswith("recycling targets by 2030.")
    # The headline is not repeated as the first paragraph of the body.
    assert not paragraphs[0].startswith("Korea and Chile")
    assert found.published_raw == "2024-03-12"
    # A site slogan in the description is no summary.
    assert found.summary is None


def test_generic_body_has_no_navigation_or_footer_text(no_network: None) -> None:
    body = "\n".join(generic_extract(html_response(URL, UNKNOWN_MARKUP)).body)
    for chrome in CHROME:
        assert chrome not in body


def test_date_metadata_is_read_and_original_date_preferred(no_network: None) -> None:
    html = UNKNOWN_MARKUP.replace(
        "<title>",
        '<meta property="article:published_time" content="2024-03-11T09:00:00+09:00">'
        '<meta property="article:modified_time" content="2024-04-02T10:00:00+09:00"><title>',
    )
    assert generic_extract(html_response(URL, html)).published_raw == "2024-03-11"


def test_url_shaped_input_is_never_fetched(no_network: None) -> None:
    # htmldate and trafilatura download a string that looks like a URL; the page is parsed
    # first, so such a body is just (no) text.
    found = generic_extract(html_response(URL, "https://www.example.org/press/1"))
    assert found.body == []


def test_non_html_response_gives_nothing() -> None:
    response = Response(url=URL, body=b"%PDF-1.4 ...", request=Request(URL))
    assert generic_extract(response).body == []


def test_long_description_is_a_summary_and_relative_image_is_absolute() -> None:
    description = "Korea and Chile will open a joint lithium recycling laboratory in Antofagasta."
    html = UNKNOWN_MARKUP.replace(
        '<meta name="description" content="Ministry of Examples">',
        f'<meta name="description" content="{description}">'
        '<meta property="og:image" content="/upload/photo-2024-031.jpg">',
    )
    found = extract_html(html, URL)
    assert found.summary == description
    assert found.image_url == "https://www.example.go.kr/upload/photo-2024-031.jpg"


# --- in the fallback chain ---------------------------------------------------------------


def nstc_spider():
    """The nstc source's spider, as `scrapy crawl nstc` builds it."""
    from scrapy.crawler import Crawler
    from scrapy.spiderloader import get_spider_loader

    from crawler.project import project_settings

    settings = project_settings()
    spidercls = get_spider_loader(settings).load("nstc")
    return spidercls.from_crawler(Crawler(spidercls, settings))


def test_real_spider_page_after_a_markup_change_falls_back(no_network: None) -> None:
    """NSTC renames its article container: the selectors find no body any more, generic
    extraction finds it, and the release says which stage filled what."""
    spider = nstc_spider()
    url = "https://www.nstc.gov.tw/folksonomy/detail/d82a8144-43dc-412b-9d71-4aa310c72fd6?l=en"
    saved = fixture_response(url)
    original = next(iter(spider.parse_detail(saved)))
    assert original["field_stages"]["body"] == "selectors"
    changed = saved.replace(
        body=saved.body.replace(b'id="articleContent"', b'id="articleBody"')
        .replace(b"articleTitle", b"pageTitle")
    )
    item = next(iter(spider.parse_detail(changed)))
    assert item["extraction"] == "generic"
    assert item["field_stages"]["body"] == item["field_stages"]["title"] == "generic"
    assert item["title"] == original["title"]
    assert item["published_raw"] == "2023-11-29"  # the Date: label is read wherever it is
    # Every paragraph the selectors used to find is in the generic body, and nothing else.
    assert item["body"] == original["body"]

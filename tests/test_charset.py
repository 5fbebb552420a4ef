"""A valid UTF-8 body declared us-ascii or Latin-1 is read as UTF-8 (korea.kr's feeds)."""

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.charset import Utf8OverDeclarationMiddleware, misdeclared_utf8, with_charset

FEED = (
    '<?xml version="1.0" encoding="UTF-8"?><rss><channel><title>정책브리핑</title></channel></rss>'
)
KOREAN = FEED.encode("utf-8")


@pytest.mark.parametrize(
    ("content_type", "body", "misdeclared"),
    [
        ("text/xml;charset=us-ascii", KOREAN, True),
        ("text/html; charset=ISO-8859-1", "<p>日本語</p>".encode(), True),
        ("text/html; charset=windows-1252", "<p>café</p>".encode(), True),
        ("text/xml", KOREAN.replace(b' encoding="UTF-8"', b""), True),  # RFC 3023 default
        ("text/xml; charset=utf-8", KOREAN, False),  # declared right
        ("text/xml;charset=us-ascii", b"<rss>plain ascii</rss>", False),  # every reading agrees
        ("text/html; charset=iso-8859-1", "<p>café</p>".encode("latin-1"), False),  # real Latin-1
        ("text/html; charset=euc-kr", "<p>정책</p>".encode("euc-kr"), False),  # not a weak label
        ("application/xml", KOREAN, False),  # the XML declaration says UTF-8
    ],
)
def test_misdeclared_utf8(content_type: str, body: bytes, misdeclared: bool) -> None:
    assert misdeclared_utf8(content_type, body) is misdeclared


def test_with_charset_replaces_or_adds() -> None:
    assert with_charset("text/xml;charset=us-ascii", "utf-8") == "text/xml; charset=utf-8"
    assert with_charset("application/rss+xml", "utf-8") == "application/rss+xml; charset=utf-8"


def _middleware() -> tuple[Utf8OverDeclarationMiddleware, object]:
    crawler = get_crawler()
    return Utf8OverDeclarationMiddleware.from_crawler(crawler), crawler.stats


def test_middleware_rewrites_the_declaration() -> None:
    middleware, stats = _middleware()
    url = "https://www.korea.kr/rss/dept_msit.xml"
    headers = {"Content-Type": "text/xml;charset=us-ascii"}
    response = XmlResponse(url, body=KOREAN, headers=headers, request=Request(url))
    assert "정책브리핑" not in response.text  # as declared: mojibake
    fixed = middleware.process_response(response.request, response)
    assert fixed.headers[b"Content-Type"] == b"text/xml; charset=utf-8"
    assert "정책브리핑" in fixed.text
    assert stats.get_value("charset/utf8_over_declaration") == 1


def test_middleware_leaves_right_declarations_alone() -> None:
    middleware, stats = _middleware()
    url = "https://example.org/"
    body = "<p>café</p>".encode("latin-1")
    response = HtmlResponse(
        url, body=body, headers={"Content-Type": "text/html; charset=iso-8859-1"},
        request=Request(url),
    )  # fmt: skip
    assert middleware.process_response(response.request, response) is response
    assert stats.get_value("charset/utf8_over_declaration") is None

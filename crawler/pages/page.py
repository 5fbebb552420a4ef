"""One fetched page as page objects see it: the response, and what is derived from it once
(the page without its chrome, its generic extraction), so no stage computes them twice."""

from __future__ import annotations

from functools import cached_property
from typing import TypeGuard

from lxml.html import HtmlElement
from parsel import Selector
from scrapy.http import HtmlResponse, JsonResponse, Response, TextResponse

from crawler.extract import paragraphs
from crawler.pages.chrome import strip_chrome, without_chrome_lines
from crawler.pages.generic import GenericExtraction, extract_tree
from crawler.pages.titles import site_names


def is_page(response: Response) -> TypeGuard[TextResponse]:
    """Whether page objects can read ``response``: text that CSS selectors apply to. A JSON
    answer is text but not a page (parsel refuses CSS on it): like an image, it is no
    release page, whatever its bytes say (issue 18: a body posing as a stored feed entry)."""
    return isinstance(response, TextResponse) and not isinstance(response, JsonResponse)


class PageContext:
    def __init__(self, response: TextResponse, names: list[str] | tuple[str, ...] = ()) -> None:
        self.response = response
        self.url = response.url
        self._names = list(names)

    @cached_property
    def names(self) -> list[str]:
        """Folded names of the site, for titles: the source's, plus the page's own."""
        own = self.response.css('meta[property="og:site_name"]::attr(content)').getall()
        return site_names(self._names, own)

    @cached_property
    def document(self) -> HtmlElement:
        return self.response.selector.root

    @cached_property
    def content(self) -> Selector:
        """The page's ``<body>`` without its chrome."""
        body = self.document.find("body")
        root = strip_chrome(body if body is not None else self.document)
        return Selector(root=root, type="html")

    @cached_property
    def lines(self) -> list[str]:
        """The text of the page without its chrome, one paragraph (line) each."""
        return without_chrome_lines(paragraphs(self.content))

    @cached_property
    def generic(self) -> GenericExtraction:
        return extract_tree(self.document, self.url, self.names)


def html_response(url: str, body: bytes, encoding: str | None = None) -> HtmlResponse:
    """A response for a saved page (``stnews extract``, doctor replays, tests, reparse)."""
    return HtmlResponse(url=url, body=body, encoding=encoding)

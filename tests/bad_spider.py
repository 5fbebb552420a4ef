"""A minimal site spider for the safety tests: it follows every link a list page holds.

Real spiders follow only links shaped like their site's detail pages; this one follows
anything (``javascript:``, ``file:``, private addresses, other hosts), which is what an
attacker-controlled page would need to steer a crawler. Loaded with
``-s SPIDER_MODULES=tests.bad_spider``.

Markup: a list page's links are ``a.release`` (detail pages) and ``a.next`` (list pages);
a detail page has ``h1`` (title), ``.date`` and ``.body p`` paragraphs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response, TextResponse

from crawler.extract import text_of
from crawler.items import ReleaseItem
from crawler.release_spider import LIST_PAGE, ReleaseSpider

ORIGIN = "https://www.badsite.test"  # .test: reserved, never a real host (RFC 2606)


class BadSiteSpider(ReleaseSpider):
    name = "badsite"
    agency = "Test Agency"
    agency_country = "TW"
    language = "en"
    timezone = "Asia/Taipei"
    allowed_domains: ClassVar[list[str]] = ["www.badsite.test"]
    # The second start URL redirects away (fixtures/bad/badsite): start requests bypass
    # Scrapy's offsite filter, redirects of them too.
    start_urls: ClassVar[list[str]] = [f"{ORIGIN}/list", f"{ORIGIN}/start-redirect"]

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        if not isinstance(response, TextResponse):
            return
        for href in response.css("a.release::attr(href)").getall():
            try:
                yield Request(response.urljoin(href), callback=self.parse_detail)
            except ValueError:  # Scrapy itself refuses URLs like "javascript:..."
                self.logger.info("not a URL to follow: %s", href)
        for href in response.css("a.next::attr(href)").getall():
            yield Request(response.urljoin(href), callback=self.parse, meta=LIST_PAGE)

    def parse_detail(self, response: Response, **kwargs: Any) -> Iterator[ReleaseItem]:
        if not isinstance(response, TextResponse):
            return
        yield self.release_item(
            response,
            native_id=urlsplit(response.url).path.rstrip("/").rsplit("/", 1)[-1] or None,
            title=text_of(response.css("h1")[:1]) or None,
            published_raw=text_of(response.css(".date")[:1]) or None,
            body="\n\n".join(text_of(p) for p in response.css(".body p")),
        )

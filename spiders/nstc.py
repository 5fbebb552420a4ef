"""Taiwan National Science and Technology Council (NSTC): English news releases.

The English news list is a "folksonomy" topic list of server-rendered HTML: each release
is an ``<a>`` (date and ``h3`` title inside) directly under ``#templateJ div.news_list``,
paged with ``pageNum=N``. Detail pages carry the title, an optional summary and photo,
the body, then ``Date:`` / ``Source:`` labels and ``/nstc/attachments/<uuid>`` links.
"""

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from parsel import SelectorList
from scrapy import Request
from scrapy.http import Response

from crawler.extract import paragraphs, text_of
from crawler.items import ReleaseItem
from crawler.release_spider import LIST_PAGE, ReleaseSpider, listing

ORIGIN = "https://www.nstc.gov.tw"
DETAIL_UUID = re.compile(
    r"/folksonomy/detail/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})",
    re.IGNORECASE,
)
UUID_SHAPE = re.compile(r"^[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}$", re.IGNORECASE)
# Fixed notices (disclaimer, fraud warning) are pinned to every list; they are not news.
FIXED_NOTICE_MARKERS = ("免責聲明", "詐騙")
# "Date: 2023-11-29" and "Source: National Science and Technology Council" follow the body.
LABEL = re.compile(r"^(?P<name>Date|Source)\s*[:：]\s*(?P<value>.*)$", re.IGNORECASE)
ATTACHMENT_LINKS = 'a[href*="/nstc/attachments/"]'


class NstcSpider(ReleaseSpider):
    """Source metadata (agency, start URL with the English list's uuid, domains) comes from
    the `nstc` entry of sources.toml."""

    def __init__(
        self,
        *args: Any,
        list_uuid: str | None = None,
        start_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, start_url=start_url, **kwargs)
        # `-a list_uuid=...` reads another topic list; `-a start_url=` wins over it.
        if list_uuid:
            if not UUID_SHAPE.match(list_uuid):
                raise ValueError(f"list_uuid is not a uuid: {list_uuid!r}")
            if not start_url:
                self.start_urls = [f"{ORIGIN}/folksonomy/list/{list_uuid}?l=en"]

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        """Follow every release on a list page, then the next list page.

        @url https://www.nstc.gov.tw/folksonomy/list/6bdef02b-46ee-4659-a2c4-09883339f721?l=en
        @returns requests 11 11
        @returns items 0 0
        """
        entries = response.css("#templateJ div.news_list > a")
        followed = 0
        for entry in entries:
            heading = entry.css("h3")[:1]
            if any(marker in text_of(heading) for marker in FIXED_NOTICE_MARKERS):
                continue
            href = entry.attrib.get("href", "")
            if not DETAIL_UUID.search(href):
                continue
            followed += 1
            title = _title_text(heading) or None
            date = text_of(entry.css(".date")[:1]) or None
            yield Request(
                _normalize_detail_url(response.urljoin(href)),
                callback=self.parse_detail,
                cb_kwargs={"list_title": title, "list_date": date},
                meta=listing(DETAIL_UUID.search(href).group(1).lower(), title, date),
            )
        # A page past the end still renders the pager; stop where the releases stop.
        if followed and (next_url := _next_page_url(response)):
            yield Request(next_url, callback=self.parse, meta=LIST_PAGE)

    def parse_detail(
        self,
        response: Response,
        list_title: str | None = None,
        list_date: str | None = None,
        **kwargs: Any,
    ) -> Iterator[ReleaseItem]:
        """One release. The list's title and date stand in where the page lacks its own.

        @url https://www.nstc.gov.tw/folksonomy/detail/d82a8144-43dc-412b-9d71-4aa310c72fd6?l=en
        @returns items 1 1
        @returns requests 0 0
        @scrapes title url published_raw body
        """
        article = response.css(".news_detail")
        content = article.css(".editor")[:1]
        body = paragraphs(content[0]) if content else []
        labels: dict[str, str] = {}
        for info in article.css(".news_info"):
            for match in filter(None, map(LABEL.match, paragraphs(info))):
                labels.setdefault(match["name"].lower(), match["value"])
        # The labels may also be typed into the body itself, as its last lines.
        while body and (match := LABEL.match(body[-1])):
            labels.setdefault(match["name"].lower(), match["value"])
            body.pop()

        uuid = DETAIL_UUID.search(response.url)
        image = article.css(".detail_header img::attr(src)").get()
        yield self.release_item(
            response,
            native_id=uuid.group(1).lower() if uuid else None,
            title=_title_text(article.css(".detail_title")[:1]) or list_title,
            published_raw=labels.get("date") or list_date,
            summary=text_of(article.css(".detail_header .summary")[:1]) or None,
            image_url=response.urljoin(image) if image else None,
            body="\n\n".join(body),
            attachments=_attachments(article, response),
        )


def _title_text(heading: SelectorList) -> str:
    """A heading's own text: child elements are markers such as the pinned `.news_top`."""
    if not heading:
        return ""
    own = " ".join(" ".join(heading.xpath("./text()").getall()).split())
    # Should the title itself ever sit in a child element, keep it but still drop the marker.
    return own or " ".join(paragraphs(heading[0], drop=[".news_top"]))


def _normalize_detail_url(url: str) -> str:
    """The site serves `l=EN` and `l=en` alike; request one spelling of each release."""
    parts = urlsplit(url)
    query = [
        (name, value.lower() if name.lower() == "l" else value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _page_number(url: str) -> int:
    for name, value in parse_qsl(urlsplit(url).query):
        if name.lower() == "pagenum" and value.strip().isdigit():
            return int(value)
    return 1


def _next_page_url(response: Response) -> str | None:
    """The pager link to the page after this one, whatever the pager's markup."""
    wanted = _page_number(response.url) + 1
    list_path = urlsplit(response.url).path
    for href in response.css('#templateJ a[href*="pageNum="]::attr(href)').getall():
        url = response.urljoin(href)
        if urlsplit(url).path == list_path and _page_number(url) == wanted:
            return url
    return None


def _attachments(article: SelectorList, response: Response) -> list[dict[str, str]]:
    """Downloadable files; the photo's link points under /nstc/attachments/ too, so skip it."""
    found: dict[str, str] = {}
    # The download list names files properly; a link in the text may just say "guidelines".
    for link in [
        *article.css(f".file_download {ATTACHMENT_LINKS}"),
        *article.css(ATTACHMENT_LINKS),
    ]:
        if link.css("img"):
            continue
        url = response.urljoin(link.attrib["href"])
        name = text_of(link) or link.attrib.get("title", "").strip()
        if name and url not in found:
            found[url] = name
    return [{"name": name, "url": url} for url, name in found.items()]

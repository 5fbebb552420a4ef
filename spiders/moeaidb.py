"""English news of Taiwan's MOEA Industrial Development Administration (IDA).

The agency was the Industrial Development Bureau (IDB) until 26 Sep 2023, when it became
the IDA and its site moved from www.moeaidb.gov.tw to www.ida.gov.tw. The
``ctlr?PRO=<module>.<action>`` routes stayed the same, and the news list still links older
releases on the old host, which redirects to the new one; the release `id` is the same on
both hosts.

Page layout (one CMS, every page class prefixed ``idb``):

- list: ``li.idbDataItem`` holding ``span.idbDate``, an optional category badge and an
  ``.idbSubject a`` whose ``title`` attribute is either the full title or a summary;
  ``.idbPagination a.idbNext`` leads to the next page.
- detail: breadcrumb in ``div.idbBreadcrumbArea`` outside the content; ``div.idbContent``
  holds the title, a "Published at / Last modified at" list, the text, attachments, a
  contact list, a view counter and share buttons.
"""

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from parsel import Selector, SelectorList
from scrapy import Request
from scrapy.http import Response, TextResponse

from crawler.extract import paragraphs, text_of
from crawler.items import ReleaseItem
from crawler.release_spider import LIST_PAGE, ReleaseSpider, listing

# Parts of the content block that are not release text.
NOT_BODY = (
    ".idbBreadcrumbArea",
    ".idbContentTitle",
    ".idbNewsInfo",  # Published at / Last modified at
    ".idbNewsPhoto",  # image and its caption
    ".idbFileArea",  # attachments
    ".idbContact",
    ".idbViewCount",
    ".idbShare",
)
# Label lines of the page's chrome. The CSS above already removes them; this also keeps them
# out of the text should a page put them somewhere else.
_CHROME_LINE = re.compile(
    r"^(published at|last modified at|contact (organization|person|phone)|number of views)"
    r"\s*[:：]",
    re.IGNORECASE,
)
# "Label: value" list items; the site writes the colon half- or full-width, with or without
# a space after it ("Contact Organization:Industrial Policy Division").
_LABELLED = re.compile(r"^(?P<label>[A-Za-z ]+?)\s*[:：]\s*(?P<value>.*)$")
# Descriptions the site gives every page; they say nothing about the release.
SITE_WIDE_DESCRIPTIONS = frozenset(
    {
        "industrial development administration, ministry of economic affairs",
        "industrial development bureau, ministry of economic affairs",
    }
)


def release_id(url: str) -> str | None:
    """The release's `id` query parameter, which both hosts share, or None."""
    values = parse_qs(urlsplit(url).query).get("id", [])
    value = values[0].strip() if values else ""
    return value if value.isdigit() else None


class MoeaIdbSpider(ReleaseSpider):
    """Source metadata (agency, the English list URL, both hosts) comes from the `moeaidb`
    entry of sources.toml."""

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        """A page of the news list: one request per release, then the next list page.

        @url https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsList&lang=1&type=news&page=1
        @returns requests 11 11
        @returns items 0 0
        """
        entries = response.css("li.idbDataItem")
        for entry in entries:
            link = entry.css(".idbSubject a[href]") or entry.css("a[href]")
            if not link:
                continue
            shown_title = text_of(link[0])
            summary = _list_summary(shown_title, link[0].attrib.get("title", ""))
            href = link[0].attrib["href"]
            yield response.follow(
                href,
                callback=self.parse_detail,
                cb_kwargs={"list_summary": summary} if summary else {},
                meta=listing(
                    release_id(response.urljoin(href)),
                    shown_title,
                    text_of(entry.css(".idbDate")[:1]) or None,
                ),
            )
        next_page = response.css(".idbPagination a.idbNext::attr(href)").get()
        # An empty page past the end may still show the pager; stop there.
        if entries and next_page:
            yield response.follow(next_page, callback=self.parse, meta=LIST_PAGE)

    def parse_detail(
        self, response: Response, list_summary: str | None = None, **kwargs: Any
    ) -> Iterator[ReleaseItem]:
        """One release page. Always one item, however little was found on the page.

        @url https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsView&lang=1&id=16742
        @returns items 1 1
        @returns requests 0 0
        @scrapes title url published_raw body
        """
        page = response.selector if isinstance(response, TextResponse) else Selector(text="")
        content = page.css("div.idbContent")
        labelled = _labelled_lines(content)
        image = content.css(".idbNewsPhoto img::attr(src), .idbArticle img::attr(src)").get()
        yield self.release_item(
            response,
            native_id=release_id(response.url),
            title=text_of(content.css(".idbContentTitle")) or None,
            published_raw=labelled.get("published at"),
            modified_raw=labelled.get("last modified at"),
            body="\n\n".join(_body(content)),
            summary=_page_summary(page) or list_summary,
            image_url=response.urljoin(image) if image else None,
            attachments=[
                {"name": text_of(link), "url": response.urljoin(link.attrib["href"])}
                for link in content.css(".idbFileArea a[href]")
            ],
            contact_org=labelled.get("contact organization"),
        )


def _list_summary(shown_title: str, title_attribute: str) -> str | None:
    """The list link's `title` attribute when it is a summary rather than the title.

    Older entries put the full title there (the link text may be cut with "..."), newer
    ones a one-sentence summary.
    """
    title_attribute = " ".join(title_attribute.split())
    shown = shown_title.rstrip(".… ")
    if not title_attribute or title_attribute.startswith(shown):
        return None
    return title_attribute


def _page_summary(page: Selector) -> str | None:
    description = " ".join(
        (page.css('meta[name="description"]::attr(content)').get() or "").split()
    )
    if not description or description.lower() in SITE_WIDE_DESCRIPTIONS:
        return None
    return description


def _labelled_lines(content: SelectorList) -> dict[str, str]:
    """Values of the content's "Label: value" list items, keyed by lower-case label."""
    values: dict[str, str] = {}
    for line in content.css("li"):
        match = _LABELLED.match(text_of(line))
        if match and match["value"]:
            values.setdefault(match["label"].strip().lower(), match["value"].strip())
    return values


def _body(content: SelectorList) -> list[str]:
    if not content:
        return []
    return [
        paragraph
        for paragraph in paragraphs(content[0], drop=NOT_BODY)
        if not _CHROME_LINE.match(paragraph)
    ]

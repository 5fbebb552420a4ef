"""Taiwan NSTC: static English pages monitored for changes (not news releases).

Each page in `page_urls` is fetched on every crawl and yields one `PageSnapshotItem` with
its main text; `crawler.page_monitor` decides whether the text changed. The pages follow
the NSTC template: header, main menu, breadcrumb, the content in ``.editor``, a print/share
bar, a ``Last Modified :`` stamp after the content, and the footer.
"""

import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from parsel import Selector
from scrapy import Request
from scrapy.http import Response

from crawler.extract import paragraphs, text_of
from crawler.items import PageSnapshotItem
from crawler.release_spider import FromSource, SourceSpider

ORIGIN = "https://www.nstc.gov.tw"
# Where the content may sit, most specific first: unit sub-site pages are not all known.
CONTENT = (".editor", "main .container", "main", "body")
# Page furniture that can sit inside a broad content region.
CHROME = (
    "header", "nav", "footer", "form", "script", ".breadcrumb", ".accesskey", ".goCenter",
    ".goTop", ".page_title", ".func_bar", ".update_info", ".news_info", ".page_box",
)  # fmt: skip
# "Last Modified : 2024/05/01", should it be typed into the content itself.
LAST_MODIFIED = re.compile(r"^Last\s+Modified\s*[:：]", re.IGNORECASE)
# "<page> - <unit> - National Science and Technology Council"
TITLE_SUFFIX = re.compile(r"\s+-\s+.*$")


class NstcPagesSpider(SourceSpider):
    """Metadata and the pages to monitor (its start URLs) come from the `nstc_pages` entry of
    sources.toml. The overview of the Department of International Cooperation and Science
    Education lives on its unit sub-site (`/sci/en/...`, site notes §1), but its uuid there
    is a GUESS: confirm it live and replace it in the file."""

    #: Pages to monitor: the source's start URLs.
    page_urls: ClassVar[list[str]] = FromSource(lambda config: config.start_url_strings, [])

    async def start(self) -> AsyncIterator[Request]:
        # No list pages: every page is fetched in full each time (no conditional request),
        # since a changed counter alone already changes its ETag.
        for url in self.start_urls:
            yield Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[PageSnapshotItem]:
        """One snapshot of a monitored page.

        @url https://www.nstc.gov.tw/sci/en/detail/47269da9-f131-4d52-9de8-f913600183f1
        @returns items 1 1
        @returns requests 0 0
        @scrapes title text url
        """
        text = "\n\n".join(_main_paragraphs(response))
        yield PageSnapshotItem(
            source=self.name,
            url=response.url,
            title=_title(response),
            text=text,
            language=self.language,
            agency=self.agency,
            agency_country=self.agency_country,
            fetched_at=datetime.now(UTC),
            raw_body=response.body,
        )


def _main_paragraphs(response: Response) -> list[str]:
    region: Selector | None = next(
        (found[0] for css in CONTENT if (found := response.css(css))), None
    )
    if region is None:
        return []
    found = paragraphs(region, drop=CHROME)
    while found and LAST_MODIFIED.match(found[-1]):
        found.pop()
    return found


def _title(response: Response) -> str:
    for css in (".detail_title", 'meta[property="og:title"]::attr(content)', ".page_title"):
        found = response.css(css)
        title = found.get("").strip() if "::attr" in css else text_of(found[:1])
        if title:
            return title
    return TITLE_SUFFIX.sub("", text_of(response.css("title")[:1]))

"""Taiwan's MOEA Industrial Development Administration (IDA, formerly IDB): its news feed.

The feed (``ctlr?PRO=rss.RSSView&t=1``) mixes 新聞發布 (press releases) with 產業大小事
(industry insights: features about companies, not releases of the agency). Insights whose
link carries ``type=insights`` are left out by the source's ``exclude_links`` before any
fetch; the others are known by the breadcrumb of their page (``div.idbBreadcrumbArea
span.idbBreadcrumb``, reported by public scrapers), which names 產業大小事 or links to it.
"""

from __future__ import annotations

from crawler.extract import text_of
from crawler.pages import DetailPage
from crawler.pages.page import PageContext
from spiders.feed_source import FeedSourceSpider

INSIGHTS_LABEL = "產業大小事"


class IdaDetailPage(DetailPage):
    def excluded(self, context: PageContext) -> str | None:
        crumb = context.response.css("div.idbBreadcrumbArea span.idbBreadcrumb")
        hrefs = crumb.css("a::attr(href)").getall()
        if INSIGHTS_LABEL in text_of(crumb[0] if crumb else None) or any(
            "type=insights" in href.lower() for href in hrefs
        ):
            return f"an industry insight ({INSIGHTS_LABEL})"
        return None


class IdaFeedSpider(FeedSourceSpider):
    detail_page_class = IdaDetailPage

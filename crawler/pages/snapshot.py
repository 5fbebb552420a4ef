"""Monitored pages (``kind = "page"``): the main text of a static page, for change detection.

The same chain as release pages, for the two things a snapshot needs, its title and text:
the source's ``[source.detail]`` selectors, the CMS templates it names, then generic extraction
of the page without its chrome. Menus, breadcrumbs and footers never reach a snapshot, so a
menu edit is never reported as a change of the page; neither do the page's label lines
("Last Modified : 2024/05/01"), which are the source's ``labels``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scrapy.http import TextResponse

from crawler.pages.chrome import without_chrome_lines
from crawler.pages.page import PageContext
from crawler.pages.selectors import selected_paragraphs, selected_text
from crawler.pages.titles import clean_title
from crawler.sources import DetailSelectors, SourceConfig


@dataclass(frozen=True)
class Snapshot:
    title: str | None
    paragraphs: list[str]
    stage: str  # which stage gave the text: selectors, template:<name>, generic


def read_snapshot(response: TextResponse, config: SourceConfig) -> Snapshot:
    context = PageContext(response, [config.agency, *config.site_names])
    own = config.detail or DetailSelectors()
    tables: list[tuple[str, DetailSelectors]] = [("selectors", own)]
    tables += [(f"template:{template.name}", template) for template in config.templates]
    title, text, stage = None, [], "generic"
    for name, table in tables:
        title = title or selected_text(response, table.title) or None
        if not text:
            text = selected_paragraphs(response, table.body, table.remove)
            stage = name
        if title and text:
            break
    if not text:
        text, stage = list(context.generic.body), "generic"
    title = title or clean_title(
        context.generic.title
        or selected_text(response, 'meta[property="og:title"]::attr(content)')
        or selected_text(response, "title"),
        context.names,
    )
    labels = [re.compile(p) for table in (own, *config.templates)
              for found in [*table.labels.values(), table.drop_lines] for p in found]  # fmt: skip
    text = [p for p in without_chrome_lines(text) if not any(c.search(p) for c in labels)]
    return Snapshot(title, text, stage if text else "none")

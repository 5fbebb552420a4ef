"""Generic extraction: the last stage of the fallback chain, for any article page.

trafilatura finds the main text and htmldate the publication date (the date of first
publication, looked for in the page's metadata, then its text). They run on the page
*without its chrome* (``crawler.pages.chrome``): government CMSs mark their menus up as plain
``div``s that trafilatura can mistake for text, and a monitored page must never change because
a menu did. Titles lose the agency and section names they are wrapped in
(``crawler.pages.titles``).

Nothing here fetches: both libraries download when handed a URL string, so they are handed a
parsed tree.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import trafilatura
from lxml.html import HtmlElement

from crawler.pages.chrome import strip_chrome, without_chrome_lines
from crawler.pages.dates import visible_dates
from crawler.pages.titles import clean_title
from storage.links import web_link

# htmldate: the date of first publication (not the last edit), looked for in the page's
# metadata, then its text (extensive search).
DATE_PARAMS: dict[str, Any] = {
    "original_date": True,
    "extensive_search": True,
    "outputformat": "%Y-%m-%d",
}
#: How far into the text the page's own headline is looked for.
HEADLINE_WINDOW = 3
#: A page description shorter than this is a site slogan ("Ministry of Science and ICT").
MIN_SUMMARY_CHARS = 50


@dataclass(frozen=True)
class GenericExtraction:
    title: str | None
    body: list[str]  # paragraphs; [] when no main text was found
    published_raw: str | None  # ISO date (YYYY-MM-DD) or None
    summary: str | None  # the page's own description
    image_url: str | None


EMPTY = GenericExtraction(title=None, body=[], published_raw=None, summary=None, image_url=None)


def extract_tree(
    document: HtmlElement, url: str | None = None, names: list[str] | None = None
) -> GenericExtraction:
    """Main text, title, date, description and image of a parsed page (never modified).

    ``names`` are the folded names of the source (``titles.site_names``) to take off titles.
    """
    # Each library gets its own copy: trafilatura prunes the tree it works on.
    metadata = trafilatura.extract_metadata(
        copy.deepcopy(document), default_url=url, date_config={**DATE_PARAMS}
    )
    content = strip_chrome(document)
    extracted = trafilatura.bare_extraction(
        content,
        url=url,
        favor_precision=True,  # a missing paragraph is better than a menu in the body
        include_comments=False,
        include_tables=True,
        with_metadata=False,
    )
    headings = _headings(content)
    links = [" ".join(a.text_content().split()) for a in document.iter("a")]
    title = clean_title(_clean(metadata.title), names or [], headings, links)
    title = _article_heading(document, content, title)
    text = getattr(extracted, "text", None) or ""
    lines = [" ".join(node.split()) for node in content.itertext() if node.strip()]
    # A paragraph that is the label of one of the page's links (a section heading repeating
    # a menu entry, "News Releases") is navigation, not text.
    labels = {label.casefold() for label in links if label}
    body = [p for p in _body_paragraphs(text, title) if p.casefold() not in labels]
    return GenericExtraction(
        title=title,
        body=without_chrome_lines(body),
        published_raw=_verified_date(metadata.date, document, lines),
        summary=_summary(metadata.description),
        image_url=_absolute(metadata.image, url),
    )


def extract_html(html: str, url: str | None = None, names: Iterable[str] = ()) -> GenericExtraction:
    """The same for an HTML string (``url`` resolves relative links; it is never fetched)."""
    tree = trafilatura.load_html(html)
    if tree is None:
        return EMPTY
    return extract_tree(tree, url, list(names))


def _headings(document: HtmlElement) -> list[str]:
    return [
        " ".join(node.text_content().split())
        for node in document.iter("h1", "h2", "h3", "h4", "h5", "h6")
        if node.text_content().strip()
    ]


#: A heading shorter than this (in words, or CJK characters) is a section name, not a title.
MIN_TITLE_WORDS = 4
MIN_TITLE_CJK = 8


def _article_heading(document: HtmlElement, content: HtmlElement, title: str | None) -> str | None:
    """The article's own heading when the page title only names its section.

    Sites title every page of a section alike ("Press Releases | Ministry"): a title that is
    also the text of a link (menu, breadcrumb) names a section. The first heading of the
    content that no link names, and that is long enough to be a headline, is then the title.
    """
    links = {" ".join(a.text_content().split()).casefold() for a in document.iter("a")}
    if title and title.casefold() not in links:
        return title
    for heading in _headings(content):
        folded = heading.casefold()
        cjk = sum(1 for char in heading if "\u3000" <= char <= "\u9fff" or char >= "\uac00")
        long_enough = len(heading.split()) >= MIN_TITLE_WORDS or cjk >= MIN_TITLE_CJK
        if long_enough and folded not in links:
            return heading
    # Only a section's name: the page's own title is unknown (better none than a wrong one).
    return None


#: Metadata that states a publication date (not a site-wide date such as EY's DC.Date).
_PUBLISHED_META = (
    '//meta[@property="article:published_time" or @property="og:published_time"'
    ' or @name="pubdate" or @name="publishdate" or @itemprop="datePublished"'
    ' or @name="dcterms.created"]/@content',
    "//time/@datetime",
)


def _verified_date(found: str | None, document: HtmlElement, lines: list[str]) -> str | None:
    """htmldate's date, if the page really states it: in publication metadata, or written in
    its text. htmldate also takes site-wide meta dates (EY's DC.Date of 2011) and guesses from
    partial matches; a wrong date is worse than none (the release then waits for a date from
    the list or the feed, or is dropped with a reason)."""
    if not found:
        return None
    for query in _PUBLISHED_META:
        if any(str(value).startswith(found) for value in document.xpath(query)):
            return found
    return found if found in visible_dates(lines) else None


def _body_paragraphs(text: str, title: str | None) -> list[str]:
    """Paragraphs of trafilatura's text output (one block per line), without the headline.

    Pages repeat their headline at the top of the article, sometimes after a section label
    ("News Releases"); what comes before and including it is not body.
    """
    paragraphs = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if title:
        folded = title.casefold()
        for index, paragraph in enumerate(paragraphs[:HEADLINE_WINDOW]):
            if paragraph.casefold() == folded:
                return paragraphs[index + 1 :]
    return paragraphs


def _summary(description: str | None) -> str | None:
    description = _clean(description)
    return description if description and len(description) >= MIN_SUMMARY_CHARS else None


def _clean(text: str | None) -> str | None:
    text = " ".join((text or "").split())
    return text or None


def _absolute(link: str | None, base: str | None) -> str | None:
    if not link:
        return None
    if not base:
        return link if web_link(link) else None
    try:
        joined = urljoin(base, link)
    except ValueError:  # "http://[host": no link at all
        return None
    return joined if web_link(joined) else None

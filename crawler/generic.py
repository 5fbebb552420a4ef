"""Generic extraction: a release's text, title and date from any article page.

For pages a spider has no selectors for, or whose selectors match nothing (the site changed
its markup), trafilatura finds the main text and htmldate the publication date. The spider's
own selectors stay first: they know the site's labels and chrome; this is the fallback that
keeps a release from being lost, and the release records that it came from here
(``extraction = "generic"``).

Nothing here fetches: both libraries download when handed a URL string, so they are handed
a parsed tree.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import trafilatura
from scrapy.http import Response, TextResponse

from crawler.items import ReleaseItem

# htmldate: the date of first publication (not the last edit), looked for in the page's
# metadata, then its text (extensive search).
DATE_PARAMS: dict[str, Any] = {
    "original_date": True,
    "extensive_search": True,
    "outputformat": "%Y-%m-%d",
}


@dataclass(frozen=True)
class GenericExtraction:
    title: str | None
    body: str  # paragraphs joined by a blank line; "" when no main text was found
    published_raw: str | None  # ISO date (YYYY-MM-DD) or None
    summary: str | None  # the page's own description
    image_url: str | None


EMPTY = GenericExtraction(title=None, body="", published_raw=None, summary=None, image_url=None)


def generic_extract(response: Response) -> GenericExtraction:
    """Main text, title, date, description and image of an HTML response."""
    if not isinstance(response, TextResponse) or not response.body:
        return EMPTY
    return extract_html(response.text, response.url)


def extract_html(html: str, url: str | None = None) -> GenericExtraction:
    """The same for an HTML string (``url`` resolves relative links; it is never fetched)."""
    tree = trafilatura.load_html(html)
    if tree is None:
        return EMPTY
    # Each library gets its own copy: trafilatura prunes the tree it works on.
    metadata = trafilatura.extract_metadata(
        copy.deepcopy(tree), default_url=url, date_config={**DATE_PARAMS}
    )
    document = trafilatura.bare_extraction(
        copy.deepcopy(tree),
        url=url,
        favor_precision=True,  # a missing paragraph is better than a menu in the body
        include_comments=False,
        include_tables=True,
        with_metadata=False,
    )
    title = _clean(metadata.title)
    return GenericExtraction(
        title=title,
        body="\n\n".join(_body_paragraphs(getattr(document, "text", None) or "", title)),
        published_raw=metadata.date or None,
        summary=_summary(metadata.description),
        image_url=_absolute(metadata.image, url),
    )


def fill_from_generic(item: ReleaseItem, response: Response) -> bool:
    """Fill what the spider's selectors left empty (title, body, date, summary, image) from
    the generic extraction. Returns True when the body came from it, which the item then says
    (``extraction = "generic"``). Does nothing, cheaply, when the selectors found everything."""
    wanted = ("title", "body", "published_raw")
    if all(_present(item.get(name)) for name in wanted):
        return False
    found = generic_extract(response)
    body_from_generic = not _present(item.get("body")) and bool(found.body)
    # The page's description and image belong with a generic body, not with a spider's own.
    names = (*wanted, "summary", "image_url") if body_from_generic else wanted
    for name in names:
        value = getattr(found, name)
        if value and not _present(item.get(name)):
            item[name] = value
    if body_from_generic:
        item["extraction"] = "generic"
    return body_from_generic


def _present(value: Any) -> bool:
    return bool(value.strip()) if isinstance(value, str) else value is not None


#: How far into the text the page's own headline is looked for.
HEADLINE_WINDOW = 3


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


#: A page description shorter than this is a site slogan ("Ministry of Science and ICT").
MIN_SUMMARY_CHARS = 50


def _summary(description: str | None) -> str | None:
    description = _clean(description)
    return description if description and len(description) >= MIN_SUMMARY_CHARS else None


def _clean(text: str | None) -> str | None:
    text = " ".join((text or "").split())
    return text or None


def _absolute(link: str | None, base: str | None) -> str | None:
    if not link:
        return None
    return urljoin(base, link) if base else link

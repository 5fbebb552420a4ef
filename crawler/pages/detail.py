"""Detail pages: a release's fields through the fallback chain.

The chain, field by field (the first stage that gives a value wins, and is recorded):

1. ``selectors``: the source's ``[source.detail]`` table (and, for a site with code, what its
   page object reads on top);
2. ``template:<name>``: known templates of the same site's CMS (``[[template]]`` tables the
   source names), tried only while the title, date or body is missing;
3. ``list`` / ``feed``: the title and dates the list page or the feed entry gave;
4. ``generic``: trafilatura and htmldate on the page without its chrome, only while the title,
   date or body is missing (the page's description and image go with a generic body);
5. ``feed``: the feed entry's own text and summary, for a body nothing else found;
6. ``modified``: a page that states only when it was last modified is dated by that.

A page none of them reads keeps its missing fields, and validation drops the release with a
counted reason: an empty release is never stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from scrapy.http import TextResponse

from crawler.pages.attachments import Resolver, read_attachments
from crawler.pages.chrome import without_chrome_lines
from crawler.pages.fields import REQUIRED, Attachment, ListEntry, ReleaseFields
from crawler.pages.page import PageContext
from crawler.pages.selectors import (
    absolute_link,
    apply_date_formats,
    pattern_value,
    release_id,
    selected_link,
    selected_paragraphs,
    selected_text,
)
from crawler.pages.titles import clean_title
from crawler.sources import DetailSelectors, SourceConfig

#: The fields stages fill, in ReleaseFields' names.
FIELDS = ("title", "published_raw", "modified_raw", "body", "summary", "image_url",
          "attachments", "contact_org")  # fmt: skip
_LABEL_FIELD = {"published": "published_raw", "modified": "modified_raw",
                "contact_org": "contact_org"}  # fmt: skip


def read_selectors(
    context: PageContext, selectors: DetailSelectors, resolve: Resolver | None = None
) -> dict[str, Any]:
    """What one table of detail selectors (the source's own, or a template) reads."""
    response = context.response
    values: dict[str, Any] = {
        "title": selected_text(response, selectors.title),
        "published_raw": pattern_value(selected_text(response, selectors.date),
                                       selectors.date_pattern),
        "modified_raw": pattern_value(selected_text(response, selectors.modified),
                                      selectors.modified_pattern),
        "body": selected_paragraphs(response, selectors.body, selectors.remove),
        "summary": selected_text(response, selectors.summary),
        "contact_org": selected_text(response, selectors.contact_org),
    }  # fmt: skip
    image = selected_link(response, selectors.image)
    values["image_url"] = absolute_link(response, image)
    if selectors.attachments:
        values["attachments"] = read_attachments(response, response, selectors.attachments,
                                                 resolve)  # fmt: skip
    if selectors.labels:
        patterns = {name: [re.compile(p) for p in found] for name, found in
                    selectors.labels.items()}  # fmt: skip
        if selectors.labels_in:
            scope = selected_paragraphs(response, selectors.labels_in)
        else:
            scope = context.lines
        for line in [*values["body"], *scope]:
            for name, compiled in patterns.items():
                field = _LABEL_FIELD[name]
                match = next((m for m in (c.search(line) for c in compiled) if m), None)
                if match and not values.get(field):
                    values[field] = (match.group(1) if match.re.groups else match.group(0)).strip()
        # Label lines say when and by whom, not what: they are not body.
        every = [c for compiled in patterns.values() for c in compiled]
        values["body"] = [p for p in values["body"] if not any(c.search(p) for c in every)]
    return values


class DetailPage:
    """The detail pages of one source (any kind): the fallback chain above.

    Sites with code subclass it: ``own_fields`` reads more than selectors can say,
    ``resolve_attachment`` turns script download calls into URLs, ``excluded`` tells pages
    that are not releases of the source, ``native_id`` reads the site's id from a URL.
    """

    #: Turns an element whose download is a script call into a URL (sites with such links).
    resolve_attachment: Resolver | None = None

    def __init__(self, config: SourceConfig) -> None:
        self.config = config
        self.selectors = config.detail or DetailSelectors()
        self.templates = config.templates
        self.names = [config.agency, *config.site_names]
        listing = config.listing
        self.id_pattern = listing.id_pattern if listing else None

    # --- Hooks ------------------------------------------------------------------------------

    def native_id(self, url: str) -> str | None:
        if self.id_pattern and re.search(self.id_pattern, url):
            return release_id(url, self.id_pattern)
        return None

    def own_fields(self, context: PageContext) -> dict[str, Any]:
        return read_selectors(context, self.selectors, self.resolve_attachment)

    def excluded(self, context: PageContext) -> str | None:
        """Why a page is not a release of this source (None: it is one)."""
        return None

    def promised(self) -> tuple[str, ...]:
        """The fields the source's own selectors are meant to fill: when most releases of a
        crawl need a fallback for one of them, the selectors have drifted (crawler.health)."""
        selectors = self.selectors
        labels = selectors.labels
        wanted = {
            "title": selectors.title,
            "published_raw": selectors.date or labels.get("published"),
            "body": selectors.body,
            "contact_org": selectors.contact_org or labels.get("contact_org"),
        }
        # Dates of last change, summaries, images and attachments are not on every page: a
        # fallback filling them says nothing of the selectors.
        return tuple(name for name, selector in wanted.items() if selector)

    # --- Reading ----------------------------------------------------------------------------

    def context(self, response: TextResponse) -> PageContext:
        return PageContext(response, self.names)

    def read(
        self, response: TextResponse, listed: ListEntry | None = None,
        context: PageContext | None = None,
    ) -> ReleaseFields:  # fmt: skip
        context = context or self.context(response)
        fields = ReleaseFields(
            url=response.url,
            native_id=self.native_id(response.url) or (listed.native_id if listed else None),
        )
        _take(fields, self.own_fields(context), "selectors")
        for template in self.templates:
            if not _missing(fields):
                break
            found = read_selectors(context, template, self.resolve_attachment)
            _take(fields, found, f"template:{template.name}")
        if listed is not None:
            _take(fields, {"title": listed.title, "published_raw": listed.date,
                           "modified_raw": listed.modified, "contact_org": listed.publisher},
                  listed.origin)  # fmt: skip
        if _missing(fields) and self.selectors.generic_fallback:
            generic = context.generic
            _take(fields, {"title": generic.title, "published_raw": generic.published_raw,
                           "body": generic.body}, "generic")  # fmt: skip
            if fields.stages.get("body") == "generic":
                _take(fields, {"summary": generic.summary, "image_url": generic.image_url},
                      "generic")  # fmt: skip
        if listed is not None and listed.body:
            _take(fields, {"body": [p for p in listed.body.split("\n\n") if p.strip()]},
                  listed.origin)  # fmt: skip
        if listed is not None and listed.summary and fields.stages.get("body") != "feed":
            _take(fields, {"summary": listed.summary}, listed.origin)
        if not fields.published_raw and fields.modified_raw:
            fields.published_raw = fields.modified_raw
            fields.stages["published_raw"] = "modified"
        if not fields.attachments and self.selectors.generic_fallback:
            found = read_attachments(context.content, response, None, self.resolve_attachment)
            _take(fields, {"attachments": _not_images(found, fields.image_url)}, "generic")
        return self._finish(fields, context)

    def _finish(self, fields: ReleaseFields, context: PageContext) -> ReleaseFields:
        formats = self.config.date_formats
        fields.published_raw = apply_date_formats(fields.published_raw, formats)
        fields.modified_raw = apply_date_formats(fields.modified_raw, formats)
        if fields.title and fields.stages.get("title") not in ("selectors", "list", "feed"):
            fields.title = clean_title(fields.title, context.names)
        body = without_chrome_lines(fields.body)
        # The site's label lines and never-body lines, whichever stage read the body.
        labels = [pattern for found in self.selectors.labels.values() for pattern in found]
        never = [re.compile(pattern) for pattern in (*self.selectors.drop_lines, *labels)]
        if never:
            body = [p for p in body if not any(c.search(p) for c in never)]
        # Pages repeat their title atop the text.
        while body and fields.title and body[0].casefold() == fields.title.casefold():
            body.pop(0)
        fields.body = body
        if not body:
            fields.stages.pop("body", None)
        return fields


def _missing(fields: ReleaseFields) -> bool:
    return any(not getattr(fields, name) for name in REQUIRED)


def _take(fields: ReleaseFields, values: dict[str, Any], stage: str) -> None:
    for name in FIELDS:
        value = values.get(name)
        if isinstance(value, str):
            value = " ".join(value.split()) if name != "body" else value
        if value and not getattr(fields, name):
            setattr(fields, name, value)
            fields.stages[name] = stage


def _not_images(found: Iterable[Attachment], image_url: str | None) -> list[Attachment]:
    return [a for a in found if a.url != image_url]

"""What a page object returns: plain data, no Scrapy, no database.

A detail page gives ``ReleaseFields``: the release's fields as the page shows them (dates as
written, body as paragraphs) and, per field, the *stage* of the fallback chain that filled it:

- ``selectors``: the source's own ``[source.detail]`` selectors (or its site code);
- ``template:<name>``: a known template of the same site's CMS (``[[template]]`` tables);
- ``list`` / ``feed``: what the list page or the feed entry said of the release;
- ``generic``: generic extraction (trafilatura, htmldate) of the page without its chrome.

A list page gives a ``ListReading``: the releases it lists, the next list pages, and how they
were found (the list selectors, or discovery when those matched nothing).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Fields a release cannot be stored without.
REQUIRED = ("title", "published_raw", "body")
#: Stages whose values mean "the source's own selectors matched".
PRIMARY_STAGES = frozenset({"selectors"})


def is_fallback(stage: str | None) -> bool:
    """Whether a field was filled by anything but the source's own selectors."""
    return bool(stage) and stage not in PRIMARY_STAGES


@dataclass(frozen=True)
class Attachment:
    name: str
    url: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "url": self.url}


@dataclass
class ReleaseFields:
    """One release as its detail page shows it."""

    url: str
    native_id: str | None = None
    title: str | None = None
    published_raw: str | None = None  # as written on the page ("2023-11-29", "Jul 9, 2026")
    modified_raw: str | None = None
    body: list[str] = field(default_factory=list)  # paragraphs
    summary: str | None = None
    image_url: str | None = None
    attachments: list[Attachment] = field(default_factory=list)
    contact_org: str | None = None
    #: field name -> stage that filled it (see the module docstring)
    stages: dict[str, str] = field(default_factory=dict)

    def missing(self) -> list[str]:
        """Required fields the page did not give."""
        return [name for name in REQUIRED if not getattr(self, name)]

    def fallbacks(self) -> dict[str, str]:
        """Fields filled by a fallback stage, with the stage."""
        return {name: stage for name, stage in self.stages.items() if is_fallback(stage)}

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (expected-output files, ``stnews extract --json``)."""
        data = asdict(self)
        data["attachments"] = [a.to_dict() for a in self.attachments]
        return data


@dataclass(frozen=True)
class ListEntry:
    """A release as a list page or a feed entry shows it. Its values stand in for what the
    detail page lacks (stage ``origin``)."""

    url: str
    native_id: str | None = None
    title: str | None = None
    date: str | None = None  # as written: RFC 822 / RFC 3339 in feeds
    modified: str | None = None
    summary: str | None = None  # plain text (feeds)
    body: str | None = None  # plain text, paragraphs joined by a blank line (feeds)
    guid: str | None = None
    origin: str = "list"  # "list" or "feed"
    publisher: str | None = None  # the agency a portal's list names (korea.kr)


@dataclass
class ListReading:
    """What one list page gave."""

    entries: list[ListEntry] = field(default_factory=list)
    next_pages: list[str] = field(default_factory=list)
    #: "selectors" (the source's list selectors or site code) or "discovery"
    stage: str = "selectors"
    #: Why the page was read by a fallback, for health and logs; None when it was not.
    problem: str | None = None
    #: Items the selectors matched before links and notices were filtered out.
    matched: int = 0
    skipped_notices: int = 0
    #: Items dropped because the list names another publisher (``[source.list] publishers``).
    other_publishers: int = 0
    #: Items whose link is no http(s) URL (mailto:, tel:, javascript:, malformed): skipped.
    bad_links: int = 0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        if not data["bad_links"]:  # only when there are some: expected files stay as they were
            del data["bad_links"]
        return data

"""The one table of feeds and formats: what the writer writes, the server serves and the OPML
lists.

Two tables and the documents beside them:

- ``FORMATS``: every feed format (its name is the file suffix and the URL extension), with
  its title, media type and renderer. Adding a format is one renderer in
  ``crawler.feeds.build`` and one row here; the writer, the server, the front page and the
  OPML pick it up.
- ``KINDS``: every kind of feed (the main feeds, one per partner, source, topic, type and
  language, updated pages, source health), with its file-name prefix, its OPML folder, the
  filter it sets and the titles of its feeds. ``feed_specs`` turns the values stored in the
  database into the feeds of each kind.
- ``DOCUMENTS``: media types of what is not a feed (OPML, calendar, API, CSV, HTML).

Nothing here reads the database or the clock.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha1
from typing import Any
from urllib.parse import quote

from crawler.feeds.build import FeedItem, FeedMeta, render_atom, render_json, render_rss
from crawler.feeds.labels import humanize, language_label, partner_label

SITE_TITLE = "stnews"

#: (meta, items, self URL, the format's media type) -> the file's bytes.
Renderer = Callable[[FeedMeta, Sequence[FeedItem], str, str], bytes]


@dataclass(frozen=True)
class FeedFormat:
    name: str  # file suffix and URL extension: "atom" -> cooperation.atom
    title: str  # shown to readers: "Atom"
    media_type: str
    renderer: Renderer

    @property
    def suffix(self) -> str:
        return f".{self.name}"

    @property
    def content_type(self) -> str:
        """The HTTP Content-Type: every renderer writes UTF-8."""
        return f"{self.media_type}; charset=utf-8"

    def file_name(self, stem: str) -> str:
        return f"{stem}{self.suffix}"

    def render(self, meta: FeedMeta, items: Sequence[FeedItem], self_url: str) -> bytes:
        return self.renderer(meta, items, self_url, self.media_type)


FORMATS: dict[str, FeedFormat] = {
    f.name: f
    for f in (
        FeedFormat("atom", "Atom", "application/atom+xml", render_atom),
        FeedFormat("rss", "RSS", "application/rss+xml", render_rss),
        FeedFormat("json", "JSON Feed", "application/feed+json", render_json),
    )
}
#: The format the OPML subscribes to: one file per feed, and one every reader reads (newsboat
#: and others read no JSON Feed; Atom carries xml:lang, enclosure lengths and update times).
OPML_FORMAT = "atom"

#: Media types of the documents that are not feeds (server responses and written files).
DOCUMENTS: dict[str, str] = {
    "opml": "text/x-opml",
    "ics": "text/calendar",
    "html": "text/html",
    "api": "application/json",
    "csv": "text/csv",
    "text": "text/plain",
}
OPML_NAME = "feeds.opml"
CALENDAR_NAME = "calendar.ics"


def content_type(document: str) -> str:
    """HTTP Content-Type of a feed format ("atom") or another document ("opml")."""
    if document in FORMATS:
        return FORMATS[document].content_type
    return f"{DOCUMENTS[document]}; charset=utf-8"


# --- kinds of feed ----------------------------------------------------------------------------

COOP = "international S&T cooperation announcements"

# Stems of the feeds that are not one per value.
COOPERATION = "cooperation"
PER_RELEASE = "cooperation-releases"  # the cooperation feed has one entry per event
ALL = "all"
PAGE_CHANGES = "page-changes"
MONITOR = "monitor"


@dataclass(frozen=True)
class FeedSpec:
    """One feed: its file stem, kind, titles and the filter that selects its releases."""

    name: str
    key: str  # stable part of the feed's tag: id, e.g. "partner/FR"
    title: str
    description: str
    kind: str = "main"
    cooperation_only: bool = True
    partner: str | None = None
    source: str | None = None
    topic: str | None = None
    coop_type: str | None = None
    language: str | None = None
    # Cooperation feeds have one entry per event (crawler.feeds.events) unless this is False.
    per_event: bool = True

    @property
    def of_releases(self) -> bool:
        """False for the updated-pages and source-health feeds: no release filter applies."""
        return KINDS[self.kind].of_releases

    def filters(self) -> dict[str, Any]:
        return {
            "cooperation_only": self.cooperation_only,
            "partner": self.partner,
            "source": self.source,
            "topic": self.topic,
            "coop_type": self.coop_type,
            "language": self.language,
        }


@dataclass(frozen=True)
class FeedKind:
    """A group of feeds: the OPML folder, and for per-value kinds how each feed is made."""

    name: str
    group: str  # OPML folder and front-page heading
    prefix: str | None = None  # file stem prefix of per-value feeds: "partner" -> partner-fr
    values_key: str | None = None  # key of storage.queries.present_values
    filter: str | None = None  # FeedSpec field the value goes into
    of_releases: bool = True
    # (value, label) -> (title, description); label is what a reader calls the value.
    titles: Callable[[str, str], tuple[str, str]] | None = None


KINDS: dict[str, FeedKind] = {
    k.name: k
    for k in (
        FeedKind("main", "Cooperation"),
        FeedKind(
            "partner",
            "By partner",
            "partner",
            "partners",
            "partner",
            titles=lambda v, label: (
                f"{SITE_TITLE}: cooperation with {label}",
                f"Newest {COOP} involving {label}.",
            ),
        ),
        FeedKind(
            "source",
            "By publisher",
            "source",
            "sources",
            "source",
            titles=lambda v, label: (
                f"{SITE_TITLE}: cooperation, {label}",
                f"Newest {COOP} published by {label}.",
            ),
        ),
        FeedKind(
            "topic",
            "By topic",
            "topic",
            "topics",
            "topic",
            titles=lambda v, label: (
                f"{SITE_TITLE}: cooperation on {label}",
                f"Newest {COOP} on {label}.",
            ),
        ),
        FeedKind(
            "type",
            "By type of cooperation",
            "type",
            "coop_types",
            "coop_type",
            titles=lambda v, label: (
                f"{SITE_TITLE}: cooperation, {label}",
                f"Newest {COOP} of type {label}.",
            ),
        ),
        FeedKind(
            "language",
            "By language",
            "lang",
            "languages",
            "language",
            titles=lambda v, label: (
                f"{SITE_TITLE}: cooperation in {label}",
                f"Newest {COOP} written in {label} ({v}).",
            ),
        ),
        FeedKind("operations", "For operators", of_releases=False),
    )
}
#: Per-value kinds by file-name prefix ("partner-fr" -> partner).
PREFIXES = {k.prefix: k for k in KINDS.values() if k.prefix}

MAIN_SPECS = (
    FeedSpec(COOPERATION, COOPERATION, f"{SITE_TITLE}: cooperation", f"Newest {COOP}."),
    FeedSpec(
        PER_RELEASE,
        PER_RELEASE,
        f"{SITE_TITLE}: cooperation, one entry per release",
        f"Newest {COOP}, each release on its own (the cooperation feed has one per event).",
        per_event=False,
    ),
    FeedSpec(
        ALL,
        ALL,
        f"{SITE_TITLE}: all releases",
        "Newest S&T press releases from every source, cooperation or not.",
        cooperation_only=False,
    ),
)
PAGE_CHANGES_SPEC = FeedSpec(
    PAGE_CHANGES,
    PAGE_CHANGES,
    f"{SITE_TITLE}: updated pages",
    "Changes to the main text of monitored pages, newest first.",
    kind="operations",
    cooperation_only=False,
)
MONITOR_SPEC = FeedSpec(
    MONITOR,
    MONITOR,
    f"{SITE_TITLE}: source health",
    "Sources that broke, degraded, went quiet or recovered, newest first.",
    kind="operations",
    cooperation_only=False,
)
SPECIAL_SPECS = {spec.name: spec for spec in (PAGE_CHANGES_SPEC, MONITOR_SPEC)}
RESERVED_STEMS = frozenset({*(s.name for s in MAIN_SPECS), *SPECIAL_SPECS, "calendar", "feeds"})


def feed_specs(
    values: Mapping[str, Sequence[str]],
    agencies: Mapping[str, str],
    source_languages: Mapping[str, str] | None = None,
) -> list[FeedSpec]:
    """The main feeds, then one feed per filter value present (see ``KINDS``).

    Filtered feeds hold cooperation announcements only: they exist so a reader can follow
    "cooperation with France" without the rest of a ministry's news. Every title is distinct:
    two sources of one agency (NSTC in English and in Chinese) are told apart by language,
    else by source name.
    """
    names = _Names()
    specs = list(MAIN_SPECS)
    labels = _source_labels(values.get("sources", ()), agencies, source_languages or {})
    for kind in KINDS.values():
        if kind.values_key is None or kind.titles is None or kind.prefix is None:
            continue
        for value in values.get(kind.values_key, ()):
            label = labels[value] if kind.name == "source" else value_label(kind.name, value)
            title, description = kind.titles(value, label)
            specs.append(
                FeedSpec(
                    names.take(kind.prefix, value),
                    f"{_KEYS.get(kind.name, kind.name)}/{quote(value, safe='')}",
                    title,
                    description,
                    kind=kind.name,
                    **{kind.filter or kind.name: value},
                )
            )
    return specs


# Tag-id key of each kind: frozen, as entry and feed ids must never change.
_KEYS = {"type": "coop-type"}


def value_label(kind: str, value: str) -> str:
    """What a reader calls a filter value: "France (FR)", "AI", "Chinese (Traditional)"."""
    if kind == "partner":
        return partner_label(value)
    if kind == "language":
        return language_label(value)
    return humanize(value)


def _source_labels(
    sources: Sequence[str], agencies: Mapping[str, str], languages: Mapping[str, str]
) -> dict[str, str]:
    """Agency names, made distinct: by the source's language where that tells two apart,
    else by the source's name."""
    labels = {name: agencies.get(name) or name for name in sources}
    shared = Counter(labels.values())
    for name in sources:
        if shared[labels[name]] > 1 and languages.get(name):
            labels[name] = f"{labels[name]} ({language_label(languages[name])})"
    shared = Counter(labels.values())
    for name in sources:
        if shared[labels[name]] > 1:
            labels[name] = f"{labels[name]} [{name}]"
    return labels


_SLUG = re.compile(r"[^a-z0-9]+")


def slug(value: str) -> str:
    """A filter value as part of a file name: "Net zero" -> "net-zero"."""
    return _SLUG.sub("-", value.casefold()).strip("-")


class _Names:
    """File stems: "partner-fr"; unique even when two values slugify alike."""

    def __init__(self) -> None:
        self.used: set[str] = set(RESERVED_STEMS)

    def take(self, prefix: str, value: str) -> str:
        value_slug = slug(value)
        name = f"{prefix}-{value_slug}" if value_slug else ""
        if not value_slug or name in self.used:
            tail = value_slug + "-" if value_slug else ""
            name = f"{prefix}-{tail}{sha1(value.encode()).hexdigest()[:8]}"
        self.used.add(name)
        return name

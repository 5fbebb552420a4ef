"""Which feeds exist and which query filters a request may add, checked before any query.

Everything a filter is checked against (vocabularies, codes, the sources and values stored)
is in a `Catalog`, read once per data version, so validating a request needs no database.
A rejected value raises `BadRequest` with a message meant for the person typing the URL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pycountry

from crawler.classify import COOP_TYPES, TOPICS, organisation_names
from crawler.feeds.catalog import (
    FORMATS,
    PAGE_CHANGES,
    PREFIXES,
    SPECIAL_SPECS,
    FeedSpec,
    feed_specs,
    slug,
)
from crawler.feeds.labels import humanize, language_label, partner_label

# Query parameter -> keyword of storage.queries.feed_releases.
FILTER_PARAMS = {
    "partner": "partner",
    "source": "source",
    "topic": "topic",
    "type": "coop_type",
    "language": "language",
}
ALLOWED_PARAMS = (*FILTER_PARAMS, "limit")
# Feeds of something other than releases: no release filters apply.
SPECIAL_FEEDS = tuple(SPECIAL_SPECS)
# A BCP 47 tag as feeds use them: language, then script/region/variant subtags.
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{1,8})*")


class BadRequest(ValueError):
    """A request the server refuses with 400; the message is shown to the client."""


@dataclass(frozen=True)
class Catalog:
    """What exists in the database, as far as feed names and filters are concerned."""

    values: Mapping[str, Sequence[str]]  # storage.queries.present_values
    agencies: Mapping[str, str]  # source name -> agency
    sources: tuple[str, ...]  # every source with a row in `sources`
    status_names: tuple[str, ...]  # sources with releases, runs or a health row
    has_pages: bool  # a monitored page exists: the page-changes feed is served
    source_languages: Mapping[str, str] = field(default_factory=dict)  # source -> language
    specs: dict[str, FeedSpec] = field(init=False)

    def __post_init__(self) -> None:
        # The writer's own names, so /feeds/<name> serves exactly the files it writes.
        specs = {
            spec.name: spec
            for spec in feed_specs(self.values, self.agencies, self.source_languages)
        }
        object.__setattr__(self, "specs", specs)


@dataclass(frozen=True)
class FeedRequest:
    """A validated feed request: which feed, which extra filters, how many entries."""

    name: str
    fmt: str
    spec: FeedSpec | None  # None for the feeds that are not of releases (SPECIAL_FEEDS)
    extra: tuple[tuple[str, str], ...]  # query filters beyond the spec's own, sorted
    limit: int
    limit_given: bool

    @property
    def key(self) -> tuple[Any, ...]:
        return ("feed", self.name, self.fmt, self.extra, self.limit)

    def filters(self) -> dict[str, Any]:
        """Keyword arguments for storage.queries.feed_releases."""
        assert self.spec is not None
        return {**self.spec.filters(), **dict(self.extra)}

    def filter_query(self) -> str:
        """The extra filters as a canonical query ("" without any): part of the feed's id."""
        return urlencode([(param_name(kw), value) for kw, value in self.extra])

    def query_string(self) -> str:
        """The canonical query of this request, limit included: part of the self URL."""
        limit = urlencode({"limit": self.limit}) if self.limit_given else ""
        return "&".join(part for part in (self.filter_query(), limit) if part)


def param_name(keyword: str) -> str:
    return next(param for param, kw in FILTER_PARAMS.items() if kw == keyword)


def resolve_spec(catalog: Catalog, name: str) -> FeedSpec | None:
    """The feed named `name`, or None when there is no such feed.

    Names the writer would produce today come from the catalog. A per-value name whose value
    is valid but not (yet) in any release still answers, with an empty feed: a reader who
    subscribes to partner-de before the first German agreement should not get a 404.
    """
    spec = catalog.specs.get(name)
    if spec is not None:
        return spec
    prefix, _, value_slug = name.partition("-")
    kind = PREFIXES.get(prefix)
    if not value_slug or kind is None or kind.values_key is None:
        return None
    candidates: dict[str, Sequence[str]] = {
        "partner": [value_slug.upper()] if _known_partner(value_slug.upper()) else [],
        "source": catalog.sources,
        "topic": TOPICS,
        "type": COOP_TYPES,
        "language": [value_slug] if _known_language(value_slug) else [],
    }
    for value in candidates.get(kind.name, ()):
        if slug(value) == value_slug:
            # feed_specs with this one value builds the writer's spec for it (titles, tag id).
            specs = feed_specs(
                {kind.values_key: [value]}, catalog.agencies, catalog.source_languages
            )
            return next(s for s in specs if s.name == name)
    return None


def parse_feed_request(
    catalog: Catalog,
    name: str,
    fmt: str,
    query: Sequence[tuple[str, str]],
    *,
    default_limit: int,
    max_limit: int,
) -> FeedRequest | None:
    """The validated request, or None when the feed does not exist (404).

    Raises BadRequest for an unknown parameter, a repeated one, or a value that is not valid.
    """
    if fmt not in FORMATS:
        return None
    if name in SPECIAL_SPECS:
        spec = None
        # As in the writer: page changes once a page is monitored, the monitor feed always.
        if name == PAGE_CHANGES and not catalog.has_pages:
            return None
    else:
        spec = resolve_spec(catalog, name)
        if spec is None:
            return None

    seen: dict[str, str] = {}
    for param, value in query:
        if param not in ALLOWED_PARAMS:
            raise BadRequest(
                f"unknown query parameter {param!r}; allowed: {', '.join(ALLOWED_PARAMS)}"
            )
        if param in seen:
            raise BadRequest(f"query parameter {param!r} given more than once")
        if not value.strip():
            raise BadRequest(f"query parameter {param!r} is empty")
        seen[param] = value.strip()

    limit = default_limit
    if "limit" in seen:
        limit = _limit(seen.pop("limit"), max_limit)
    if spec is None and seen:
        raise BadRequest(f"the {name} feed takes no filters, only limit; got {', '.join(seen)}")

    extra: dict[str, str] = {}
    for param, raw in seen.items():
        keyword = FILTER_PARAMS[param]
        value = VALIDATORS[param](catalog, raw)
        fixed = spec.filters()[keyword] if spec is not None else None
        if fixed is not None:
            # /feeds/partner-fr.atom?partner=FR is redundant; ?partner=DE contradicts the name.
            if fixed != value:
                raise BadRequest(f"feed {name!r} already selects {param} {fixed!r}")
            continue
        extra[keyword] = value
    return FeedRequest(
        name=name,
        fmt=fmt,
        spec=spec,
        extra=tuple(sorted(extra.items())),
        limit=limit,
        limit_given="limit" in dict(query),
    )


def describe(request: FeedRequest, catalog: Catalog) -> str:
    """The extra filters in words, for the feed title: "partner France (FR), topic ai"."""
    parts = []
    for keyword, value in request.extra:
        if keyword == "partner":
            parts.append(f"partner {partner_label(value)}")
        elif keyword == "source":
            parts.append(f"source {catalog.agencies.get(value) or value}")
        elif keyword == "language":
            parts.append(f"language {language_label(value)}")
        else:
            parts.append(f"{param_name(keyword)} {humanize(value)}")
    return ", ".join(parts)


# --- one validator per filter ---------------------------------------------------------------


def _partner(catalog: Catalog, raw: str) -> str:
    code = raw.upper()
    if _known_partner(code) or code in catalog.values.get("partners", ()):
        return code
    raise BadRequest(
        f"unknown partner {raw!r}: expected an ISO 3166-1 alpha-2 country code (e.g. FR, JP) "
        f"or an organisation code ({', '.join(sorted(organisation_names()))})"
    )


def _source(catalog: Catalog, raw: str) -> str:
    for name in catalog.sources:
        if name.casefold() == raw.casefold():
            return name
    known = ", ".join(catalog.sources) or "none yet"
    raise BadRequest(f"unknown source {raw!r}; known sources: {known}")


def _vocabulary(kind: str, param: str, vocabulary: Sequence[str]):
    def check(catalog: Catalog, raw: str) -> str:
        value = raw.lower()
        # Values already stored stay valid even if the vocabulary has since moved on.
        if value in vocabulary or value in catalog.values.get(kind, ()):
            return value
        if raw in catalog.values.get(kind, ()):
            return raw
        raise BadRequest(f"unknown {param} {raw!r}; expected one of: {', '.join(vocabulary)}")

    return check


def _language(catalog: Catalog, raw: str) -> str:
    """A language tag: "zh" (every Chinese release, zh-Hant included), "zh-Hant", "ko", "en".
    A stored tag keeps its stored spelling; an unknown language is a 400, not an empty feed."""
    for value in catalog.values.get("languages", ()):
        if value.casefold() == raw.strip().casefold():
            return value
    if _known_language(raw):
        return canonical_language(raw)
    raise BadRequest(
        f"unknown language {raw!r}: expected a language code such as en, ko, zh or ja, "
        "or a full tag such as zh-Hant"
    )


def _known_language(raw: str) -> bool:
    """A BCP 47 tag whose language subtag is an ISO 639 language."""
    tag = raw.strip().casefold().replace("_", "-")
    if not _LANGUAGE.fullmatch(tag):
        return False
    primary = tag.split("-", 1)[0]
    if len(primary) == 2:
        return pycountry.languages.get(alpha_2=primary) is not None
    return pycountry.languages.get(alpha_3=primary) is not None


def canonical_language(raw: str) -> str:
    """BCP 47 case conventions: "ZH-hant-tw" -> "zh-Hant-TW"."""
    parts = raw.strip().replace("_", "-").split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) == 2 and part.isalpha():
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


def _limit(raw: str, max_limit: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        message = f"limit must be a whole number from 1 to {max_limit}, got {raw!r}"
        raise BadRequest(message) from None
    if not 1 <= value <= max_limit:
        raise BadRequest(f"limit must be from 1 to {max_limit}, got {value}")
    return value


VALIDATORS = {
    "partner": _partner,
    "source": _source,
    "topic": _vocabulary("topics", "topic", TOPICS),
    "type": _vocabulary("coop_types", "type", COOP_TYPES),
    "language": _language,
}


def _known_partner(code: str) -> bool:
    if code in organisation_names():
        return True
    return len(code) == 2 and code.isascii() and pycountry.countries.get(alpha_2=code) is not None


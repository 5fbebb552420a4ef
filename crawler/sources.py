"""Sources declared as data: the `sources.toml` file and its schema.

Every source (a ministry's news list, RSS feed or monitored static page) is one
``[[source]]`` table. The schema is checked when the file is loaded; an error names the
source and the field, so a typo fails at start instead of producing an empty crawl.
Sites that need code (MSIT's script-written lists) name a spider class with ``spider``;
every other ``html`` source runs through the configurable spider with its selectors.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

ROOT = Path(__file__).resolve().parent.parent
#: The sources stnews ships with, as package data. In a checkout it is a symlink to the
#: repository's ``sources.toml``, so there is one file to edit; a wheel holds a copy.
DEFAULT_SOURCES_FILE = Path(__file__).resolve().parent / "data" / "sources.toml"
#: The user's own file, looked for in the working directory.
LOCAL_SOURCES_FILE = "sources.toml"


class SourcesFileError(ValueError):
    """The sources file cannot be used; the message names the source and the field."""


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


#: Publishers that are not a country: the European Union's institutions. "EU" is the code
#: ISO 3166 reserves exceptionally for the Union (pycountry lists only countries).
ORGANISATION_CODES = {"EU": "European Union"}


def _country(value: str) -> str:
    import pycountry

    code = value.upper()
    if code not in ORGANISATION_CODES and pycountry.countries.get(alpha_2=code) is None:
        raise ValueError(
            f"not an ISO 3166-1 alpha-2 country code or one of {', '.join(ORGANISATION_CODES)}: "
            f"{value!r}"
        )
    return code


def _css(value: str) -> str:
    from cssselect import SelectorError
    from parsel.csstranslator import HTMLTranslator

    try:
        HTMLTranslator().css_to_xpath(value)
    except SelectorError as exc:
        raise ValueError(f"not a CSS selector: {value!r} ({exc})") from exc
    return value


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {value!r} ({exc})") from exc
    return value


TimeZone = Annotated[str, AfterValidator(_zone)]
Country = Annotated[str, AfterValidator(_country)]
#: A CSS selector (parsel syntax: `::text` and `::attr(name)` allowed), checked at load.
Css = Annotated[str, AfterValidator(_css)]
Regex = Annotated[str, AfterValidator(_regex)]

#: Release fields a source's health can require and `stnews check` counts.
RELEASE_FIELDS = (
    "title", "published", "modified", "body", "summary", "image_url", "attachments",
    "contact_org", "native_id",
)  # fmt: skip


class Strict(BaseModel):
    # Unknown keys are errors: a misspelt selector name must not be silently ignored.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ListSelectors(Strict):
    """How to read a list page. CSS selectors (parsel syntax, `::text`/`::attr()` allowed)."""

    item: Css  # one element per release on the list
    link: Css = "a::attr(href)"  # relative to the item; the item itself if it is the link
    title: Css | None = None  # relative to the item
    date: Css | None = None  # relative to the item
    next_page: Css | None = None  # on the page: the link to the next list page
    # Regular expression (searched) a detail URL must match: other links of the list items
    # (videos, external pages) are not releases.
    link_pattern: Regex | None = None
    # Regular expression with one group, applied to the detail URL: the site's own id.
    # Without it the detail URL itself identifies the release.
    id_pattern: Regex | None = None
    # Items whose title contains one of these are fixed notices, not news.
    skip_titles: list[str] = Field(default_factory=list)
    # Portals that list many agencies (korea.kr): the item's publisher (relative to the item),
    # and the publishers this source keeps. Items of other publishers are dropped and counted;
    # health reports them, since the list URL was meant to show this agency's items only.
    publisher: Css | None = None
    publishers: list[str] = Field(default_factory=list)


#: Release fields a ``labels`` table may fill from "Label: value" lines.
LABEL_FIELDS = ("published", "modified", "contact_org")


class DetailSelectors(Strict):
    """How to read a detail page. Fields its selectors miss are filled, in order, by the
    templates it names, by the list page or feed entry, then by generic extraction
    (trafilatura/htmldate), and the release records which stage filled each field."""

    title: Css | None = None
    date: Css | None = None
    # Regular expression with one group, applied to the date element's text
    # ("Date:\\s*(\\S+)"); without it the whole text is the date.
    date_pattern: Regex | None = None
    modified: Css | None = None
    modified_pattern: Regex | None = None
    body: Css | None = None
    remove: list[Css] = Field(default_factory=list)  # inside the body: not content
    summary: Css | None = None
    image: Css | None = None
    attachments: Css | None = None  # links (or download forms) of attached files
    contact_org: Css | None = None
    # "Label: value" lines: field -> regular expression(s) with one group, matched against
    # whole lines of the page's text (its chrome left out). Matching lines are not body.
    labels: dict[str, list[Regex]] = Field(default_factory=dict)
    # Where label lines are read: the elements this selects (default: the page without its
    # chrome, and the body).
    labels_in: Css | None = None
    # Lines that are never body wherever they stand (contact blocks, view counters): regular
    # expressions searched in each paragraph, in every stage, generic extraction included.
    drop_lines: list[Regex] = Field(default_factory=list)
    # A [[template]] these selectors build on: what this table leaves unset is the template's
    # (read as the source's own selectors).
    extends: str | None = None
    # Known templates of the same site's CMS ([[template]] names), tried in order when these
    # selectors leave the title, date or body empty.
    templates: list[str] = Field(default_factory=list)
    # Off: a body or date the selectors miss stays missing (health and `stnews check` see it)
    # instead of being filled by generic extraction.
    generic_fallback: bool = True

    @field_validator("labels", mode="before")
    @classmethod
    def _label_lists(cls, value: object) -> object:
        if isinstance(value, dict):
            return {key: [v] if isinstance(v, str) else v for key, v in value.items()}
        return value

    @field_validator("labels")
    @classmethod
    def _label_fields(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        unknown = sorted(set(value) - set(LABEL_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown label field(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(LABEL_FIELDS)}"
            )
        return value


class Template(DetailSelectors):
    """A known template of a site's CMS: detail selectors shared by its sources."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,40}$")
    templates: list[str] = Field(default_factory=list, max_length=0)
    extends: None = None


class DiscoverOptions(Strict):
    """Where the list is found when its URL is not known (or stops working): a page whose
    menu links to it, and how to recognise the link."""

    page: HttpUrl
    # Regular expressions (case-insensitive) for the link's text, most specific first.
    link_text: list[Regex] = Field(min_length=1)
    # Regular expression (searched) the list URL must match.
    link_pattern: Regex | None = None


class FeedOptions(Strict):
    """A source read from RSS/Atom."""

    # Follow each item to its detail page (when the feed carries only a stub).
    follow_links: bool = True
    max_bytes: int = Field(default=5 * 1024 * 1024, gt=0)
    timeout: float = Field(default=30.0, gt=0)
    # Keep only items whose link matches / does not match (e.g. press releases vs insights).
    include_links: Regex | None = None
    exclude_links: Regex | None = None
    # Where the same releases are also listed on an HTML page: checked now and then, and a
    # release on the page that the feed lacks is fetched and reported.
    check_page: str | None = None
    check_every: int = Field(default=6, ge=1)  # every Nth poll


class Health(Strict):
    min_first_page_items: int = Field(default=5, ge=0)
    required_fields: list[str] = Field(default_factory=lambda: ["title", "published", "body"])
    min_field_coverage: float = Field(default=0.9, ge=0, le=1)
    max_failure_ratio: float = Field(default=0.2, ge=0, le=1)
    # The source's rhythm: days without a new release after which it is stale (EC publishes
    # daily: 7; MEXT weekly: 21). Unset, the gap is learned from the stored releases (four
    # usual gaps, at least two weeks). A feed older than this while its check page lists
    # newer releases has stopped updating (degraded); without that evidence the source is
    # quiet (stale), not broken.
    max_quiet_days: int | None = Field(default=None, ge=1)

    @field_validator("required_fields")
    @classmethod
    def _known_fields(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in RELEASE_FIELDS]
        if unknown:
            raise ValueError(
                f"unknown release field(s) {', '.join(map(repr, unknown))}; "
                f"known: {', '.join(RELEASE_FIELDS)}"
            )
        return value


class SourceConfig(Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{1,40}$")
    agency: str = Field(min_length=2)
    agency_country: Country
    # The publisher's own side when a release announces cooperation: every other country or
    # organisation named is a partner, this one never is. Defaults to agency_country. An ISO
    # code or "EU" (the Commission and CORDIS publish for the Union: a member state named in
    # passing is not a partner of the EU). The classifier reads it (crawler/classify).
    home: Country | None = None
    # What "home" means for this source, in a sentence (shown by `stnews sources --json`).
    home_note: str | None = None
    language: str = Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    timezone: TimeZone
    kind: Literal["html", "feed", "page"] = "html"
    # "package.module:ClassName" of a spider with code of its own (sites that need it).
    spider: str | None = Field(default=None, pattern=r"^[\w.]+:\w+$")
    # Empty when the list URL is discovered ([source.discover]) rather than configured.
    start_urls: list[HttpUrl] = Field(default_factory=list)
    allowed_domains: list[str] = Field(default_factory=list)
    # strptime formats tried first for this source's dates; dateparser handles the rest.
    date_formats: list[str] = Field(default_factory=list)
    # Seconds between scheduled crawls.
    interval: int = Field(default=1800, ge=60)
    enabled: bool = True
    # Other names the site gives itself in page titles (its agency name is known already):
    # "Agency-Section-Page" and "Page - Agency" titles lose them.
    site_names: list[str] = Field(default_factory=list)
    # `[source.list]` in the file (`list` would shadow the builtin in this class).
    listing: ListSelectors | None = Field(default=None, alias="list")
    detail: DetailSelectors | None = None
    feed: FeedOptions | None = None
    discover: DiscoverOptions | None = None
    health: Health = Field(default_factory=Health)

    @field_validator("allowed_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        for domain in value:
            if "/" in domain or ":" in domain:
                raise ValueError(f"a domain, not a URL: {domain!r}")
        return value

    @model_validator(mode="after")
    def _kind_needs(self) -> SourceConfig:
        if not self.start_urls and self.discover is None:
            raise ValueError("start_urls is empty and there is no [source.discover] table")
        if self.spider:
            return self  # the spider class knows its pages
        if self.kind == "html" and self.listing is None:
            raise ValueError("an html source needs a [source.list] table (or a spider class)")
        if self.kind == "page" and self.detail is None:
            raise ValueError("a page source needs a [source.detail] table (or a spider class)")
        return self

    # The [[template]] tables ``detail.templates`` names, in order (set when the file loads).
    _templates: tuple[Template, ...] = PrivateAttr(default=())

    @property
    def templates(self) -> tuple[Template, ...]:
        """The known CMS templates this source's detail pages fall back to, in order."""
        return self._templates

    @property
    def home_code(self) -> str:
        """The publisher's own side: ``home``, else the agency's country."""
        return self.home or self.agency_country

    @property
    def start_url_strings(self) -> list[str]:
        return [str(url) for url in self.start_urls]


class SourcesFile(Strict):
    template: list[Template] = Field(default_factory=list)
    source: list[SourceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> SourcesFile:
        names = [s.name for s in self.source]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate source names: {', '.join(duplicates)}")
        known = {t.name for t in self.template}
        for source in self.source:
            detail = source.detail
            named = [*(detail.templates if detail else []), *([detail.extends] if detail and
                                                               detail.extends else [])]
            missing = [t for t in named if t not in known]
            if missing:
                raise ValueError(
                    f"source {source.name!r}, field 'detail.templates': no [[template]] named "
                    f"{', '.join(map(repr, missing))}"
                )
        return self


def sources_path() -> Path:
    """The sources file to read: ``$STNEWS_SOURCES``, else ``./sources.toml`` when the working
    directory has one, else the bundled default."""
    return user_sources_path(existing=True) or DEFAULT_SOURCES_FILE


def user_sources_path(existing: bool = False) -> Path | None:
    """The user's sources file, the one commands that edit sources write to:
    ``$STNEWS_SOURCES``, else ``./sources.toml`` (absolute, so a later change of directory does
    not move it). With ``existing``, ``./sources.toml`` counts only if it is there."""
    named = os.environ.get("STNEWS_SOURCES")
    if named:
        return Path(named)
    local = Path.cwd() / LOCAL_SOURCES_FILE
    return local if local.is_file() or not existing else None


def sources_for_editing() -> tuple[Path, str]:
    """Where a command that edits the sources writes, and the text it starts from: the user's
    file. ``./sources.toml`` starts as a copy of the bundled default when it is not there yet,
    so an edit never lands in the installed package. ``$STNEWS_SOURCES`` must exist."""
    path = user_sources_path()
    assert path is not None  # only None with existing=True
    start = path if path.is_file() or os.environ.get("STNEWS_SOURCES") else DEFAULT_SOURCES_FILE
    try:
        return path, start.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SourcesFileError(f"{start}: sources file not found") from exc


def load_sources(path: str | os.PathLike[str] | None = None) -> list[SourceConfig]:
    """Every source in the file, validated; raises SourcesFileError naming what is wrong."""
    path = Path(path) if path else sources_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SourcesFileError(f"{path}: sources file not found") from exc
    return parse_sources(text, path)


def parse_sources(text: str, path: str | os.PathLike[str] = "sources.toml") -> list[SourceConfig]:
    """The sources of a file's text (``path`` only names it in errors)."""
    path = Path(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourcesFileError(f"{path}: not valid TOML: {exc}") from exc
    try:
        parsed = SourcesFile.model_validate(data)
    except ValidationError as exc:
        raise SourcesFileError(_describe(path, data, exc)) from exc
    templates = {template.name: template for template in parsed.template}
    # Each source carries the templates it names, so a page object needs nothing else.
    return [_with_templates(source, templates) for source in parsed.source]


def _with_templates(source: SourceConfig, templates: dict[str, Template]) -> SourceConfig:
    detail = source.detail
    if detail is None:
        return source
    if detail.extends:
        # The template's selectors, then the source's own on top of them.
        base = templates[detail.extends].model_dump(exclude={"name", "templates", "extends"})
        own = detail.model_dump(exclude_unset=True)
        merged = {**base, **own}
        merged["labels"] = {**base["labels"], **own.get("labels", {})}
        merged["drop_lines"] = [*base["drop_lines"], *own.get("drop_lines", [])]
        merged["remove"] = [*base["remove"], *own.get("remove", [])]
        source = source.model_copy(update={"detail": DetailSelectors.model_validate(merged)})
    source._templates = tuple(templates[name] for name in detail.templates)
    return source


def _describe(path: Path, data: dict, exc: ValidationError) -> str:
    """ "sources.toml: source 'nstc', field 'list.item': Field required" lines."""
    tables = data.get("source") if isinstance(data.get("source"), list) else []
    lines = []
    for error in exc.errors():
        location = list(error["loc"])
        where = "file"
        if len(location) >= 2 and location[0] == "source" and isinstance(location[1], int):
            index = location[1]
            table = tables[index] if index < len(tables) else {}
            name = table.get("name") if isinstance(table, dict) else None
            where = f"source {name!r}" if name else f"source #{index + 1}"
            location = location[2:]
        field = ".".join(str(part) for part in location) or "(table)"
        lines.append(f"{path}: {where}, field {field!r}: {error['msg']}")
    return "\n".join(lines)


_loaded: dict[tuple[str, int, int], list[SourceConfig]] = {}


def cached_sources(path: str | os.PathLike[str] | None = None) -> list[SourceConfig]:
    """``load_sources``, read again only when the file changes (``STNEWS_SOURCES`` may point
    elsewhere between calls: the cache is per file)."""
    path = Path(path) if path else sources_path()
    try:
        stat = path.stat()
    except FileNotFoundError as exc:
        raise SourcesFileError(f"{path}: sources file not found") from exc
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _loaded:
        _loaded[key] = load_sources(path)
    return _loaded[key]


def sources_by_name(path: str | os.PathLike[str] | None = None) -> dict[str, SourceConfig]:
    return {source.name: source for source in cached_sources(path)}

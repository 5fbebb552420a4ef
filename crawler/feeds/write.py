"""Writing every feed file, and the OPML list of them, into a directory a web server serves.

Files are replaced atomically (a reader never sees half a file) and only when their bytes
change, so the modification time and ETag a server derives from it stay put and readers
polling with If-Modified-Since get 304s until something really is new.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from hashlib import sha1
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from sqlalchemy import select

from crawler.feeds.build import (
    EMPTY_FEED_UPDATED,
    RENDERERS,
    TAG_PREFIX,
    FeedItem,
    FeedMeta,
    feed_meta,
    item_from_monitor_event,
    item_from_page_version,
    item_from_release,
)
from crawler.feeds.events import collapse
from crawler.feeds.labels import humanize, partner_label
from storage.db import Database
from storage.health import recent_events
from storage.models import Release, Source
from storage.pages import has_monitored_pages, latest_changes
from storage.queries import feed_releases, present_values

DEFAULT_OUT_DIR = Path("var/feeds")
DEFAULT_BASE_URL = "http://127.0.0.1:8080/feeds/"
DEFAULT_LIMIT = 50
FORMATS = ("rss", "atom", "json")
FORMAT_NAMES = {"atom": "Atom", "rss": "RSS", "json": "JSON Feed"}
OPML_NAME = "feeds.opml"
SITE_TITLE = "stnews"
PAGE_CHANGES = "page-changes"
MONITOR = "monitor"
# The cooperation feed has one entry per event; this file set keeps one entry per release.
PER_RELEASE = "cooperation-releases"

# Only names this module produces are ever deleted as stale.
_FEED_FILE = re.compile(r"^[a-z0-9][a-z0-9-]*\.(atom|rss|json)$")


class FileStatus(enum.StrEnum):
    WRITTEN = "written"
    UNCHANGED = "unchanged"
    REMOVED = "removed"


@dataclass(frozen=True)
class FeedFile:
    path: Path
    status: FileStatus
    entries: int | None = None  # None for the OPML file and removed files


@dataclass
class FeedReport:
    out_dir: Path
    files: list[FeedFile] = field(default_factory=list)

    def with_status(self, status: FileStatus) -> list[FeedFile]:
        return [f for f in self.files if f.status is status]

    @property
    def written(self) -> list[FeedFile]:
        return self.with_status(FileStatus.WRITTEN)

    @property
    def unchanged(self) -> list[FeedFile]:
        return self.with_status(FileStatus.UNCHANGED)

    @property
    def removed(self) -> list[FeedFile]:
        return self.with_status(FileStatus.REMOVED)

    def summary(self) -> str:
        kept = len(self.files) - len(self.removed)
        text = f"{kept} files in {self.out_dir}: {len(self.written)} written, "
        text += f"{len(self.unchanged)} unchanged"
        if self.removed:
            text += f", {len(self.removed)} stale removed"
        return text


@dataclass(frozen=True)
class FeedSpec:
    """One feed: its file stem, titles and the filter that selects its releases."""

    name: str
    key: str  # stable part of the feed's tag: id, e.g. "partner/FR"
    title: str
    description: str
    cooperation_only: bool = True
    partner: str | None = None
    source: str | None = None
    topic: str | None = None
    coop_type: str | None = None
    language: str | None = None
    formats: tuple[str, ...] = FORMATS
    # Cooperation feeds have one entry per event (crawler.feeds.events) unless this is False.
    per_event: bool = True

    def filters(self) -> dict[str, Any]:
        return {
            "cooperation_only": self.cooperation_only,
            "partner": self.partner,
            "source": self.source,
            "topic": self.topic,
            "coop_type": self.coop_type,
            "language": self.language,
        }


def feed_specs(values: Mapping[str, Sequence[str]], agencies: Mapping[str, str]) -> list[FeedSpec]:
    """The default cooperation feed, one feed per filter value present, and the all feed.

    Filtered feeds hold cooperation announcements only: they exist so a reader can follow
    "cooperation with France" without the rest of a ministry's news.
    """
    names = _Names()
    coop = "international S&T cooperation announcements"
    specs = [
        FeedSpec("cooperation", "cooperation", f"{SITE_TITLE}: cooperation", f"Newest {coop}."),
        FeedSpec(
            PER_RELEASE,
            PER_RELEASE,
            f"{SITE_TITLE}: cooperation, one entry per release",
            f"Newest {coop}, each release on its own (the cooperation feed has one per event).",
            per_event=False,
        ),
    ]
    for code in values.get("partners", ()):
        label = partner_label(code)
        specs.append(
            FeedSpec(
                names.take("partner", code),
                f"partner/{_q(code)}",
                f"{SITE_TITLE}: cooperation with {label}",
                f"Newest {coop} involving {label}.",
                partner=code,
            )
        )
    for name in values.get("sources", ()):
        agency = agencies.get(name) or name
        specs.append(
            FeedSpec(
                names.take("source", name),
                f"source/{_q(name)}",
                f"{SITE_TITLE}: cooperation, {agency}",
                f"Newest {coop} published by {agency} ({name}).",
                source=name,
            )
        )
    for topic in values.get("topics", ()):
        specs.append(
            FeedSpec(
                names.take("topic", topic),
                f"topic/{_q(topic)}",
                f"{SITE_TITLE}: cooperation on {humanize(topic)}",
                f"Newest {coop} on {humanize(topic)}.",
                topic=topic,
            )
        )
    for coop_type in values.get("coop_types", ()):
        specs.append(
            FeedSpec(
                names.take("type", coop_type),
                f"coop-type/{_q(coop_type)}",
                f"{SITE_TITLE}: cooperation, {humanize(coop_type)}",
                f"Newest {coop} of type {humanize(coop_type)}.",
                coop_type=coop_type,
            )
        )
    for language in values.get("languages", ()):
        specs.append(
            FeedSpec(
                names.take("lang", language),
                f"language/{_q(language)}",
                f"{SITE_TITLE}: cooperation ({language})",
                f"Newest {coop} in language {language}.",
                language=language,
            )
        )
    specs.append(
        FeedSpec(
            "all",
            "all",
            f"{SITE_TITLE}: all releases",
            "Newest S&T press releases from every source, cooperation or not.",
            cooperation_only=False,
        )
    )
    return specs


@dataclass(frozen=True)
class FeedDocument:
    """One rendered feed file, not yet written."""

    name: str
    data: bytes
    entries: int
    fmt: str
    meta: FeedMeta


def write_feeds(
    database: Database,
    out_dir: str | os.PathLike[str] = DEFAULT_OUT_DIR,
    base_url: str = DEFAULT_BASE_URL,
    limit: int = DEFAULT_LIMIT,
) -> FeedReport:
    """Write every feed and `feeds.opml` into `out_dir`; files are published at `base_url`."""
    if limit < 1:
        raise ValueError(f"feed limit must be positive, got {limit}")
    out = Path(out_dir)
    base = base_url if base_url.endswith("/") else base_url + "/"
    documents = render_feeds(database, base, limit)

    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out)
    previous = _listed_in_opml(out / OPML_NAME)
    report = FeedReport(out_dir=out)
    for doc in documents:
        written = write_if_changed(out / doc.name, doc.data)
        status = FileStatus.WRITTEN if written else FileStatus.UNCHANGED
        report.files.append(FeedFile(out / doc.name, status, doc.entries))
    opml = render_opml(documents, base)
    status = FileStatus.WRITTEN if write_if_changed(out / OPML_NAME, opml) else FileStatus.UNCHANGED
    report.files.append(FeedFile(out / OPML_NAME, status))
    # Feeds listed last time whose filter value is gone (e.g. a partner reclassified away).
    current = {doc.name for doc in documents}
    for name in sorted(previous - current):
        path = out / name
        if _FEED_FILE.match(name) and path.is_file():
            path.unlink()
            report.files.append(FeedFile(path, FileStatus.REMOVED))
    return report


#: A writer's temporary file older than this was left by a killed writer, not a running one.
STALE_TEMPORARY_SECONDS = 600


def _remove_stale_temporaries(out: Path) -> None:
    """Delete `.NAME.XXXX.tmp` files of writers killed between creating and renaming them."""
    cutoff = time.time() - STALE_TEMPORARY_SECONDS
    for leftover in out.glob(".*.tmp"):
        with contextlib.suppress(FileNotFoundError):  # another writer may be cleaning too
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()


def render_feeds(database: Database, base_url: str, limit: int) -> list[FeedDocument]:
    """Every feed file's bytes, read in one session so all files show the same data."""
    documents: list[FeedDocument] = []
    items_by_id: dict[int, FeedItem] = {}  # a release in many feeds is converted once
    with database.session(readonly=True) as session:
        values = present_values(session)
        agencies = dict(session.execute(select(Source.name, Source.agency)).tuples().all())

        def item_of(release: Release) -> FeedItem:
            if release.id not in items_by_id:
                items_by_id[release.id] = item_from_release(release)
            return items_by_id[release.id]

        for spec in feed_specs(values, agencies):
            releases = feed_releases(session, limit=limit, **spec.filters())
            if spec.cooperation_only and spec.per_event:
                items = collapse(session, releases, item_of)  # crawler.feeds.events
            else:
                items = [item_of(release) for release in releases]
            meta = feed_meta(
                id=f"{TAG_PREFIX}feed/{spec.key}",
                title=spec.title,
                description=spec.description,
                home_url=base_url,
                items=items,
                language=spec.language,
            )
            documents += _render(spec.name, meta, items, base_url, spec.formats)
        # Like a filtered feed, the page-changes feed exists once there is something to
        # follow: a monitored page, changed or not yet.
        if has_monitored_pages(session):
            items = [
                item_from_page_version(version, agencies.get(version.page.source))
                for version in latest_changes(session, limit=limit)
            ]
            meta = feed_meta(
                id=f"{TAG_PREFIX}feed/{PAGE_CHANGES}",
                title=f"{SITE_TITLE}: updated pages",
                description="Changes to the main text of monitored pages, newest first.",
                home_url=base_url,
                items=items,
            )
            documents += _render(PAGE_CHANGES, meta, items, base_url, FORMATS)
        # The monitor feed always exists: operators subscribe before anything goes wrong.
        items = [
            item_from_monitor_event(event, base_url)
            for event in recent_events(session, limit=limit)
        ]
        meta = feed_meta(
            id=f"{TAG_PREFIX}feed/{MONITOR}",
            title=f"{SITE_TITLE}: source health",
            description="Sources that broke, degraded, went quiet or recovered, newest first.",
            home_url=base_url,
            items=items,
        )
        documents += _render(MONITOR, meta, items, base_url, FORMATS)
    return documents


def _render(
    stem: str, meta: FeedMeta, items: list[FeedItem], base_url: str, formats: Sequence[str]
) -> list[FeedDocument]:
    documents = []
    for fmt in formats:
        name = f"{stem}.{fmt}"
        data = RENDERERS[fmt](meta, items, urljoin(base_url, name))
        documents.append(FeedDocument(name, data, len(items), fmt, meta))
    return documents


def render_opml(documents: Iterable[FeedDocument], base_url: str) -> bytes:
    """OPML 2.0 subscription list of every feed file, one folder per format.

    Every file is listed as asked; readers that import folders keep the formats apart, so
    one can keep the Atom folder and drop the others.
    """
    documents = list(documents)
    updated = max((doc.meta.updated for doc in documents), default=EMPTY_FEED_UPDATED)
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = f"{SITE_TITLE} feeds"
    ET.SubElement(head, "dateModified").text = _rfc822(updated)
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    for fmt in FORMATS:
        group = [doc for doc in documents if doc.fmt == fmt]
        if not group:
            continue
        folder = ET.SubElement(body, "outline", text=f"{SITE_TITLE} ({FORMAT_NAMES[fmt]})")
        for doc in group:
            title = f"{doc.meta.title} ({FORMAT_NAMES[fmt]})"
            ET.SubElement(
                folder,
                "outline",
                # OPML 2.0: "rss" marks any subscription, whatever the feed's format.
                type="rss",
                text=title,
                title=title,
                xmlUrl=urljoin(base_url, doc.name),
                htmlUrl=doc.meta.home_url,
            )
    ET.indent(root)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def write_if_changed(path: Path, data: bytes) -> bool:
    """Atomically replace `path` with `data` unless it already holds exactly those bytes.

    The new content goes to a temporary file in the same directory (same file system, so the
    rename is atomic), is flushed to disk, then renamed over the old file.
    """
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a web server must read feeds
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return True


def _listed_in_opml(path: Path) -> set[str]:
    """File names of the feeds the previous run listed (nothing if unreadable)."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return set()
    names = set()
    for outline in root.iter("outline"):
        url = outline.get("xmlUrl")
        if url:
            names.add(urlsplit(url).path.rsplit("/", 1)[-1])
    return names


class _Names:
    """File stems: "partner-fr"; unique even when two values slugify alike."""

    def __init__(self) -> None:
        self.used: set[str] = {"cooperation", "all", PAGE_CHANGES, PER_RELEASE}

    def take(self, prefix: str, value: str) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", value.casefold()).strip("-")
        name = f"{prefix}-{slug}" if slug else ""
        if not slug or name in self.used:
            name = f"{prefix}-{slug + '-' if slug else ''}{sha1(value.encode()).hexdigest()[:8]}"
        self.used.add(name)
        return name


def _q(value: str) -> str:
    return quote(value, safe="")


def _rfc822(value: datetime) -> str:
    return format_datetime(value, usegmt=True)

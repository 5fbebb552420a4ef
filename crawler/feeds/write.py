"""Writing every feed file, the OPML list of them and the calendar into a directory a web
server serves.

Files are replaced atomically (a reader never sees half a file) and only when their bytes
change, so the modification time and ETag a server derives from it stay put and readers
polling with If-Modified-Since get 304s until something really is new. Which feeds and
formats exist is ``crawler.feeds.catalog``; when a WebSub hub is configured, every feed file
a build changed is announced to it (``crawler.feeds.websub``).
"""

from __future__ import annotations

import contextlib
import enum
import os
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from sqlalchemy import select

from crawler import settings as defaults
from crawler.feeds import ical, websub
from crawler.feeds.build import (
    EMPTY_FEED_UPDATED,
    TAG_PREFIX,
    FeedItem,
    FeedMeta,
    feed_meta,
    item_from_monitor_event,
    item_from_page_version,
    item_from_release,
)
from crawler.feeds.catalog import (
    CALENDAR_NAME,
    FORMATS,
    KINDS,
    MONITOR,
    MONITOR_SPEC,
    OPML_FORMAT,
    OPML_NAME,
    PAGE_CHANGES,
    PAGE_CHANGES_SPEC,
    PER_RELEASE,
    SITE_TITLE,
    FeedSpec,
    feed_specs,
)
from crawler.feeds.defaults import DEFAULT_OUT_DIR
from crawler.feeds.events import collapse
from storage.db import Database
from storage.health import recent_events
from storage.models import Release, Source
from storage.pages import has_monitored_pages, latest_changes
from storage.queries import feed_releases, present_values

# For callers without settings; the values are the settings' defaults (crawler/settings.py).
DEFAULT_BASE_URL: str = defaults.STNEWS_FEED_BASE_URL
DEFAULT_LIMIT: int = defaults.STNEWS_FEED_LIMIT

__all__ = [
    "CALENDAR_NAME",
    "DEFAULT_BASE_URL",
    "DEFAULT_LIMIT",
    "DEFAULT_OUT_DIR",
    "FORMATS",
    "MONITOR",
    "OPML_NAME",
    "PAGE_CHANGES",
    "PER_RELEASE",
    "SITE_TITLE",
    "FeedDocument",
    "FeedFile",
    "FeedReport",
    "FeedSpec",
    "FileStatus",
    "feed_specs",
    "render_feeds",
    "render_opml",
    "write_feeds",
]


def _is_feed_file(name: str) -> bool:
    """Only names this module produces are ever deleted as stale."""
    stem, _, suffix = name.rpartition(".")
    return (
        suffix in FORMATS
        and bool(stem)
        and stem[0].isalnum()
        and all(c.isascii() and (c.isalnum() or c == "-") and not c.isupper() for c in stem)
    )


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
    # WebSub: how the hub took the announcement of the changed feeds (None: no hub, or
    # nothing changed).
    hub: websub.PingResult | None = None

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
        if self.hub is not None:
            text += f"; hub {self.hub.summary()}"
        return text


@dataclass(frozen=True)
class FeedDocument:
    """One rendered feed file, not yet written."""

    name: str
    data: bytes
    entries: int
    fmt: str
    meta: FeedMeta
    spec: FeedSpec


def write_feeds(
    database: Database,
    out_dir: str | os.PathLike[str] = DEFAULT_OUT_DIR,
    base_url: str = DEFAULT_BASE_URL,
    limit: int = DEFAULT_LIMIT,
    *,
    hub_url: str | None = None,
    ping_timeout: float = websub.DEFAULT_TIMEOUT,
) -> FeedReport:
    """Write every feed, `feeds.opml` and `calendar.ics` into `out_dir`; files are published
    at `base_url`. With `hub_url`, the feeds declare that WebSub hub and every feed file this
    build changed or removed is announced to it (a failed ping is logged, never raised)."""
    if limit < 1:
        raise ValueError(f"feed limit must be positive, got {limit}")
    out = Path(out_dir)
    base = base_url if base_url.endswith("/") else base_url + "/"
    documents = render_feeds(database, base, limit, hub_url=hub_url)
    calendar = ical.render_calendar(database, base_url=base)

    out.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(out)
    previous = _listed_in_opml(out / OPML_NAME)
    report = FeedReport(out_dir=out)
    for doc in documents:
        written = write_if_changed(out / doc.name, doc.data)
        status = FileStatus.WRITTEN if written else FileStatus.UNCHANGED
        report.files.append(FeedFile(out / doc.name, status, doc.entries))
    for name, data in ((OPML_NAME, render_opml(documents, base)), (CALENDAR_NAME, calendar)):
        written = write_if_changed(out / name, data)
        report.files.append(
            FeedFile(out / name, FileStatus.WRITTEN if written else FileStatus.UNCHANGED)
        )
    # Feeds listed last time whose filter value is gone (e.g. a partner reclassified away).
    current = {doc.name for doc in documents}
    stale_stems = {name.rpartition(".")[0] for name in previous} - {
        doc.name.rpartition(".")[0] for doc in documents
    }
    for name in sorted({FORMATS[f].file_name(stem) for stem in stale_stems for f in FORMATS}):
        path = out / name
        if name not in current and _is_feed_file(name) and path.is_file():
            path.unlink()
            report.files.append(FeedFile(path, FileStatus.REMOVED))
    if hub_url:
        changed = [
            urljoin(base, f.path.name)
            for f in report.files
            if f.status is not FileStatus.UNCHANGED and _is_feed_file(f.path.name)
        ]
        if changed:
            report.hub = websub.ping(hub_url, changed, timeout=ping_timeout)
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


def render_feeds(
    database: Database, base_url: str, limit: int, *, hub_url: str | None = None
) -> list[FeedDocument]:
    """Every feed file's bytes, read in one session so all files show the same data."""
    documents: list[FeedDocument] = []
    items_by_id: dict[int, FeedItem] = {}  # a release in many feeds is converted once
    with database.session(readonly=True) as session:
        values = present_values(session)
        rows = session.execute(select(Source.name, Source.agency, Source.language))
        agencies, languages = {}, {}
        for name, agency, language in rows:
            agencies[name], languages[name] = agency, language

        def item_of(release: Release) -> FeedItem:
            if release.id not in items_by_id:
                items_by_id[release.id] = item_from_release(release)
            return items_by_id[release.id]

        def add(spec: FeedSpec, items: list[FeedItem], language: str | None = None) -> None:
            meta = feed_meta(
                id=f"{TAG_PREFIX}feed/{spec.key}",
                title=spec.title,
                description=spec.description,
                home_url=base_url,
                items=items,
                language=language,
                hub_url=hub_url,
            )
            documents.extend(_render(spec, meta, items, base_url))

        for spec in feed_specs(values, agencies, languages):
            releases = feed_releases(session, limit=limit, **spec.filters())
            if spec.cooperation_only and spec.per_event:
                items = collapse(session, releases, item_of)  # crawler.feeds.events
            else:
                items = [item_of(release) for release in releases]
            add(spec, items, spec.language)
        # Like a filtered feed, the page-changes feed exists once there is something to
        # follow: a monitored page, changed or not yet.
        if has_monitored_pages(session):
            add(
                PAGE_CHANGES_SPEC,
                [
                    item_from_page_version(version, agencies.get(version.page.source))
                    for version in latest_changes(session, limit=limit)
                ],
            )
        # The monitor feed always exists: operators subscribe before anything goes wrong.
        add(
            MONITOR_SPEC,
            [
                item_from_monitor_event(event, base_url)
                for event in recent_events(session, limit=limit)
            ],
        )
    return documents


def _render(
    spec: FeedSpec, meta: FeedMeta, items: list[FeedItem], base_url: str
) -> list[FeedDocument]:
    documents = []
    for fmt in FORMATS.values():
        name = fmt.file_name(spec.name)
        data = fmt.render(meta, items, urljoin(base_url, name))
        documents.append(FeedDocument(name, data, len(items), fmt.name, meta, spec))
    return documents


def render_opml(documents: Iterable[FeedDocument], base_url: str) -> bytes:
    """OPML 2.0 subscription list: every feed once, in one format (``OPML_FORMAT``), in one
    folder per kind of feed ("Cooperation", "By partner", ...).

    A reader importing it subscribes to each feed once; the other formats of each feed are
    linked from the front page. ``type="rss"`` is OPML 2.0's word for any subscription.
    Only attributes the W3C validator accepts are written: no ``version`` (it knows only RSS
    values), no HTML ``description`` (titles with "S&T" are not HTML), folders with text only.
    """
    documents = [doc for doc in documents if doc.fmt == OPML_FORMAT]
    updated = max((doc.meta.updated for doc in documents), default=EMPTY_FEED_UPDATED)
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = f"{SITE_TITLE} feeds"
    ET.SubElement(head, "dateModified").text = _rfc822(updated)
    body = ET.SubElement(root, "body")
    for kind in KINDS.values():
        group = [doc for doc in documents if doc.spec.kind == kind.name]
        if not group:
            continue
        folder = ET.SubElement(body, "outline", text=kind.group)
        for doc in group:
            ET.SubElement(
                folder,
                "outline",
                type="rss",
                text=doc.meta.title,
                title=doc.meta.title,
                xmlUrl=urljoin(base_url, doc.name),
                htmlUrl=doc.meta.home_url,
                **({"language": doc.meta.language} if doc.meta.language else {}),
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
    return {name for name in names if _is_feed_file(name)}


def _rfc822(value: datetime) -> str:
    return format_datetime(value, usegmt=True)

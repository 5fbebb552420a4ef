"""Re-extract stored releases from their stored raw responses, without fetching anything.

After a selector or extractor change, ``reparse`` rebuilds each stored page as a Scrapy
response, runs its source spider's ``parse_detail`` on it, and passes the item through the
crawl's own normalize, validate and enrich pipelines. No crawler is started, so nothing can
be requested: the spider is only called.

What a stored page cannot tell is kept from the stored release:

- any field the page does not give (title, dates, summary, image, contact, attachments): a
  crawl may have taken it from the list page, which is not stored. Reparsing replaces
  values; it never blanks them (a summary that was the body's first paragraph follows the
  body);
- the body of a release whose text came from an attachment (``extraction = "attachment"``):
  the attachment is not stored, and the page holds only its stub;
- its identity (site id, URL) and how its list entry looked (``listing_hash``).

Outcomes per release: ``updated`` (title or body changed: stored through ``save_release``,
so ``updated_at`` moves as for any edit), ``corrected`` (only other fields changed, such as a
date or a summary: written without moving ``updated_at``, since the content readers see did
not change), ``unchanged``, or ``failed`` with a reason. Each write is its own short
transaction, and is skipped when a crawl stored a newer version of the release meanwhile.
"""

from __future__ import annotations

import asyncio
import difflib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse
from scrapy.settings import Settings
from scrapy.spiderloader import get_spider_loader
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crawler.items import ENTRY_VERSION, ReleaseItem
from crawler.normalize import first_paragraph
from crawler.pipelines import EnrichPipeline, NormalizePipeline, ValidatePipeline, to_record
from storage import Database, RawResponse, Release, ReleaseRecord, SaveOutcome, Source
from storage.rawpages import raw_body
from storage.releases import CONTENT_FIELDS, save_release

#: Releases read per read-only transaction.
BATCH = 100
#: Fields compared for a "corrected" release (title and body changes are "updated").
#: ``field_stages`` is not compared: the list page is not stored, so a value the crawl took
#: from it is kept, but re-reading the page alone may name another stage for it. It is
#: written with any other change.
CORRECTABLE_FIELDS = tuple(
    name for name in CONTENT_FIELDS
    if name not in ("url", "fingerprint", "listing_hash", "field_stages")
)  # fmt: skip

ProgressHook = Callable[[int, int], None]  # (releases done, total)


class ReparseError(Exception):
    """Why a release could not be re-extracted; its stored version stays as it is."""


@dataclass(frozen=True)
class StoredRelease:
    """What reparsing needs of a stored release and its raw response (plain data)."""

    id: int
    source: str
    native_id: str | None
    url: str
    title: str
    body: str
    published_at: datetime
    extraction: str
    fingerprint: str
    listing_hash: str | None
    values: dict[str, Any]  # CORRECTABLE_FIELDS as stored
    stages: dict[str, str]  # field_stages as stored
    raw_body: bytes
    raw_encoding: str | None
    final_url: str
    status: int
    fetched_at: datetime
    extractor_version: str

    @classmethod
    def of(cls, release: Release, raw: RawResponse) -> StoredRelease:
        return cls(
            id=release.id,
            source=release.source.name,
            native_id=release.native_id,
            url=release.url,
            title=release.title,
            body=release.body or "",
            published_at=release.published_at,
            extraction=release.extraction or "selectors",
            fingerprint=release.fingerprint,
            listing_hash=release.listing_hash,
            values={name: getattr(release, name) for name in CORRECTABLE_FIELDS},
            stages=dict(release.field_stages or {}),
            raw_body=raw_body(raw),
            raw_encoding=raw.encoding,
            final_url=raw.final_url,
            status=raw.status,
            fetched_at=raw.fetched_at,
            extractor_version=raw.extractor_version,
        )


@dataclass
class Change:
    release_id: int
    source: str
    url: str
    outcome: str  # "updated" or "corrected"
    fields: list[str]
    summary: str  # one line: what changed


@dataclass
class Failure:
    release_id: int
    source: str
    url: str
    reason: str


@dataclass
class ReparseReport:
    dry_run: bool = False
    checked: int = 0
    updated: int = 0
    corrected: int = 0
    unchanged: int = 0
    without_raw: int = 0  # stored releases that have no raw response to reparse
    changes: list[Change] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "failed": self.failed}


class _Counts:
    """The stats interface the pipelines use, without a crawler behind it."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self.values[key] = self.values.get(key, start) + count


class _Holder:
    """Stands in for the crawler the pipelines are built with: they only read its stats."""

    def __init__(self) -> None:
        self.stats = _Counts()


@dataclass
class _SourceTools:
    spider: Spider
    normalize: NormalizePipeline
    validate: ValidatePipeline
    enrich: EnrichPipeline


class Reparser:
    """Re-extracts stored releases with the current spiders and pipelines."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The spider loader is the one place that knows every source, coded or configured.
        self.loader = get_spider_loader(settings)
        self.available = set(self.loader.list())
        self._tools: dict[str, _SourceTools] = {}

    def tools(self, source: str) -> _SourceTools:
        if source not in self._tools:
            if source not in self.available:
                raise ReparseError(f"no spider for source {source!r}")
            spidercls = self.loader.load(source)
            # A Crawler object gives the spider its settings; it is never started.
            spider = spidercls.from_crawler(Crawler(spidercls, self.settings))
            holder: Any = _Holder()
            holder.spider = spider  # its allowed domains: a release link must be on them
            self._tools[source] = _SourceTools(
                spider, NormalizePipeline(holder), ValidatePipeline(holder), EnrichPipeline(holder)
            )
        return self._tools[source]

    def reextract(self, stored: StoredRelease) -> ReleaseItem:
        """The release as the current spider and pipelines make it from the stored page."""
        tools = self.tools(stored.source)
        parse = getattr(tools.spider, "parse_detail", None)
        if stored.extractor_version.endswith(f"/{ENTRY_VERSION}"):
            # Stored from its feed entry alone: the raw page is that entry, written by the
            # crawl (only the crawl sets this version; a response cannot pose as one).
            parse = getattr(tools.spider, "stored_entry_item", None)
        if parse is None:
            raise ReparseError(f"spider {stored.source!r} has no parse_detail")
        try:
            outputs = _collect(parse(offline_response(stored)))
        except Exception as exc:  # a spider bug must not stop the other releases
            raise ReparseError(f"parse_detail failed: {exc!r}") from exc
        items = [output for output in outputs if isinstance(output, ReleaseItem)]
        if not items:
            raise ReparseError("parse_detail yielded no release")
        item = items[0]
        # The page is re-read; the list page is not stored. A value the page does not give
        # may have come from the list, so it is kept: reparsing replaces, never blanks.
        for name in ("title", "image_url", "contact_org", "attachments"):
            if _blank(item.get(name)):
                item[name] = stored.values[name]
        if _blank(item.get("summary")) and not _derived_summary(stored):
            item["summary"] = stored.values["summary"]
        stages = item.get("field_stages") or {}
        keep_dates = {
            name: _blank(item.get(f"{name}_raw"))
            or _entry_dated(stored.stages.get(f"{name}_raw"), stages.get(f"{name}_raw"))
            for name in ("published", "modified")
        }
        if stored.extraction == "attachment" and item.get("extraction") != "attachment":
            item["body"] = stored.body  # the attachment is not stored; its text is
            item["extraction"] = "attachment"
        item["listing_hash"] = stored.listing_hash
        try:
            item = tools.normalize.process_release(item)
        except DropItem as exc:  # a link that is not a page of the source (issue 18)
            raise ReparseError(str(exc).split(":", 1)[0]) from exc
        for name, keep in keep_dates.items():
            stored_at = stored.values[f"{name}_at"]
            if keep or _same_day_less_precise(item.get(name), stored_at, item.get("timezone")):
                item[name] = stored_at
                if stored.stages.get(f"{name}_raw"):
                    item.setdefault("field_stages", {})[f"{name}_raw"] = stored.stages[
                        f"{name}_raw"
                    ]
        if not item["body"] and stored.body:
            raise ReparseError("no body extracted (stored body kept)")
        try:
            tools.validate.process_release(item)
        except DropItem as exc:
            raise ReparseError(str(exc).split(":", 1)[0]) from exc
        return tools.enrich.process_release(item)


#: Stages of the source's own layout: a date found there is the page's own statement.
def _layout_stage(stage: str | None) -> bool:
    return stage == "selectors" or bool(stage and stage.startswith("template:"))


def _entry_dated(stored_stage: str | None, new_stage: str | None) -> bool:
    """Whether a date the crawl took from the feed entry or list (not stored) must be kept:
    the page's layout gave none then, and what re-reading finds now comes from a stage the
    crawl never reached for it (generic extraction reads the page's metadata, which may
    name another day, and only the day). Re-extraction makes the crawl's choice again."""
    return stored_stage in ("feed", "list") and not _layout_stage(new_stage)


def _same_day_less_precise(new: Any, stored: Any, zone: str | None) -> bool:
    """Whether the page gives only the day of a release stored with its time of day (from
    its feed entry or list): the stored time is kept, not moved to local midnight."""
    if new is None or stored is None:
        return False
    local = ZoneInfo(zone or "UTC")
    new_local, stored_local = new.astimezone(local), stored.astimezone(local)
    return (
        new_local.date() == stored_local.date()
        and new_local.time() == time()
        and stored_local.time() != time()
    )


def _blank(value: Any) -> bool:
    return not (value.strip() if isinstance(value, str) else value)


def _derived_summary(stored: StoredRelease) -> bool:
    """Whether the stored summary is the body's first paragraph (normalization's default),
    which follows the body rather than being kept."""
    summary = stored.values["summary"]
    return not summary or summary == first_paragraph(stored.body)


def offline_response(stored: StoredRelease) -> HtmlResponse:
    """The stored page as the spider first saw it (final URL, status, decoded as then)."""
    return HtmlResponse(
        url=stored.final_url,
        status=stored.status,
        body=stored.raw_body,
        encoding=stored.raw_encoding,  # None: detected from the body, as at crawl time
        request=Request(stored.final_url),
    )


def _collect(result: Any) -> list[Any]:
    """Everything a callback produced, whatever its shape (generator, async, single)."""
    if result is None:
        return []
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    if hasattr(result, "__aiter__"):
        return asyncio.run(_drain(result))
    if isinstance(result, (dict, ReleaseItem, Request)):
        return [result]
    return list(result)


async def _await(awaitable: Any) -> Any:
    return await awaitable


async def _drain(iterator: Any) -> list[Any]:
    return [output async for output in iterator]


def reparse(
    database: Database,
    settings: Settings,
    sources: Sequence[str] = (),
    dry_run: bool = False,
    on_progress: ProgressHook | None = None,
) -> ReparseReport:
    """Re-extract the stored releases of ``sources`` (all when empty) and store what changed."""
    reparser = Reparser(settings)
    unknown = sorted(set(sources) - reparser.available)
    if unknown:
        raise KeyError(
            f"unknown source(s): {', '.join(unknown)}; "
            f"available: {', '.join(sorted(reparser.available))}"
        )
    report = ReparseReport(dry_run=dry_run)
    query = select(Release.id).join(Source).order_by(Release.id)
    if sources:
        query = query.where(Source.name.in_(list(sources)))
    with database.session(readonly=True) as session:
        ids = list(session.scalars(query.where(Release.raw.has())))
        report.without_raw = len(list(session.scalars(query.where(~Release.raw.has()))))
    for start in range(0, len(ids), BATCH):
        for stored in _load(database, ids[start : start + BATCH]):
            _reparse_one(database, reparser, stored, report)
            if on_progress is not None:
                on_progress(report.checked, len(ids))
    return report


def _load(database: Database, ids: Sequence[int]) -> list[StoredRelease]:
    with database.session(readonly=True) as session:
        releases = session.scalars(
            select(Release)
            .where(Release.id.in_(list(ids)))
            .options(selectinload(Release.source), selectinload(Release.raw))
            .order_by(Release.id)
        )
        return [StoredRelease.of(release, release.raw) for release in releases if release.raw]


def _reparse_one(
    database: Database, reparser: Reparser, stored: StoredRelease, report: ReparseReport
) -> None:
    report.checked += 1
    try:
        item = reparser.reextract(stored)
    except ReparseError as exc:
        report.failures.append(Failure(stored.id, stored.source, stored.url, str(exc)))
        return
    record = to_record(item, tuple(getattr(reparser.tools(stored.source).spider,
                                           "allowed_domains", None) or ()))
    # Reparsing edits a release's content, never which release it is; its raw page stays.
    record.native_id, record.url, record.raw = stored.native_id, stored.url, None
    changed = [name for name in CORRECTABLE_FIELDS if getattr(record, name) != stored.values[name]]
    if record.fingerprint != stored.fingerprint:
        outcome = "updated"
    else:
        outcome = "corrected" if changed else "unchanged"
    version = item.get("extractor_version") or stored.extractor_version
    if not report.dry_run and (outcome != "unchanged" or version != stored.extractor_version):
        conflict = _write(database, stored, record, outcome, version)
        if conflict:
            report.failures.append(Failure(stored.id, stored.source, stored.url, conflict))
            return
    if outcome == "unchanged":
        report.unchanged += 1
        return
    setattr(report, outcome, getattr(report, outcome) + 1)
    report.changes.append(
        Change(stored.id, stored.source, stored.url, outcome, changed, describe(stored, record))
    )


def _write(
    database: Database, stored: StoredRelease, record: ReleaseRecord, outcome: str, version: str
) -> str | None:
    """Store one outcome in its own transaction; the reason when it cannot be stored."""
    with database.session() as session:
        release = session.get(Release, stored.id)
        raw = session.get(RawResponse, stored.id)
        if release is None or raw is None:
            return "deleted while reparsing"
        if release.fingerprint != stored.fingerprint or raw.fetched_at != stored.fetched_at:
            return "a crawl stored a newer version meanwhile"
        if outcome == "updated":
            seen = release.last_seen_at  # reparsing is no sighting on the site
            saved = save_release(session, record)
            if saved is not SaveOutcome.UPDATED:  # it matched another row: a bug, not data
                raise RuntimeError(f"reparse of release {stored.id} saved as {saved}")
            release.last_seen_at = seen
        elif outcome == "corrected":
            for name in CORRECTABLE_FIELDS:
                setattr(release, name, getattr(record, name))
        # The stored release is now what this extractor makes of the page.
        raw.extractor_version = version
    return None


def describe(stored: StoredRelease, record: ReleaseRecord) -> str:
    """One line saying what changed, for the report."""
    parts = []
    if record.title != stored.title:
        parts.append(f"title: “{_short(stored.title)}” → “{_short(record.title)}”")
    if record.body != stored.body:
        parts.append(f"body: {_body_diff(stored.body, record.body)}")
    for name in CORRECTABLE_FIELDS:
        if name in ("title", "body") or getattr(record, name) == stored.values.get(name):
            continue
        before, after = stored.values.get(name), getattr(record, name)
        if isinstance(before, datetime) or isinstance(after, datetime):
            parts.append(f"{name}: {_iso(before)} → {_iso(after)}")
        else:
            parts.append(name)
    return "; ".join(parts)


def _body_diff(before: str, after: str) -> str:
    old, new = before.split("\n\n") if before else [], after.split("\n\n") if after else []
    counts = {"replace": 0, "insert": 0, "delete": 0}
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new).get_opcodes():
        if tag == "replace":
            counts["replace"] += max(i2 - i1, j2 - j1)
        elif tag == "insert":
            counts["insert"] += j2 - j1
        elif tag == "delete":
            counts["delete"] += i2 - i1
    said = [
        f"{n} paragraph{'s' if n != 1 else ''} {verb}"
        for n, verb in (
            (counts["replace"], "changed"),
            (counts["insert"], "added"),
            (counts["delete"], "removed"),
        )
        if n
    ]
    return f"{', '.join(said) or 'spacing changed'} ({len(before):,} → {len(after):,} chars)"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)

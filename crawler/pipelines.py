"""Item pipelines, in order: normalize, validate, (enrich), deduplicate, store.

Each is one small class that knows ReleaseItems and nothing about any site. Every release
that does not reach the database leaves a counted stat (``releases/dropped/<reason>``) and a
log line with its URL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError

from crawler.classify import classify
from crawler.database import database_for
from crawler.items import ReleaseItem
from crawler.normalize import clean_line, clean_text, fingerprint, first_paragraph, parse_date
from crawler.urls import canonical_url
from storage import ReleaseRecord, save_release
from storage.releases import RawPage

DROPPED = "releases/dropped"


class ReleasePipeline:
    """Shared plumbing: access to the crawler's stats and counted drops."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReleasePipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        # Releases only: other items (page snapshots) pass through to their own pipelines.
        return self.process_release(item) if isinstance(item, ReleaseItem) else item

    def process_release(self, item: ReleaseItem) -> ReleaseItem:
        raise NotImplementedError

    def drop(self, reason: str, item: ReleaseItem, log_level: str = "WARNING") -> DropItem:
        self.stats.inc_value(f"{DROPPED}/{reason}")
        return DropItem(f"{reason}: {item.get('url')}", log_level=log_level)


class NormalizePipeline(ReleasePipeline):
    """Clean text (NFC, whitespace, soft hyphens, line-break hyphenation), canonical URLs,
    timezone-aware UTC dates, a summary, and the content fingerprint."""

    def process_release(self, item: ReleaseItem) -> ReleaseItem:
        item["url"] = canonical_url(item["url"]) if item.get("url") else ""
        item["title"] = clean_line(item.get("title"))
        item["body"] = clean_text(item.get("body"))
        item["summary"] = clean_line(item.get("summary")) or first_paragraph(item["body"])
        item["contact_org"] = clean_line(item.get("contact_org")) or None
        item["attachments"] = [
            {"name": clean_line(a.get("name")) or a["url"], "url": a["url"]}
            for a in item.get("attachments") or []
            if a.get("url")
        ]
        zone, language = item.get("timezone") or "UTC", item.get("language") or "en"
        item["published"] = parse_date(item.get("published_raw"), zone, language)
        item["modified"] = parse_date(item.get("modified_raw"), zone, language)
        item["fingerprint"] = fingerprint(item["title"], item["body"])
        return item


class ValidatePipeline(ReleasePipeline):
    """Drop releases missing what every reader needs: a title, a URL and a plausible date."""

    #: How far ahead of now a publication date may be (clock skew, time zones).
    FUTURE_TOLERANCE = timedelta(days=2)
    EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)

    def process_release(self, item: ReleaseItem) -> ReleaseItem:
        if not item.get("url"):
            raise self.drop("missing-url", item)
        if not item.get("title"):
            raise self.drop("missing-title", item)
        published = item.get("published")
        if published is None:
            reason = "unparseable-date" if item.get("published_raw") else "missing-date"
            raise self.drop(reason, item)
        if not self.EARLIEST <= published <= datetime.now(UTC) + self.FUTURE_TOLERANCE:
            raise self.drop("implausible-date", item)
        return item


class EnrichPipeline(ReleasePipeline):
    """Classify: international cooperation or not, partners, topics, kind, with evidence."""

    def process_release(self, item: ReleaseItem) -> ReleaseItem:
        verdict = classify(
            item["title"], item.get("body") or "", item["agency_country"], item["language"]
        )
        item.update(verdict.to_dict())
        if verdict.is_cooperation:
            self.stats.inc_value("releases/cooperation")
        return item


class DeduplicatePipeline(ReleasePipeline):
    """Drop second sightings of a release within one crawl.

    The same release is often listed twice (pinned rows, URL variants, two hosts); it is
    recognized by its site id, its canonical URL or its content. Against releases stored by
    earlier crawls, the store step decides new / updated / unchanged.
    """

    def open_spider(self) -> None:
        self.seen: set[tuple[str, str, str]] = set()

    def process_release(self, item: ReleaseItem) -> ReleaseItem:
        source = item["source"]
        keys = {("url", source, item["url"]), ("content", source, item["fingerprint"])}
        if item.get("native_id"):
            keys.add(("id", source, str(item["native_id"])))
        if keys & self.seen:
            self.stats.inc_value("releases/duplicate")
            raise DropItem(f"duplicate: {item['url']}", log_level="DEBUG")
        self.seen |= keys
        return item


class StorePipeline(ReleasePipeline):
    """Write each release in its own transaction: all of it, with its raw page, or nothing."""

    def open_spider(self) -> None:
        self.database = database_for(self.crawler.settings["DATABASE_URL"])

    def process_release(self, item: ReleaseItem) -> ReleaseItem:
        record = to_record(item)
        try:
            with self.database.session() as session:
                outcome = save_release(session, record)
        except SQLAlchemyError as exc:
            self.stats.inc_value(f"{DROPPED}/storage-error")
            raise DropItem(f"storage-error: {item['url']}: {exc}", log_level="ERROR") from exc
        self.stats.inc_value(f"releases/{outcome.value}")
        return item


def to_record(item: ReleaseItem) -> ReleaseRecord:
    raw = None
    if item.get("raw_body") is not None:
        raw = RawPage(
            body=item["raw_body"],
            fetched_at=item.get("fetched_at") or datetime.now(UTC),
            final_url=item.get("final_url") or item["url"],
            status=int(item.get("http_status") or 200),
            encoding=item.get("raw_encoding"),
            extractor_version=item.get("extractor_version") or "",
        )
    optional: dict[str, Any] = {
        name: item.get(name)
        for name in ("is_cooperation", "confidence", "coop_type")
        if item.get(name) is not None
    }
    for name in ("evidence", "partners", "topics"):
        optional[name] = list(item.get(name) or [])
    return ReleaseRecord(
        source=item["source"],
        native_id=str(item["native_id"]) if item.get("native_id") else None,
        url=item["url"],
        title=item["title"],
        published_at=item["published"],
        modified_at=item.get("modified"),
        body=item.get("body") or "",
        summary=item.get("summary") or None,
        image_url=item.get("image_url") or None,
        attachments=list(item.get("attachments") or []),
        language=item["language"],
        agency=item["agency"],
        agency_country=item["agency_country"],
        contact_org=item.get("contact_org"),
        fingerprint=item["fingerprint"],
        listing_hash=item.get("listing_hash"),
        extraction=item.get("extraction") or "selectors",
        timezone=item.get("timezone") or "UTC",
        raw=raw,
        **optional,
    )

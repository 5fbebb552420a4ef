"""What the HTML pages show of stored rows: plain dicts for the templates, every scraped value
cleaned of characters HTML cannot carry (the templates escape it), every link a web link."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError

from crawler.events import ledger
from crawler.feeds.catalog import MONITOR, PAGE_CHANGES, PER_RELEASE, SPECIAL_SPECS
from crawler.feeds.labels import humanize, partner_name
from crawler.feeds.sanitize import normalize_space, web_url, xml_safe
from storage.models import Release
from storage.status import SourceStatus

MAIN_FEEDS = ("cooperation", PER_RELEASE, "all", PAGE_CHANGES, MONITOR)
# The feeds that are not of releases, titled as the writer titles them (render_feeds).
SPECIAL_TITLES = {name: (spec.title, spec.description) for name, spec in SPECIAL_SPECS.items()}


def text(value: str | None) -> str:
    return normalize_space(xml_safe(value or ""))


@cache
def language_name(tag: str) -> str:
    """ "Chinese (Traditional)" for zh-Hant, "Korean" for ko; the tag itself if unknown."""
    try:
        return Locale.parse(tag.replace("-", "_")).get_display_name("en") or tag
    except (ValueError, UnknownLocaleError):
        return tag


def local_date(release: Release) -> str:
    zone = ZoneInfo(release.source.timezone or "UTC")
    return release.published_at.astimezone(zone).date().isoformat()


def release_row(release: Release) -> dict[str, Any]:
    """A release in a list: enough to recognise it and where it came from."""
    return {
        "id": release.id,
        # Shown as stored, minus characters HTML cannot carry; the template escapes it.
        "title": text(release.title) or "(untitled)",
        "url": web_url(release.url),  # no javascript: link, whatever the page said
        "agency": text(release.agency or release.source.agency),
        "source": release.source.name,
        "date": local_date(release),
        "language": release.language,
        "language_name": language_name(release.language),
        "partners": [{"code": code, "name": partner_name(code)} for code in release.partners or []],
        "topics": [humanize(topic) for topic in release.topics or []],
        "coop_type": humanize(release.coop_type) if release.coop_type else None,
        "cooperation": bool(release.is_cooperation),
    }


def release_detail(release: Release) -> dict[str, Any]:
    """A release on its own page: the row, its text in paragraphs, its files."""
    paragraphs = [text(p) for p in (release.body or "").split("\n") if text(p)]
    attachments = []
    for item in release.attachments or []:
        url = web_url(str(item.get("url", ""))) if isinstance(item, dict) else None
        if url:
            attachments.append({"url": url, "name": text(str(item.get("name") or url))})
    return {
        **release_row(release),
        "paragraphs": paragraphs,
        "attachments": attachments,
        "summary": text(release.summary),
        "first_seen": release.first_seen_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
    }


def chain_row(chain: ledger.Chain) -> dict[str, Any]:
    return {
        "title": " – ".join(partner_name(code) for code in chain.parties),
        "track": humanize(chain.track),
        "steps": [
            {
                "event": step.event_id,
                "date": step.date.isoformat() if step.date else "?",
                "what": humanize(step.instrument or step.kind or "cooperation"),
                "ordinal": step.ordinal,
                "links": [
                    {
                        "title": text(link["title"]) or "(untitled)",
                        "url": web_url(link["url"]),
                        "agency": link["agency"],
                    }
                    for link in step.links
                ],
            }
            for step in chain.steps
        ],
    }


def status_row(status: SourceStatus) -> dict[str, Any]:
    run = status.last_run
    when = run and (run.finished_at or run.started_at)
    return {
        "source": status.source,
        "agency": status.agency,
        "health": status.health_status,
        "stale": status.stale,
        "since": status.health.since.date().isoformat() if status.health else None,
        "reasons": list(status.health.reasons or []) if status.health else [],
        "releases": status.releases,
        "run_status": run.status if run else None,
        "run_at": when.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if when else None,
    }


def utc_minute(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")

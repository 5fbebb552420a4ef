"""The messages: an alert (the new releases of one notify run, grouped by event) and a digest
(a period's releases grouped by partner). Each in three forms, so every Apprise service gets
the one it renders best: HTML (e-mail: Apprise adds a text part made from it), Markdown
(chat services) and plain text (webhooks, SMS). Links are written out in the text, and in
the HTML too, so the text part Apprise derives from the HTML still carries them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader

from crawler.feeds.labels import humanize, partner_name
from crawler.feeds.sanitize import normalize_space, web_url, xml_safe
from storage.models import Release

SITE = "stnews"
OTHER = "No partner named"

_env = Environment(
    loader=PackageLoader("crawler.notify", "templates"),
    autoescape=True,  # titles and agencies are scraped text
    trim_blocks=True,
    lstrip_blocks=True,
)

_HTML = _env.get_template("message.html")


@dataclass(frozen=True)
class Message:
    title: str
    html: str
    markdown: str
    text: str
    items: int  # releases in it


def item(release: Release) -> dict[str, Any]:
    zone = ZoneInfo(release.source.timezone or "UTC")
    return {
        "title": normalize_space(xml_safe(release.title)) or "(untitled)",
        "url": web_url(release.url) or "",
        "agency": normalize_space(xml_safe(release.agency or release.source.agency)),
        "date": release.published_at.astimezone(zone).date().isoformat(),
        "partners": ", ".join(partner_name(code) for code in release.partners or []),
        "type": humanize(release.coop_type) if release.coop_type else "",
        "language": release.language,
        "also": [],
    }


def _text_item(entry: dict[str, Any], bullet: str = "- ") -> list[str]:
    facts = " · ".join(
        v for v in (entry["agency"], entry["date"], entry["partners"], entry["type"]) if v
    )
    lines = [f"{bullet}{entry['title']}", f"  {facts}", f"  {entry['url']}"]
    for other in entry["also"]:
        lines.append(
            f"  also: {other['agency']} ({other['date']}): {other['title']} {other['url']}"
        )
    return lines


def _markdown_item(entry: dict[str, Any]) -> list[str]:
    facts = " · ".join(
        v for v in (entry["agency"], entry["date"], entry["partners"], entry["type"]) if v
    )
    title = entry["title"].replace("[", "\\[").replace("]", "\\]")
    lines = [f"- [{title}]({entry['url']})", f"  {facts}"]
    for other in entry["also"]:
        lines.append(
            f"  - also {other['agency']} ({other['date']}): [{other['title']}]({other['url']})"
        )
    return lines


def _render(
    title: str, intro: str, groups: list[dict[str, Any]], footer: str, count: int
) -> Message:
    text_lines = [title, ""]
    markdown_lines = [f"**{title}**", ""]
    if intro:
        text_lines += [intro, ""]
        markdown_lines += [intro, ""]
    for group in groups:
        if group["heading"]:
            text_lines += [group["heading"], "-" * len(group["heading"])]
            markdown_lines += [f"### {group['heading']}"]
        for entry in group["items"]:
            text_lines += _text_item(entry)
            markdown_lines += _markdown_item(entry)
        text_lines.append("")
        markdown_lines.append("")
    text_lines.append(footer)
    markdown_lines.append(f"_{footer}_")
    html = _HTML.render(title=title, intro=intro, groups=groups, footer=footer)
    return Message(title, html, "\n".join(markdown_lines), "\n".join(text_lines), count)


def alert(releases: Sequence[Release], events: dict[int, str], describe: str) -> Message:
    """The new releases of one run for one subscription; releases of one event (``events``:
    release id -> event id) are one entry, the first as its headline."""
    by_event: dict[str, dict[str, Any]] = {}
    entries: list[dict[str, Any]] = []
    for release in sorted(releases, key=lambda r: (r.published_at, r.id)):
        entry = item(release)
        key = events.get(release.id)
        if key is not None and key in by_event:
            by_event[key]["also"].append(entry)
            continue
        if key is not None:
            by_event[key] = entry
        entries.append(entry)
    entries.reverse()  # newest event first
    count = len(releases)
    if count == 1:
        title = f"{SITE}: {entries[0]['title']}"
    else:
        title = f"{SITE}: {count} new cooperation releases"
    footer = f"Sent by {SITE} for your subscription ({describe})."
    return _render(title, "", [{"heading": "", "items": entries}], footer, count)


def digest(
    releases: Sequence[Release], kind: str, start: datetime, end: datetime, zone: str, describe: str
) -> Message:
    """A period's releases, grouped by partner (a release naming two partners is under both;
    partners by name, "No partner named" last), newest first in each group."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for release in sorted(releases, key=lambda r: (r.published_at, r.id), reverse=True):
        entry = item(release)
        for code in release.partners or [None]:
            heading = partner_name(code) if code else OTHER
            groups.setdefault(heading, []).append(entry)
    ordered = sorted(groups, key=lambda name: (name == OTHER, name.casefold()))
    here = ZoneInfo(zone)
    first_day = start.astimezone(here).date()
    last_day = (end.astimezone(here) - timedelta(seconds=1)).date()
    span = first_day.isoformat() if first_day == last_day else f"{first_day} to {last_day}"
    plural = "s" if len(releases) != 1 else ""
    title = f"{SITE} {kind} digest, {span}: {len(releases)} cooperation release{plural}"
    intro = (
        f"Cooperation releases first seen from {start.astimezone(here):%Y-%m-%d %H:%M} to "
        f"{end.astimezone(here):%Y-%m-%d %H:%M} ({zone}), grouped by partner."
    )
    footer = f"Sent by {SITE} for your subscription ({describe})."
    return _render(
        title,
        intro,
        [{"heading": name, "items": groups[name]} for name in ordered],
        footer,
        len(releases),
    )

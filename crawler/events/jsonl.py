"""JSON Lines in, JSON Lines out for ``stnews cluster``: one ``{"id", "event"}`` per input line.

Every input line yields exactly one output line, in input order: ``{"id": ..., "event": ...}``
or ``{"error": ..., "line": n}`` (1-based; with the ``id`` when the line had one) for a blank,
malformed or invalid line. All lines are read before linking, so an event's members are found
whatever their order; the event id derives from its earliest member's ``id`` (see
``crawler.events.linker``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from .dates import parse_published
from .linker import link_all
from .signals import Release, extract

_TEXT_FIELDS = ("title", "body", "language", "agency", "agency_country", "published")


def cluster_lines(lines: Iterable[str]) -> Iterator[str]:
    results: list[dict[str, object]] = []
    signals = []
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        parsed = _parse(line, number, seen)
        if isinstance(parsed, dict):
            results.append(parsed)
            continue
        seen.add(parsed.key)
        signals.append(extract(parsed))
        results.append({"id": parsed.key})
    linker = link_all(signals)
    for result in results:
        if "error" not in result:
            result["event"] = linker.event_of[str(result["id"])]
        yield json.dumps(result, ensure_ascii=False)


def _parse(line: str, number: int, seen: set[str]) -> Release | dict[str, object]:
    if not line.strip():
        return {"error": "blank line: expected a JSON object", "line": number}
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"invalid JSON: {exc.msg} at column {exc.colno}", "line": number}
    if not isinstance(obj, dict):
        return {"error": f"expected a JSON object, got {type(obj).__name__}", "line": number}
    key = obj.get("id")
    if isinstance(key, bool) or not isinstance(key, str | int) or str(key) == "":
        return {"error": "'id' must be a non-empty string or an integer", "line": number}
    key = str(key)
    error = _check(obj, key, seen)
    if error:
        return {"error": error, "line": number, "id": key}
    try:
        published, month = parse_published(obj.get("published"))
    except ValueError as exc:
        return {"error": str(exc), "line": number, "id": key}
    return Release(
        key=key,
        title=obj.get("title") or "",
        body=obj.get("body") or "",
        language=obj.get("language") or "",
        agency=obj.get("agency") or "",
        agency_country=(obj.get("agency_country") or "").upper(),
        published=published,
        published_month=month,
    )


def _check(obj: dict[str, object], key: str, seen: set[str]) -> str | None:
    if key in seen:
        return f"duplicate id {key!r}"
    bad = [f for f in _TEXT_FIELDS if obj.get(f) is not None and not isinstance(obj[f], str)]
    if bad:
        return f"fields must be strings: {', '.join(bad)}"
    if not (obj.get("title") or obj.get("body")):
        return "object has neither 'title' nor 'body'"
    country = obj.get("agency_country") or ""
    if country and not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
        return f"agency_country must be a two-letter code, got {country!r}"
    return None


__all__ = ["cluster_lines"]

"""JSON Lines in, JSON Lines out: one classified object (or one error object) per input line."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping

from .engine import classify

_FIELDS = ("title", "body", "agency_country", "language", "home")


def classify_lines(lines: Iterable[str], homes: Mapping[str, str] | None = None) -> Iterator[str]:
    """Classify each JSON line ``{"title", "body", "agency_country", "language"}``. The home
    side is the line's ``"home"``, else the home of its ``"source"`` in ``homes`` (what
    ``stnews releases --json`` prints carries the source), else its ``agency_country``.

    Every input line yields exactly one output line, in order: the input object with
    ``is_cooperation``, ``confidence``, ``partners``, ``topics``, ``coop_type`` and ``evidence``
    added, or ``{"error": ..., "line": n}`` (1-based) for a blank, malformed or invalid line.
    """
    for number, line in enumerate(lines, start=1):
        yield classify_line(line, number, homes)


def classify_line(line: str, number: int, homes: Mapping[str, str] | None = None) -> str:
    """One input line (``number`` is 1-based) as its one output line."""
    return json.dumps(_one(line, number, {} if homes is None else homes), ensure_ascii=False)


def _one(line: str, number: int, homes: Mapping[str, str]) -> dict[str, object]:
    if not line.strip():
        return {"error": "blank line: expected a JSON object", "line": number}
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"error": f"invalid JSON: {exc.msg} at column {exc.colno}", "line": number}
    if not isinstance(obj, dict):
        return {"error": f"expected a JSON object, got {type(obj).__name__}", "line": number}
    bad = [k for k in _FIELDS if k in obj and obj[k] is not None and not isinstance(obj[k], str)]
    if bad:
        return {"error": f"fields must be strings: {', '.join(bad)}", "line": number}
    if not (obj.get("title") or obj.get("body")):
        return {"error": "object has neither 'title' nor 'body'", "line": number}
    result = classify(
        obj.get("title") or "",
        obj.get("body") or "",
        obj.get("home") or _home_of(obj, homes) or obj.get("agency_country") or "",
        obj.get("language") or "",
    )
    return {**obj, **result.to_dict()}


def _home_of(obj: dict[str, object], homes: Mapping[str, str]) -> str | None:
    # Only a line that names its source consults ``homes`` (which the command reads lazily).
    source = obj.get("source")
    return None if source is None else homes.get(str(source))

"""Page titles without the agency and section names sites wrap them in.

Two forms are common on government sites:

- ``Agency-Section-Page`` (NSTC: ``國家科學及技術委員會-網站政策及宣告-政府網站資料開放宣告``):
  the first part names the site, the last is the page;
- ``Page - Agency`` or ``Page | Section | Agency`` (and EY's ``Page (Agency-Section Detail)``):
  the page comes first.

A part is only removed when it is (or contains) a name the source is known by: its agency,
its ``site_names`` in sources.toml, or the page's own ``og:site_name``. A hyphen inside a
title ("Taiwan-France", "U.S.-Taiwan") therefore never splits it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Separators between title parts: spaced dashes and bars, or bare hyphens/dashes (NSTC).
_SPACED = re.compile(r"\s+[|｜–—-]\s+|\s*[|｜]\s*")
_BARE = re.compile(r"[-–—]")
# A trailing parenthetical: "Title (Executive Yuan, R.O.C. (Taiwan)-Press Releases Detail)".
_TRAILING_PARENS = re.compile(r"\s*[(（](?P<inner>.*)[)）]\s*$")
_SPACES = re.compile(r"\s+")


def _fold(text: str) -> str:
    return _SPACES.sub(" ", text).strip().casefold()


def _is_name(part: str, names: list[str]) -> bool:
    folded = _fold(part)
    return bool(folded) and any(name in folded or folded == name for name in names)


def site_names(*groups: Iterable[str | None]) -> list[str]:
    """Folded names (and their hyphen-separated parts) to recognise in titles."""
    found: list[str] = []
    for group in groups:
        for name in group:
            if not name:
                continue
            for piece in (name, *re.split(r"\s*[-|｜–—]\s*", name)):
                folded = _fold(piece)
                # One-letter or very short pieces ("R.O.C.") would match too much.
                if len(folded) >= 4 and folded not in found:
                    found.append(folded)
    return found


def clean_title(
    title: str | None, names: list[str], headings: Iterable[str] = ()
) -> str | None:
    """The page's own title, without site and section names (see the module docstring).

    ``headings`` are the page's visible headings: where a part of the title equals one, that
    part is the page's title, hyphens and all (``Agency-News-Taiwan-France STC``).
    """
    if not title:
        return title
    text = _SPACES.sub(" ", title).strip()
    folded_headings = {_fold(h) for h in headings if h and h.strip()}
    if folded_headings:
        for separator in (_SPACED, _BARE):
            bounds = [0, *(m.end() for m in separator.finditer(text))]
            for start in bounds:
                for end in [m.start() for m in separator.finditer(text, start)] + [len(text)]:
                    if end > start and _fold(text[start:end]) in folded_headings:
                        return text[start:end].strip()
    if not names:
        return text or None
    match = _TRAILING_PARENS.search(text)
    if match and _is_name(match["inner"], names) and match.start() > 0:
        text = text[: match.start()].strip()
    parts = [p for p in _SPACED.split(text) if p.strip()]
    if len(parts) > 1:
        if _is_name(parts[-1], names):
            # Page - [Section -] Agency: the page is the first part.
            return parts[0].strip()
        if _is_name(parts[0], names):
            return parts[-1].strip()
    separators = list(_BARE.finditer(text))
    if not separators:
        return text or None
    first, last = separators[0], separators[-1]
    if _is_name(text[: first.start()], names) and not _is_name(text[last.end() :], names):
        # Agency-Section-Page, hyphens without spaces (NSTC): without headings to tell the
        # section from the page, only a three-part title is split with confidence.
        rest = text[first.end() :]
        inner = list(_BARE.finditer(rest))
        return (rest[inner[0].end() :] if len(inner) == 1 else rest).strip() or text
    if _is_name(text[last.end() :], names) and not _is_name(text[: first.start()], names):
        return text[: last.start()].strip() or text
    return text or None

"""Dates a release mentions ("on November 23", "7월 6일", "11月23日") and the date of its event.

Every form is read by the small patterns below, which are exact and cost microseconds.
dateparser's search (used here before) cost milliseconds a lead, split "2023年11月23日" into
"年11月23日" and resolved it to another day, read "4月29日" as a month and a year, and read
relative English phrases ("five years", "today") against its fixed base as dates.

A mention without a year takes the year that puts it nearest before the publication date
(a release reports what happened, or announces what happens within days); a mention of a day
alone ("19일", "今(29)日") is taken in the publication month, or the month before when the
day lies ahead. Without a publication date a yearless mention stays partial: month and day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

# How far ahead of publication a mentioned date may lie and still be the release's event (an
# announcement of a meeting days away) and how far before (a report of last week's meeting).
AHEAD = timedelta(days=21)
BEHIND = timedelta(days=45)
# Characters of the body read for the event date: the lead reports the occurrence.
LEAD_CHARS = 400

_YMD = re.compile(
    r"(?<!\d)(\d{4})\s*[年년.\-/]\s*(\d{1,2})\s*[月월.\-/]\s*(\d{1,2})(?:\s*[日일])?(?!\d)"
)
_MD_ZH = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_MD_KO = re.compile(r"(?<!\d)(\d{1,2})\s*월\s*(\d{1,2})\s*일")
# "今(29)日", "(29)日", "29日" and "19일" alone: a day of the publication month.
_D_ZH = re.compile(r"(?<![\d月/])\(?(\d{1,2})\)?\s*日(?!本)")
_D_KO = re.compile(r"(?<![\d월])(\d{1,2})일(?![본간])")
# "今日"/"今天" (today) and "昨"/"昨日"/"昨天" (yesterday; not 昨年, last year): Chinese news
# leads date the occurrence relative to publication.
_REL_ZH = re.compile(r"(今日|今天|昨日|昨天|昨)(?!年)")
_MONTHS_EN = (
    "jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    "|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_MONTH_NUMBERS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DAY_EN = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?(?!\d)"
# The second day of a range ("21 and 22", "15-16", "21 to 22"), read and left out.
_RANGE_EN = r"(?:\s*(?:-|\u2013|and|to)\s*\d{1,2}(?:st|nd|rd|th)?(?!\d))?"
_YEAR_EN = r"(?P<year>(?:19|20)\d\d)(?!\d)"
# "November 29", "Nov. 29, 2023", "Sept 3 2024", "October 21 and 22", "May 15-16, 2022".
_EN_MD = re.compile(
    rf"\b(?P<mname>{_MONTHS_EN})\b\.?\s+{_DAY_EN}{_RANGE_EN}(?:,?\s+{_YEAR_EN})?", re.I
)
# "29 November 2023", "22 May", "21 to 22 March", "1st of June".
_EN_DM = re.compile(
    rf"(?<![\d.,])\b{_DAY_EN}{_RANGE_EN}\s+(?:of\s+)?(?P<mname>{_MONTHS_EN})\b\.?"
    rf"(?:,?\s+{_YEAR_EN})?",
    re.I,
)


@dataclass(frozen=True, slots=True)
class Mention:
    """A date the text names: full when ``year`` is known, else month and day only."""

    year: int | None
    month: int
    day: int
    in_title: bool
    pos: int

    def as_date(self) -> date | None:
        if self.year is None:
            return None
        try:
            return date(self.year, self.month, self.day)
        except ValueError:
            return None


def mentions(title: str, body: str, language: str, published: date | None) -> list[Mention]:
    """Dates named in the title and the lead, in reading order (title first)."""
    out: list[Mention] = []
    for in_title, text in ((True, title), (False, body[:LEAD_CHARS])):
        if text:
            out.extend(_scan(text, language, published, in_title))
    return out


def _scan(text: str, language: str, published: date | None, in_title: bool) -> list[Mention]:
    found: list[Mention] = []
    taken: list[tuple[int, int]] = []

    def add(start: int, end: int, y: int | None, m: int, d: int) -> None:
        if not (1 <= m <= 12 and 1 <= d <= 31):
            return
        if any(s < end and start < e for s, e in taken):
            return
        taken.append((start, end))
        found.append(_resolve(y, m, d, published, in_title, start))

    for match in _YMD.finditer(text):
        y, m, d = (int(g) for g in match.groups())
        if 1900 <= y <= 2100:
            add(match.start(), match.end(), y, m, d)
    lang = (language or "").lower()
    cjk = lang.startswith(("zh", "ja", "ko")) or not text.isascii()
    if cjk:
        for pattern in (_MD_ZH, _MD_KO):
            for match in pattern.finditer(text):
                add(match.start(), match.end(), None, int(match[1]), int(match[2]))
        if published is not None:
            for match in _REL_ZH.finditer(text):
                day = published - timedelta(days=0 if match[1].startswith("今") else 1)
                add(match.start(), match.end(), day.year, day.month, day.day)
            for pattern in (_D_ZH, _D_KO):
                for match in pattern.finditer(text):
                    day = int(match[1])
                    ref = published
                    month_back = day > ref.day + 3  # a day ahead of publication: last month
                    month, year = ref.month, ref.year
                    if month_back:
                        month, year = (12, year - 1) if month == 1 else (month - 1, year)
                    add(match.start(), match.end(), year, month, day)
    for start, end, y, m, d in _english(text, published):
        add(start, end, y, m, d)
    found.sort(key=lambda x: x.pos)
    return found


def _english(text: str, published: date | None) -> list[tuple[int, int, int | None, int, int]]:
    """English day-and-month dates ("November 29", "Nov. 29, 2023", "29 November 2023",
    "October 21 and 22", "on Friday (March 7)"), with the year only where the text gives one.

    Read by the two patterns below, not by dateparser's ``search_dates``: the search cost
    about 10 ms per lead (most of the post-crawl linking's CPU) and its import 50 MB, and
    what it found beyond these forms was noise for an event date ("five years", "today" and
    "Two weeks ago" read against its fixed base; "in January 2023 the two" as 2 January).
    A range ("May 15-16, 2022", "21 to 22 March") gives its first day.
    """
    out = []
    for match in _EN_MD.finditer(text):
        month = _month(match["mname"])
        if month is not None:
            year = int(match["year"]) if match["year"] else None
            out.append((match.start(), match.end(), year, month, int(match["day"])))
    for match in _EN_DM.finditer(text):
        month = _month(match["mname"])
        if month is not None:
            year = int(match["year"]) if match["year"] else None
            out.append((match.start(), match.end(), year, month, int(match["day"])))
    out.sort()
    return out


def _month(name: str) -> int | None:
    # "may" in lower case is the verb ("they may 3D-print"); the month is written "May"/"MAY".
    if name == "may":
        return None
    return _MONTH_NUMBERS[name[:3].lower()]


def _resolve(
    year: int | None, month: int, day: int, published: date | None, in_title: bool, pos: int
) -> Mention:
    if year is None and published is not None:
        best = None
        for y in (published.year - 1, published.year, published.year + 1):
            try:
                candidate = date(y, month, day)
            except ValueError:
                continue
            if candidate <= published + AHEAD and (best is None or candidate > best):
                best = candidate
        if best is not None:
            year = best.year
    return Mention(year, month, day, in_title, pos)


@dataclass(frozen=True, slots=True)
class EventDate:
    """When the occurrence happened, as well as the text tells.

    ``day`` is a full date when known; ``month_day`` a (month, day) without a year;
    ``stated`` whether the text named it (True) or only the publication date stands in.
    """

    day: date | None
    month_day: tuple[int, int] | None
    stated: bool


def event_date(found: list[Mention], published: date | None) -> EventDate:
    """The first mention in the title, else in the lead, that lies near publication."""
    for mention in sorted(found, key=lambda m: (not m.in_title, m.pos)):
        full = mention.as_date()
        if full is None:
            if published is None:
                return EventDate(None, (mention.month, mention.day), True)
            continue
        if published is None or published - BEHIND <= full <= published + AHEAD:
            return EventDate(full, (full.month, full.day), True)
    if published is not None:
        return EventDate(published, (published.month, published.day), False)
    return EventDate(None, None, False)


def parse_published(value: object) -> tuple[date | None, tuple[int, int] | None]:
    """A publication date from a string or date: (full date, or None; (year, month) or None).

    Accepts ISO dates and datetimes ("2023-11-29", "2023-11-29T08:00:00+08:00"), a year and
    month ("2023-11") and nothing. Anything else raises ValueError.
    """
    if value is None or value == "":
        return None, None
    if isinstance(value, datetime):
        return value.date(), (value.year, value.month)
    if isinstance(value, date):
        return value, (value.year, value.month)
    if not isinstance(value, str):
        raise ValueError(f"published must be a string, got {type(value).__name__}")
    text = value.strip()
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if match:
        y, m = int(match[1]), int(match[2])
        if not 1 <= m <= 12:
            raise ValueError(f"published: no month {m} in {value!r}")
        return None, (y, m)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"published: expected an ISO date, got {value!r}") from None
    return parsed.date(), (parsed.year, parsed.month)


def days_apart(a: date, b: date) -> int:
    return abs((a - b).days)


def near(a: date | None, b: date | None, days: int) -> bool:
    return a is not None and b is not None and days_apart(a, b) <= days


__all__ = ["EventDate", "Mention", "event_date", "mentions", "parse_published"]

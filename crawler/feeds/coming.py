"""Coming events a release names: "a meeting ... scheduled to take place in early May 2024",
"applications close on 31 March 2025", "방문 예정 ... 2024년 5월 3일".

Only what the text states is taken, at the precision it states it:

- a day ("May 3, 2024", "2024年5月3日") is a day;
- a month ("May 2024", "2024년 5월"), or a vague part of one ("early May 2024", "5月上旬",
  "5월 초"), is the whole month, never an invented day;
- a year alone ("in 2025"), a relative phrase ("next year") or a week is too vague for a
  calendar and is left out.

A date is "coming" when it lies after the release's publication day (a month: after its
month), and it must stand in a sentence that names an occasion (a meeting, a deadline, a
visit ...), so that "the 2030 target" or "since May 2023" never become calendar entries. When
a sentence names several dates, each date takes the occasion named between it and its
neighbours ("The application deadline is May 15, 2026, and results are expected in December
2026": the deadline is May 15; December names no occasion and is left out).

English dates are found by dateparser's search (``search_dates``) and their precision read
by its ``DateDataParser`` (``period``: day, month or year). Chinese, Japanese and Korean dates
are read by the small patterns below: dateparser's search splits "2024年5月3日" into pieces and
has no ROC (Minguo) years, which Taiwanese releases use ("113年5月"). The occasion words and
the vague-part words are hand-written lists for the same reason: no library classifies them.
Pure text code: no database, no clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

#: Characters of a release read for coming events (the rest of a very long text is ignored).
MAX_CHARS = 20_000
ROC_OFFSET = 1911

#: Occasions a calendar entry is about, by the words that name them (lower case).
OCCASIONS: dict[str, tuple[str, ...]] = {
    "deadline": (
        "deadline", "apply by", "applications close", "application period", "submission",
        "submit", "due by", "closes on", "open until", "until", "마감", "접수", "截止",
        "申請期限", "受付期間", "締切", "締め切り",
    ),
    "visit": ("visit", "delegation", "방문", "방한", "訪問", "訪台", "訪臺", "參訪", "来日"),
    "meeting": (
        "meeting", "committee", "commission", "forum", "conference", "symposium", "workshop",
        "summit", "dialogue", "seminar", "consultation", "roundtable", "expo", "exhibition",
        "ceremony", "회의", "위원회", "포럼", "심포지엄", "워크숍", "컨퍼런스", "회담", "會議",
        "会議", "委員會", "委員会", "論壇", "研討會", "フォーラム", "シンポジウム", "会合",
    ),
}  # fmt: skip
#: Words before a month that make it vague ("early May"): the entry is the whole month.
_VAGUE_EN = re.compile(
    r"(?:early|mid|late|end of|beginning of|start of|first half of|second half of|"
    r"middle of)[\s-]*(?:the\s+)?$",
    re.IGNORECASE,
)
_HYPHENATED_PART = re.compile(r"\b(mid|early|late)-(?=[A-Za-z])", re.IGNORECASE)
_SENTENCE = re.compile(r"[^.!?。！？\n]+(?:[.!?。！？]+|\n|$)")
_MONTH_WORD = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b", re.IGNORECASE
)
# CJK: year (Gregorian, or ROC with 2-3 digits), month and optional day; or month and day.
_CJK_YMD = re.compile(
    r"(?<!\d)(?:民國|民国)?(\d{2,4})\s*[年년]\s*(\d{1,2})\s*[月월]"
    r"(?:\s*(\d{1,2})\s*[日일])?"
    r"(?:\s*(上旬|中旬|下旬|초|중순|말|初|底|末))?"
)
_CJK_MD = re.compile(r"(?<![\d年년])(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]")


@dataclass(frozen=True, slots=True)
class ComingDate:
    """A coming date a release names: a day, or a whole month when the text says no more."""

    start: date
    period: str  # "day" or "month"
    occasion: str  # "meeting", "deadline", "visit"
    phrase: str  # the words that state the date, as written
    sentence: str  # the sentence it stands in

    @property
    def end(self) -> date:
        """The day after the last day (iCalendar's exclusive DTEND of an all-day entry)."""
        if self.period == "day":
            return date.fromordinal(self.start.toordinal() + 1)
        year, month = (
            (self.start.year + 1, 1)
            if self.start.month == 12
            else (self.start.year, self.start.month + 1)
        )
        return date(year, month, 1)


def coming_dates(text: str, published: date, language: str) -> list[ComingDate]:
    """Coming dates named in `text`, in reading order, each (occasion, start) once."""
    found: list[ComingDate] = []
    seen: set[tuple[date, str, str]] = set()
    for sentence in _sentences(text[:MAX_CHARS]):
        whole = _occasion(sentence)
        if whole is None:
            continue
        hits = sorted(_dates(sentence, published, language))
        for index, (position, end, start, period, phrase) in enumerate(hits):
            if not _after(start, period, published):
                continue
            before = hits[index - 1][1] if index else 0
            after = hits[index + 1][0] if index + 1 < len(hits) else len(sentence)
            window = sentence[before:position] + " " + sentence[end:after]
            occasion = _occasion(window) or (whole if len(hits) == 1 else None)
            if occasion is None:
                continue
            key = (start, period, occasion)
            if key not in seen:
                seen.add(key)
                found.append(ComingDate(start, period, occasion, phrase, sentence))
    return found


def _sentences(text: str) -> list[str]:
    return [" ".join(m.group(0).split()) for m in _SENTENCE.finditer(text) if m.group(0).strip()]


def _occasion(sentence: str) -> str | None:
    lowered = sentence.casefold()
    for occasion, words in OCCASIONS.items():
        if any(_has_word(lowered, word) for word in words):
            return occasion
    return None


def _has_word(text: str, word: str) -> bool:
    if not word.isascii():
        return word in text
    return re.search(rf"\b{re.escape(word)}", text) is not None


def _after(start: date, period: str, published: date) -> bool:
    if period == "month":
        return (start.year, start.month) > (published.year, published.month)
    return start > published


#: A date found: (start, end) in the sentence, first day, "day" or "month", the words.
Hit = tuple[int, int, date, str, str]


def _dates(sentence: str, published: date, language: str) -> list[Hit]:
    out = _cjk_dates(sentence, published)
    if _MONTH_WORD.search(sentence) or re.search(r"\d{4}-\d{2}-\d{2}", sentence):
        out += _english_dates(sentence, published)
    return out


def _cjk_dates(sentence: str, published: date) -> list[Hit]:
    out: list[Hit] = []
    taken: list[tuple[int, int]] = []
    for match in _CJK_YMD.finditer(sentence):
        year, month = int(match[1]), int(match[2])
        if len(match[1]) < 4:
            year += ROC_OFFSET
        vague = match[4] is not None
        day = int(match[3]) if match[3] and not vague else None
        built = _make(year, month, day)
        if built is not None:
            out.append((*match.span(), *built, match.group(0)))
            taken.append(match.span())
    for match in _CJK_MD.finditer(sentence):
        if any(s <= match.start() < e for s, e in taken):
            continue
        # No year: the publication's year, the only one the text can mean by a coming day.
        built = _make(published.year, int(match[1]), int(match[2]))
        if built is not None:
            out.append((*match.span(), *built, match.group(0)))
    return out


def _english_dates(sentence: str, published: date) -> list[Hit]:
    out: list[Hit] = []
    # dateparser's search skips "mid-June 2025" whole; "mid June 2025" it finds.
    sentence = _HYPHENATED_PART.sub(r"\1 ", sentence)
    for found, _ in _search(sentence, published):
        phrase = found.strip(" ,;:()")
        position = max(sentence.find(phrase), 0)
        if not (_MONTH_WORD.search(phrase) or re.search(r"\d{4}-\d{2}-\d{2}", phrase)):
            continue  # "three years", "a year of": relative phrases are not dates
        has_year = re.search(r"\b(?:19|20)\d\d\b", phrase) is not None
        core = _core(phrase)
        parsed = _parse(core, published)
        if parsed is None:
            continue
        value, period = parsed
        before = sentence[:position]
        if period == "day" and _VAGUE_EN.search(before):
            period = "month"  # "early May 3" does not occur; "mid-May 2024" parses as a day
        if period not in ("day", "month"):
            continue
        if period == "month" and not has_year:
            continue  # "in May": which May is not stated
        built = _make(value.year, value.month, value.day if period == "day" else None)
        if built is not None:
            text = core
            vague = _VAGUE_EN.search(before)
            if vague:
                text = (before[vague.start() :] + phrase).strip()
                text = text[: len(text) - len(phrase)] + core
            out.append((position, position + len(phrase), *built, text))
    return out


def _core(phrase: str) -> str:
    """The date words of a search hit: "On November 29, the" -> "November 29"."""
    words = phrase.split()
    drop = {"on", "in", "the", "by", "of", "at", "from", "until", "to", "and"}
    while words and words[0].casefold() in drop:
        words.pop(0)
    while words and words[-1].casefold().strip(",.") in drop:
        words.pop()
    return " ".join(words).strip(" ,")


def _make(year: int, month: int, day: int | None) -> tuple[date, str] | None:
    if not (1900 <= year <= 2100 and 1 <= month <= 12):
        return None
    if day is None:
        return date(year, month, 1), "month"
    try:
        return date(year, month, day), "day"
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _search(sentence: str, published: date) -> tuple[tuple[str, datetime], ...]:
    from dateparser.search import search_dates  # imported late: it takes ~0.3 s to load

    found = search_dates(
        sentence,
        languages=["en"],
        settings={
            "REQUIRE_PARTS": ["month"],
            "RELATIVE_BASE": datetime(published.year, published.month, published.day),
            "PREFER_DATES_FROM": "current_period",
        },
    )
    return tuple(found or ())


@lru_cache(maxsize=4096)
def _parse(phrase: str, published: date) -> tuple[datetime, str] | None:
    from dateparser.date import DateDataParser

    parser = DateDataParser(
        languages=["en"],
        settings={
            "RELATIVE_BASE": datetime(published.year, published.month, published.day),
            "PREFER_DATES_FROM": "current_period",
        },
    )
    data = parser.get_date_data(phrase)
    if data.date_obj is None:
        return None
    return data.date_obj, data.period or "day"

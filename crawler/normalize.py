"""Text and date normalization for releases: clean Unicode, repaired hyphenation, UTC dates."""

import email.utils
import hashlib
import re
import unicodedata
from datetime import UTC, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dateparser

from crawler.english_words import english_zipf

# Characters that carry no text: soft hyphen, zero-width space/joiners, BOM, word joiner.
# (A regex, not str.translate: one scan in C, about 8 times faster on non-ASCII text.)
_INVISIBLE = re.compile("[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
# Characters that are not text at all: C0/C1 controls other than whitespace, NUL (PostgreSQL
# refuses it in text), lone surrogates (no UTF-8 form: the database driver would raise) and
# the non-characters U+FFFE/U+FFFF. Scraped pages and script literals do carry them.
_NOT_TEXT = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# Runs of spaces to make one plain space. Only what changes is matched (a lone plain space is
# left alone): replacing every single space with itself made this the costliest step.
# The space characters other than the plain space, as a regular-expression class body.
_OTHER_SPACES = r"\t\r\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000"
_INLINE_SPACE = re.compile(rf"[ {_OTHER_SPACES}]{{2,}}|[{_OTHER_SPACES}]")
# A space character other than the plain space: the second branch above.
_ODD_SPACE = re.compile(rf"[{_OTHER_SPACES}]")
# Two line breaks with only spaces between: a paragraph break. Anchored on the line break so
# the engine only tries at "\n" (each chunk is stripped by clean_line).
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# A run of Latin words joined by hyphens: "Tech-nology", "Tai-wan-France". Possessive: a
# word not followed by a hyphen fails at once instead of backtracking letter by letter.
_HYPHENATED = re.compile(r"\b[A-Za-z]++(?:-[A-Za-z]++)+\b")
# A hyphen between two ASCII letters: every run above holds one (opening with the literal,
# so ``re`` looks for the hyphen alone).
_LETTER_HYPHEN = re.compile(r"-(?<=[A-Za-z]-)(?=[A-Za-z])")
_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

# A line break inside Chinese or Japanese running text, which writes no spaces between words:
# "科学技術\n協力" is one word wrapped by the page, and joining it with a space would split it
# (and break matching of cooperation terms). Han, kana and CJK punctuation on both sides;
# Korean (Hangul) writes spaces between words, so its line breaks stay spaces.
_CJK_NO_SPACE = (
    r"[\u3000-\u303f\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff01-\uff60]"
)
_CJK_LINE_BREAK = re.compile(rf"(?<={_CJK_NO_SPACE})[ \t]*\n[ \t\u3000]*(?={_CJK_NO_SPACE})")

# A joined word must be at least this common (Zipf scale: 3 = once per million words).
MIN_JOINED_ZIPF = 3.0


def _is_line_break_hyphen(left: str, right: str) -> bool:
    """Whether "left-right" is one word split at a line end rather than a compound.

    A line-break split continues in lower case ("Coopera-tion"), and the joined word is a
    common English word that is more frequent than its rarer fragment. Real compounds fail
    the second test: "net-zero" ("netzero" is rare), "start-ups" ("startups" is rarer than
    "ups"), "ministry-level", and names ("Ying-Chih") fail the first. wordfreq gives the
    frequencies; there is no library that repairs PDF-style hyphenation in running text.
    """
    if not right[:1].islower():
        return False
    joined = english_zipf((left + right).lower())
    rarer = min(english_zipf(left.lower()), english_zipf(right.lower()))
    return joined >= MIN_JOINED_ZIPF and joined > rarer


def _repair_run(match: re.Match[str]) -> str:
    parts = match.group(0).split("-")
    out = parts[0]
    fragment = parts[0]  # the piece since the last hyphen kept
    for part in parts[1:]:
        if _is_line_break_hyphen(fragment, part):
            out += part
            fragment += part
        else:
            out += "-" + part
            fragment = part
    return out


def repair_hyphenation(text: str) -> str:
    """Join words split by line-break hyphens without breaking real hyphenated compounds.

    What ``_HYPHENATED.sub(_repair_run, text)`` gives, without trying the pattern at every
    word: a run starts at the letters before its first letter-hyphen-letter, so the pattern
    is tried only there (found by a scan for the hyphen, which ``re`` does at C speed), in
    order and after the end of the run before (issue 19: half of ``clean_text``'s time)."""
    pieces: list[str] = []
    done = 0  # where the text after the last run replaced starts
    for hyphen in _LETTER_HYPHEN.finditer(text):
        start = hyphen.start()
        if start < done:
            continue  # inside the run just replaced
        while start and text[start - 1] in _ASCII_LETTERS:
            start -= 1
        # A start inside the run just replaced fails the pattern's word boundary.
        run = _HYPHENATED.match(text, start)
        if run is not None:
            pieces += (text[done:start], _repair_run(run))
            done = run.end()
    if not pieces:
        return text
    pieces.append(text[done:])
    return "".join(pieces)


def clean_line(text: str | None) -> str:
    """One line of text: NFC, no invisible characters, single spaces, repaired words."""
    if not text:
        return ""
    text = _NOT_TEXT.sub("", text)
    # ASCII (most paragraphs of most sources) is its own NFC and holds no invisible or CJK
    # character: the steps below that only change other characters are skipped for it.
    ascii_only = text.isascii()
    if not ascii_only:
        text = _INVISIBLE.sub("", unicodedata.normalize("NFC", text))
    if "\n" in text:  # the pattern can only match at a line break
        text = (text if ascii_only else _CJK_LINE_BREAK.sub("", text)).replace("\n", " ")
    if _odd_spacing(text):
        text = _INLINE_SPACE.sub(" ", text)
    text = text.strip()
    return repair_hyphenation(text) if "-" in text else text


def _odd_spacing(text: str) -> bool:
    """Whether ``_INLINE_SPACE`` can match: two spaces, or a space other than the plain one.
    Nearly every paragraph has neither, and telling so costs a tenth of the pattern's own
    scan, whose two branches are tried at every character (issue 19: 0.2 ms a release)."""
    if "  " in text:
        return True
    if text.isascii():
        return "\t" in text or "\r" in text or "\f" in text or "\v" in text
    return _ODD_SPACE.search(text) is not None


def clean_text(text: str | None) -> str:
    """Multi-paragraph text: each paragraph cleaned, paragraphs separated by a blank line."""
    if not text:
        return ""
    return _clean_text(text)


# The last texts cleaned: a body checked by the attachment middleware (is it a stub?) and
# cleaned again by NormalizePipeline is cleaned once. Bounded; a crawl's items pass in order.
@lru_cache(maxsize=128)
def _clean_text(text: str) -> str:
    paragraphs = (clean_line(chunk) for chunk in _PARAGRAPH_BREAK.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def first_paragraph(text: str) -> str:
    return text.split("\n\n", 1)[0] if text else ""


def fingerprint(title: str, body: str) -> str:
    """Hash of the content that identifies a version of a release: of its words, casefolded,
    one space between them (``" ".join(f"{title}\\n{body}".casefold().split())``)."""
    # Cleaned text has one space between the words of a paragraph and a blank line between
    # paragraphs: with those made spaces it is its own split-and-joined form, which is then
    # only checked (no whitespace but single inner spaces: every whitespace character but the
    # space is unprintable). Splitting 5 KB of non-ASCII text into words and joining them
    # was 0.065 of the 0.3 ms normalize spends on a bench release (issue 19).
    canonical = f"{title} {body}".casefold().replace("\n\n", " ")
    if not (
        canonical.isprintable()
        and "  " not in canonical
        and canonical[:1] != " "
        and canonical[-1:] != " "
    ):
        canonical = " ".join(canonical.split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# --- Dates ---------------------------------------------------------------------------------

# ROC (Minguo) calendar years, as Taiwanese government sites write them: 民國112年11月29日,
# 112年11月29日, 112/11/29, 112-11-29, 112.11.29. dateparser has no Minguo calendar, so these
# are rewritten to Gregorian (year + 1911) before it sees them.
_ROC_CJK = re.compile(r"(?:民國|民国)?\s*(\d{2,3})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
_ROC_NUMERIC = re.compile(r"(?<!\d)(\d{2,3})([-/.])(\d{1,2})\2(\d{1,2})(?!\d)")
_GREGORIAN_CJK = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
ROC_OFFSET = 1911
# Japanese era years, as Japanese ministries write them: 令和8年11月20日, 平成31年4月30日, and
# 令和元年5月1日 (元年: the era's first year). dateparser knows no Japanese calendar either; the
# era table comes from japanera (a new era is a library update, not a code change). Only the
# modern eras, which name a year in running text unambiguously.
_JAPANESE_ERA = re.compile(r"(明治|大正|昭和|平成|令和)\s*(元|\d{1,2})\s*年")
# A weekday after a CJK date, "2026年11月20日(金)" / "11月20日（金曜日）": not part of the date.
_CJK_WEEKDAY = re.compile(r"\(\s*[月火水木金土日](?:曜日?)?\s*\)")

# Formats these sites use, tried before dateparser's free-form parsing for speed and
# determinism ("2024/05/01" must never be read day-first).
KNOWN_FORMATS = [
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d",
    "%Y/%m/%d %H:%M",
    "%Y.%m.%d",
    "%b %d, %Y",
    "%B %d, %Y",
]


# The all-numeric formats, tried with strptime before dateparser. dateparser reads them the
# same way, but builds its settings and language data on every call (~0.45 ms against
# ~0.01 ms), twice per release in the crawl's reactor thread. Before 1900 zoneinfo and
# dateparser's pytz disagree on local mean time offsets: those go to dateparser (and are
# dropped as implausible anyway).
_NUMERIC_FORMATS = [f for f in KNOWN_FORMATS if "%b" not in f and "%B" not in f]
# A numeric format's fields are digits (``%d`` also " 1"), so it can only match a text with as
# many of each of these separators as it has itself. Formats are tried only where the counts
# agree: strptime raising ValueError for each format that does not fit was most of the fast
# path's cost (issue 19).
_SEPARATORS = "-/.:"


def _separator_counts(text: str) -> tuple[int, ...]:
    return tuple(text.count(separator) for separator in _SEPARATORS)


_FORMATS_BY_SEPARATORS: dict[tuple[int, ...], list[str]] = {}
for _numeric in _NUMERIC_FORMATS:
    _FORMATS_BY_SEPARATORS.setdefault(_separator_counts(_numeric), []).append(_numeric)


def _parse_numeric(text: str, timezone: str) -> datetime | None:
    for date_format in _FORMATS_BY_SEPARATORS.get(_separator_counts(text), ()):
        try:
            naive = datetime.strptime(text, date_format)
        except ValueError:
            continue
        if naive.year < 1900:
            return None
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return None  # a zone name only dateparser knows
        return naive.replace(tzinfo=zone).astimezone(UTC)
    return None


@lru_cache(maxsize=1)
def _era_first_years() -> dict[str, int]:
    import japanera

    modern = [era for era in japanera.ERA_DATA_GENERAL if era.since.year >= 1868]
    return {era.kanji: era.since.year for era in modern}


def _japanese_era_to_gregorian(text: str) -> str:
    """令和8年 -> 2026年 (the era's first year is its year 1)."""

    def year(match: re.Match[str]) -> str:
        era, number = match.groups()
        first = _era_first_years().get(era)
        if first is None:
            return match.group(0)
        relative = 1 if number == "元" else int(number)
        return f"{first + relative - 1}年"

    return _JAPANESE_ERA.sub(year, text)


def _roc_to_gregorian(text: str) -> str:
    def cjk(match: re.Match[str]) -> str:
        year, month, day = (int(g) for g in match.groups())
        return f"{year + ROC_OFFSET:04d}-{month:02d}-{day:02d}"

    def numeric(match: re.Match[str]) -> str:
        year, _, month, day = match.groups()
        return f"{int(year) + ROC_OFFSET:04d}-{int(month):02d}-{int(day):02d}"

    text = _GREGORIAN_CJK.sub(lambda m: "-".join(f"{int(g):02d}" for g in m.groups()), text)
    text = _ROC_CJK.sub(cjk, text)
    return _ROC_NUMERIC.sub(numeric, text)


# Dates as most sources write them, all ASCII, so none of the general path's rewriting applies
# to them (NFKC, eras, weekdays, ROC years: a ROC year has two or three digits):
# - year first, a date alone or with the time: exactly what the numeric ``KNOWN_FORMATS``
#   read (strptime takes one or two digits for each field but the year; a day " 1" is left to
#   the general path);
_YEAR_FIRST = re.compile(
    r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?: (\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?"
)
# The formats with a time: "-" with minutes or seconds, "/" with minutes.
_YEAR_FIRST_TIMES = {("-", False), ("-", True), ("/", False)}
# - ISO 8601 with a zone (feeds: 2019-04-26T15:00:00+09:00, ...Z), read by ``fromisoformat``;
_ISO_ZONED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})")
# - RFC 2822 with a numeric offset (RSS: Fri, 18 Jul 2025 06:00:00 +0900), read by the
#   standard library's e-mail date parser.
_RFC_2822 = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{1,2} "
    r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}"
)


def _parse_common(text: str, timezone: str) -> datetime | None:
    """``parse_date`` of a date in one of the shapes above, or None to take the general path.
    The general path's rewriting and strptime cost about 10 µs a date, twice a release, and
    dateparser (zoned feed dates) about 0.45 ms; tests/test_normalize.py holds them equal on
    every date string of the fixtures and real pages (issue 19)."""
    if not text.isascii():
        return None
    text = text.strip()
    if (match := _YEAR_FIRST.fullmatch(text)) is not None:
        return _year_first(match, timezone)
    try:
        if _ISO_ZONED.fullmatch(text):
            zoned = datetime.fromisoformat(text)
        elif _RFC_2822.fullmatch(text):
            zoned = email.utils.parsedate_to_datetime(text)
        else:
            return None
    except ValueError:
        return None  # no such day or time: the general path decides
    if zoned.tzinfo is None or zoned.year < 1900:
        return None  # "-0000" (a zone not known) reads as naive: the general path decides
    return zoned.astimezone(UTC)


def _year_first(match: re.Match[str], timezone: str) -> datetime | None:
    year, separator, month, day, hour, minute, second = match.groups()
    if hour is not None and (separator, second is not None) not in _YEAR_FIRST_TIMES:
        return None
    if int(year) < 1900:
        return None  # the general path's business (local mean time, dateparser)
    try:
        naive = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
        )
        zone = ZoneInfo(timezone)
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return naive.replace(tzinfo=zone).astimezone(UTC)


def parse_date(text: str | None, timezone: str = "UTC", language: str = "en") -> datetime | None:
    """An aware UTC datetime from a date as a site writes it, or None if it is not a date.

    A date without a zone is taken in ``timezone``, the agency's local zone.
    """
    if not text:
        return None
    if (common := _parse_common(text, timezone)) is not None:
        return common
    return _parse_general(text, timezone, language)


def _parse_general(text: str, timezone: str, language: str) -> datetime | None:
    """``parse_date`` of any date: the sites' calendars rewritten, then the numeric formats,
    then dateparser."""
    text = _japanese_era_to_gregorian(unicodedata.normalize("NFKC", text).strip())
    text = _CJK_WEEKDAY.sub("", text)
    if (language or "").lower().startswith("ja"):
        # Japanese sites never count years from 1912: "10年" there is no Minguo year.
        text = _GREGORIAN_CJK.sub(lambda m: "-".join(f"{int(g):02d}" for g in m.groups()), text)
    else:
        text = _roc_to_gregorian(text)
    if (numeric := _parse_numeric(text, timezone)) is not None:
        return numeric
    return _parse_with_dateparser(text, timezone, language)


def _parse_with_dateparser(text: str, timezone: str, language: str) -> datetime | None:
    languages = list(dict.fromkeys([language.split("-")[0], "en"]))
    try:
        parsed = dateparser.parse(
            text,
            date_formats=KNOWN_FORMATS,
            languages=languages,
            settings={
                "TIMEZONE": timezone,
                "RETURN_AS_TIMEZONE_AWARE": True,
                "TO_TIMEZONE": "UTC",
                "PREFER_DAY_OF_MONTH": "first",
                "DATE_ORDER": "YMD",
                "STRICT_PARSING": False,
            },
        )
    except (ValueError, OverflowError):
        return None
    return parsed.astimezone(UTC) if parsed else None

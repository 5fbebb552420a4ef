from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from crawler.normalize import clean_line, clean_text, fingerprint, parse_date, repair_hyphenation


@pytest.mark.parametrize(
    ("broken", "repaired"),
    [
        ("Science and Tech-nology", "Science and Technology"),
        ("Future Coopera-tion Focusing", "Future Cooperation Focusing"),
        ("who was al-so in attendance", "who was also in attendance"),
        ("scientific re-search and", "scientific research and"),
        ("like-minded coun-tries", "like-minded countries"),
        ("S&T indus-tries.", "S&T industries."),
        ("Direc-tor Paris", "Director Paris"),
        ("have gar-nered attention", "have garnered attention"),
        ("the Tai-wan-France S&T partnership", "the Taiwan-France S&T partnership"),
        ("marine technolo-gy", "marine technology"),
        ("Higher Ed-ucation", "Higher Education"),
    ],
)
def test_line_break_hyphenation_is_repaired(broken: str, repaired: str) -> None:
    assert repair_hyphenation(broken) == repaired


@pytest.mark.parametrize(
    "compound",
    [
        "Taiwan-France", "ministry-level", "net-zero", "cross-ministry", "Director-General",
        "Korea-France", "start-ups", "post-pandemic", "co-hosts", "Ying-Chih", "Kyung-hee",
        "industry-academia", "long-term", "co-operation", "follow-up", "e-mail",
    ],
)  # fmt: skip
def test_real_compounds_are_kept(compound: str) -> None:
    assert repair_hyphenation(f"a {compound} b") == f"a {compound} b"


def test_clean_line_handles_unicode_and_spacing() -> None:
    decomposed = "Re\u0301sume\u0301"  # e + combining acute
    assert clean_line(f"  {decomposed}\u00a0 Tech\u00adnology\u200b\n next ") == (
        "Résumé Technology next"
    )


def test_clean_text_keeps_paragraphs() -> None:
    text = "First  para-\ngraph line.\n\n\n  Second\u3000one. \n \n"
    assert clean_text(text) == "First para- graph line.\n\nSecond one."


def test_fingerprint_ignores_case_and_spacing_only() -> None:
    assert fingerprint("Title", "Body  text") == fingerprint("title", "body text")
    assert fingerprint("Title", "Body text") != fingerprint("Title", "Body text!")


TAIPEI_MIDNIGHT_2023_11_29 = datetime(2023, 11, 28, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "zone", "language", "expected"),
    [
        ("2023-11-29", "Asia/Taipei", "en", TAIPEI_MIDNIGHT_2023_11_29),
        ("2024/05/01", "Asia/Taipei", "en", datetime(2024, 4, 30, 16, tzinfo=UTC)),
        ("2017-10-19 16:58", "Asia/Taipei", "en", datetime(2017, 10, 19, 8, 58, tzinfo=UTC)),
        ("Jul 9, 2026", "Asia/Seoul", "en", datetime(2026, 7, 8, 15, tzinfo=UTC)),
        ("112-11-29", "Asia/Taipei", "zh", TAIPEI_MIDNIGHT_2023_11_29),
        ("112/11/29", "Asia/Taipei", "zh", TAIPEI_MIDNIGHT_2023_11_29),
        ("民國112年11月29日", "Asia/Taipei", "zh", TAIPEI_MIDNIGHT_2023_11_29),
        ("115年6月15日", "Asia/Taipei", "zh", datetime(2026, 6, 14, 16, tzinfo=UTC)),
        ("2024. 7. 6.", "Asia/Seoul", "ko", datetime(2024, 7, 5, 15, tzinfo=UTC)),
        ("2024년 7월 6일", "Asia/Seoul", "ko", datetime(2024, 7, 5, 15, tzinfo=UTC)),
        ("December 18, 2020", "America/Chicago", "en", datetime(2020, 12, 18, 6, tzinfo=UTC)),
        ("2023-11-29T10:00:00+01:00", "Asia/Taipei", "en", datetime(2023, 11, 29, 9, tzinfo=UTC)),
    ],
)
def test_dates_become_aware_utc(text: str, zone: str, language: str, expected: datetime) -> None:
    parsed = parse_date(text, zone, language)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("zone", ["Asia/Taipei", "Asia/Seoul", "UTC", "Europe/Paris"])
@pytest.mark.parametrize(
    "text",
    [
        "2024-02-24", "2024-2-4", "2023-11-29 10:30", "2023-11-29 10:30:05", "2024/02/24",
        "2024/02/24 09:00", "2024.02.24", "2024-03-31 02:30", "1899-12-31", "2024-02-30",
        "2024-13-01",
    ],
)  # fmt: skip
def test_numeric_dates_read_as_dateparser_reads_them(text: str, zone: str) -> None:
    """The strptime fast path gives dateparser's answer, or leaves the date to it."""
    from crawler.normalize import _parse_numeric, _parse_with_dateparser

    fast = _parse_numeric(text, zone)
    assert fast is None or fast == _parse_with_dateparser(text, zone, "en")
    assert parse_date(text, zone) == (fast or _parse_with_dateparser(text, zone, "en"))


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-24", "2024-2-4", "2024-02- 4", "2023-11-29 10:30", "2023-11-29 10:30:05",
        "2023-11-29  10:30", "2024/02/24", "2024/02/24 09:00", "2024.02.24", "2024.02.24.",
        "2024-02-24:", "2024/02-24", "24-02-2024", "2024-02-24T10:30", "Jul 9, 2026", "",
        "2024-02-24 10:30:05:01", "1899-12-31", "2024-02-30",
    ],
)  # fmt: skip
def test_numeric_formats_tried_by_their_separators_read_what_all_of_them_read(text: str) -> None:
    """The formats skipped for their separators could not have matched: the answer is the
    one of trying every format in order."""
    from crawler.normalize import _NUMERIC_FORMATS, _parse_numeric

    def every_format(text: str) -> datetime | None:
        for date_format in _NUMERIC_FORMATS:
            try:
                naive = datetime.strptime(text, date_format)
            except ValueError:
                continue
            if naive.year < 1900:
                return None
            return naive.replace(tzinfo=ZoneInfo("Asia/Taipei")).astimezone(UTC)
        return None

    assert _parse_numeric(text, "Asia/Taipei") == every_format(text)


@pytest.mark.parametrize("text", [None, "", "not a date", "Number of Views: 1,101"])
def test_non_dates_give_none(text: str | None) -> None:
    assert parse_date(text, "Asia/Taipei") is None


def test_paragraphs_survive_control_characters() -> None:
    from parsel import Selector

    from crawler.extract import paragraphs

    page = Selector(text="<div><p>Tai\x01wan</p>x\x02<span>drop</span>tail\x00<p>c</p></div>")
    assert paragraphs(page.css("div")[0], drop=["span"]) == ["Taiwan", "xtail", "c"]


def test_the_spacing_pre_test_changes_no_line() -> None:
    # Issue 19: clean_line skips the spacing pattern when the pre-test says it cannot match;
    # the pre-test must say so exactly when the pattern finds nothing, whatever the line.
    import random

    from crawler import normalize

    alphabet = " \t\r\f\v\u00a0\u2003\u202f\u3000ab-é科\n"
    rng = random.Random(19)
    for _ in range(5000):
        line = "".join(rng.choices(alphabet, k=rng.randrange(12)))
        assert normalize._odd_spacing(line) == bool(normalize._INLINE_SPACE.search(line)), line
    assert normalize.clean_line("a\u00a0b  c\td") == "a b c d"


def test_hyphenation_tried_at_hyphens_repairs_what_the_whole_scan_repairs() -> None:
    # Issue 19: repair_hyphenation tries its pattern only before a letter-hyphen-letter; it
    # must give what the pattern's own scan over the whole text gives. A small alphabet makes
    # runs, word boundaries (digits, accented letters, underscores) and broken words frequent;
    # the real texts are the development releases.
    import json
    import random
    from pathlib import Path

    from crawler import normalize

    def whole_scan(text: str) -> str:
        return normalize._HYPHENATED.sub(normalize._repair_run, text)

    rng = random.Random(20261207)
    pieces = ["-", "-", " ", "\n", "1", "é", "_", "a", "co", "opera", "tion", "Tech", "nology",
              "al", "so", "net", "zero", "Tai", "wan", "France", "x"]  # fmt: skip
    for _ in range(20000):
        text = "".join(rng.choices(pieces, k=rng.randrange(14)))
        assert normalize.repair_hyphenation(text) == whole_scan(text), text
    devset = Path(__file__).parent / "classify" / "devset.jsonl"
    for line in devset.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        for text in (item["title"], item["body"]):
            assert normalize.repair_hyphenation(text) == whole_scan(text)


def test_english_zipf_reads_what_wordfreq_reads() -> None:
    # Issue 19: a plain lower-case word missing from the small list reads 0 without wordfreq's
    # tokenizer; every other word still goes through it. Listed words, unlisted letter runs
    # and the words of the development releases (names, accents, apostrophes, digits) give
    # what zipf_frequency gives.
    import json
    import random
    import re
    from pathlib import Path

    from wordfreq import get_frequency_dict, zipf_frequency

    from crawler.english_words import WORDLIST, english_zipf

    rng = random.Random(19)
    listed = sorted(get_frequency_dict("en", WORDLIST))
    words = set(rng.sample(listed, 3000))
    words |= {
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(1, 9))) for _ in range(3000)
    }
    devset = Path(__file__).parent / "classify" / "devset.jsonl"
    for line in devset.read_text(encoding="utf-8").splitlines()[:200]:
        item = json.loads(line)
        for raw in re.findall(r"[^\s]+", f"{item['title']} {item['body']}"):
            words |= {raw, raw.lower(), raw.strip(".,'\"()")}
    assert any(english_zipf(w) == 0.0 for w in words) and any(english_zipf(w) > 5 for w in words)
    for word in words:
        assert english_zipf(word) == zipf_frequency(word, "en", wordlist=WORDLIST), word


def test_clean_line_skips_for_ascii_only_what_cannot_change_it() -> None:
    # Issue 19: an ASCII line skips NFC, the invisible characters and the CJK line breaks;
    # every line must come out as when all steps run.
    import random
    import unicodedata

    from crawler import normalize

    def all_steps(text: str) -> str:
        text = normalize._NOT_TEXT.sub("", text)
        text = normalize._INVISIBLE.sub("", unicodedata.normalize("NFC", text))
        if "\n" in text:
            text = normalize._CJK_LINE_BREAK.sub("", text).replace("\n", " ")
        if normalize._odd_spacing(text):
            text = normalize._INLINE_SPACE.sub(" ", text)
        text = text.strip()
        return normalize.repair_hyphenation(text) if "-" in text else text

    alphabet = ["a", "b", "-", " ", "  ", "\n", "\t", "\x01", "\x85", "e\u0301", "\u00ad",
                "\u200b", "科", "学", "\u3000", "é", "co", "opera", "tion"]  # fmt: skip
    rng = random.Random(20261207)
    for _ in range(20000):
        line = "".join(rng.choices(alphabet, k=rng.randrange(12)))
        assert normalize.clean_line(line) == all_steps(line), repr(line)

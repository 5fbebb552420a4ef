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


# --- Issue 19's shortcuts against the plain computations -----------------------------------


def _fingerprint_by_definition(title: str, body: str) -> str:
    import hashlib

    canonical = " ".join(f"{title}\n{body}".casefold().split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_every_whitespace_character_but_the_space_is_unprintable() -> None:
    # What the fingerprint's shortcut rests on: ``isprintable`` finds any whitespace left.
    import sys

    spaces = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()]
    assert len(spaces) > 20
    assert [c for c in spaces if c.isprintable()] == [" "]


def test_fingerprint_of_real_and_hard_texts_is_that_of_the_definition() -> None:
    import json
    import random
    from pathlib import Path

    from crawler.classify.scoring import held_out

    here = Path(__file__).parent / "classify"
    items = [json.loads(line) for line in (here / "realset.jsonl").read_text("utf-8").splitlines()]
    items = [item for item in items if not held_out(item["id"])]
    items += [json.loads(line) for line in (here / "devset.jsonl").read_text("utf-8").splitlines()]
    pairs = [(item["title"], item.get("body") or "") for item in items]
    assert len(pairs) > 1000
    # As the pipeline gives them (cleaned), and as they come.
    pairs += [(clean_line(title), clean_text(body)) for title, body in pairs]
    pairs += [
        ("", ""), (" ", ""), ("Title", ""), ("", "Body"), ("a\n", "\nb"), ("a", "\n\n\nb"),
        ("a  b", "c"), ("a", "b\u2028c"), ("a\u3000b", "c\xa0d"), ("ß", "Ǆ ǅ"), ("a", "b "),
        ("\ta", "b\x1cc"), ("a", "b\n\n"), ("İstanbul", "ﬁ\u1680x"), ("a", "b\u200bc"),
    ]  # fmt: skip
    characters = " \n\n\t\xa0\u2028\u3000\x85aB Ωß科-\u200b\u00ad"
    generator = random.Random(19)
    for _ in range(3000):
        pairs.append(
            tuple("".join(generator.choices(characters, k=generator.randint(0, 12))) for _ in "tb")
        )
    for title, body in pairs:
        assert fingerprint(title, body) == _fingerprint_by_definition(title, body), (title, body)


def _fixture_date_strings() -> set[tuple[str, str, str]]:
    """Every date a replayed crawl of the fixtures parsed (``tests/data/fixture_dates.jsonl``:
    ``parse_date``'s arguments recorded in ``stnews crawl --replay fixtures``, issue 19), and
    every raw date of the fixtures' expected outputs (the real pages' among them) in the
    zones of the sources."""
    import json
    from pathlib import Path

    root = Path(__file__).parent
    dates = {
        tuple(json.loads(line))
        for line in (root / "data" / "fixture_dates.jsonl").read_text("utf-8").splitlines()
    }

    def raw_dates(value: object) -> list[str]:
        if isinstance(value, dict):
            found = [v for k, v in value.items() if k.endswith("_raw") and isinstance(v, str)]
            return found + [d for v in value.values() for d in raw_dates(v)]
        if isinstance(value, list):
            return [d for v in value for d in raw_dates(v)]
        return []

    expected = sorted((root.parent / "fixtures").glob("**/*.expected.json"))
    assert any("/real/" in str(path) for path in expected)
    for path in expected:
        for text in raw_dates(json.loads(path.read_text("utf-8"))):
            for zone, language in (("Asia/Taipei", "zh"), ("Asia/Tokyo", "ja"), ("UTC", "en")):
                dates.add((text, zone, language))
    return dates  # type: ignore[return-value]


def test_common_date_shapes_parse_as_the_general_path_and_dateparser_do() -> None:
    from crawler.normalize import _parse_common, _parse_general, _parse_with_dateparser

    dates = _fixture_date_strings()
    assert len(dates) > 250
    shapes = {
        ("2026-11-28", "Asia/Taipei", "en"), ("2026-1-5", "Asia/Seoul", "ko"),
        ("2023/11/29", "Asia/Taipei", "en"), ("2023.06.27", "Asia/Seoul", "ko"),
        ("2016-11-24 10:32", "Asia/Taipei", "en"), ("2016-11-24 10:32:07", "UTC", "en"),
        ("2016/11/24 9:05", "Asia/Taipei", "en"), (" 2024-02-29 ", "Europe/Paris", "fr"),
        ("2019-04-26T15:00:00+09:00", "Asia/Tokyo", "ja"), ("2025-03-07T10:00:00Z", "UTC", "en"),
        ("2025-03-07T10:00:00-05:00", "America/Toronto", "en"),
        ("Fri, 18 Jul 2025 06:00:00 +0900", "Asia/Seoul", "ko"),
        ("Fri, 14 Apr 2023 11:00:00 -0400", "America/New_York", "en"),
        ("Mon, 1 Jan 2024 00:00:00 +0000", "Europe/London", "en"),
        ("Mon, 18 Jul 2025 06:00:00 +0900", "Asia/Seoul", "ko"),  # the wrong weekday
        ("Sun, 1 Jan 2023 00:00:00 +0530", "Asia/Kolkata", "en"),
        ("2024-02-29T23:59:59-12:00", "UTC", "en"),
    }  # fmt: skip
    # A local time that does not exist and one that happens twice: the general path's
    # numeric formats (zoneinfo, the first of the two) already read these unlike dateparser
    # (pytz); the shortcut reads them as the general path does.
    folds = {
        ("2024-03-31 02:30", "Europe/Berlin", "de"),
        ("2024-10-27 02:30", "Europe/Berlin", "de"),
    }
    # Shapes the shortcut must leave to the general path, with what that path makes of them.
    left = {
        ("2026-02-30", "UTC", "en"), ("2026-13-01", "UTC", "en"), ("2026-00-10", "UTC", "en"),
        ("1899-12-31", "Asia/Taipei", "en"), ("2016/11/24 10:32:07", "UTC", "en"),
        ("2016.11.24 10:32", "UTC", "en"), ("2016-11-24 24:00", "UTC", "en"),
        ("112-11-29", "Asia/Taipei", "zh"), ("2024-05-01", "No/Such_Zone", "en"),
        ("Fri, 18 Jul 2025 06:00:00 GMT", "UTC", "en"), ("2025-07-18T06:00:00", "UTC", "en"),
        ("２０２４-０５-０１", "Asia/Tokyo", "ja"),
        ("Fri, 18 Jul 2025 06:00:00 -0000", "UTC", "en"),  # no zone known: read naive
        ("Fri, 18 Jul 1895 06:00:00 +0900", "Asia/Seoul", "ko"),
    }  # fmt: skip
    for text, zone, language in dates | shapes | folds | left:
        fast = _parse_common(text, zone)
        if fast is None:
            continue
        assert (text, zone, language) not in left, text
        assert fast == _parse_general(text, zone, language), (text, zone)
        assert fast.utcoffset() == _parse_general(text, zone, language).utcoffset()  # type: ignore[union-attr]
        if (text, zone, language) not in folds:
            assert fast == _parse_with_dateparser(text.strip(), zone, language), (text, zone)
        assert parse_date(text, zone, language) == fast
    taken = [d for d in dates if _parse_common(d[0], d[1]) is not None]
    assert len(taken) > len(dates) * 0.8  # the shortcut is the common case

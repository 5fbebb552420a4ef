"""Japanese dates (era years, 元年, weekdays) and CJK text kept apart from Chinese handling."""

from datetime import UTC, datetime

import pytest

from crawler.normalize import clean_line, clean_text, parse_date


def _day(text: str, language: str = "ja", zone: str = "Asia/Tokyo") -> str | None:
    parsed = parse_date(text, zone, language)
    return parsed.astimezone(UTC).isoformat() if parsed else None


@pytest.mark.parametrize(
    ("text", "local_day"),
    [
        ("2026年11月20日", "2026-11-20"),
        ("令和8年11月20日", "2026-11-20"),
        ("令和８年１１月２０日", "2026-11-20"),  # full-width digits, as pages write them
        ("令和8年11月20日（金）", "2026-11-20"),  # the weekday is not part of the date
        ("令和 8 年 11 月 20 日(金曜日)", "2026-11-20"),
        ("令和元年5月1日", "2019-05-01"),  # 元年: the era's first year
        ("令和10年1月5日", "2028-01-05"),  # two digits: no Minguo year 10 (1921)
        ("平成31年4月30日", "2019-04-30"),  # the last day of Heisei
        ("平成元年1月8日", "1989-01-08"),
        ("昭和64年1月7日", "1989-01-07"),
    ],
)
def test_japanese_dates_read_as_local_days(text: str, local_day: str) -> None:
    parsed = parse_date(text, "Asia/Tokyo", "ja")
    assert parsed is not None, text
    assert parsed.tzinfo is not None
    # A date without a time is the day's start in Tokyo: 15:00 UTC the day before.
    assert parsed.astimezone(UTC) == datetime.fromisoformat(f"{local_day}T00:00:00+09:00")


def test_japanese_date_with_time() -> None:
    assert _day("2026年11月20日 14:00") == "2026-11-20T05:00:00+00:00"


def test_minguo_years_stay_chinese() -> None:
    # 112年 is a Minguo year on a Taiwanese page (2023) ...
    assert _day("112年11月29日", "zh-Hant", "Asia/Taipei") == "2023-11-28T16:00:00+00:00"
    # ... and never on a Japanese one, where a bare "112年" is not a date this parser guesses.
    assert _day("112年11月29日") is None
    # An era name means Japan whatever the page's language.
    assert _day("令和7年12月22日", "zh-Hant", "Asia/Taipei") == "2025-12-21T16:00:00+00:00"


def test_unknown_or_broken_era_dates_are_not_dates() -> None:
    assert _day("令和8年13月40日") is None
    assert _day("文部科学省") is None


def test_cjk_lines_join_without_a_space() -> None:
    # A page wraps Japanese and Chinese words mid-sentence; a space would split them.
    assert clean_line("日英科学技術\n協力合同委員会") == "日英科学技術協力合同委員会"
    assert clean_line("國際合作\n備忘錄") == "國際合作備忘錄"
    assert clean_line("共同研究を\n　開始した。") == "共同研究を開始した。"
    # Korean writes spaces between words: its line breaks stay spaces.
    assert clean_line("과학기술\n협력위원회") == "과학기술 협력위원회"
    # Latin next to CJK keeps its space.
    assert clean_line("JST\nと英国") == "JST と英国"
    # Paragraphs stay paragraphs.
    assert clean_text("第一段落\n\n第二段落") == "第一段落\n\n第二段落"

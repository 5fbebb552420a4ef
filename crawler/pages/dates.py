"""Dates a page writes in its text, as ISO days: to check a date found elsewhere."""

from __future__ import annotations

import re
from collections.abc import Iterable

from crawler.normalize import parse_date

# Dates as pages write them: 2026-01-07, 2026.01.07, 2026. 1. 7, 2026/01/07, 115-04-29 (ROC),
# Jan 22, 2026, 22 January 2026, 2026年1月7日, 民國115年1月7日, 2026년 1월 7일.
DATE_IN_TEXT = re.compile(
    r"\b\d{4}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2}\b|\b\d{2,3}[-/.]\d{1,2}[-/.]\d{1,2}\b"
    r"|\b[A-Z][a-z]{2,8}\.?\s+\d{1,2},\s*\d{4}\b|\b\d{1,2}\s+[A-Z][a-z]{2,8}\.?\s+\d{4}\b"
    r"|(?:民國)?\d{2,4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|\d{4}\s*년\s*\d{1,2}\s*월\s*\d{1,2}\s*일"
)
#: Most date strings read from one page (a calendar page must not cost seconds).
MAX_DATES = 50


def visible_dates(lines: Iterable[str]) -> set[str]:
    """ISO days (YYYY-MM-DD) of the dates written in ``lines``."""
    found: set[str] = set()
    seen = 0
    for line in lines:
        for match in DATE_IN_TEXT.finditer(line):
            seen += 1
            if seen > MAX_DATES:
                return found
            parsed = parse_date(match.group(0).replace(". ", "."), "UTC")
            if parsed is not None:
                found.add(parsed.date().isoformat())
    return found

"""Monitoring static pages: what counts as a change, how to describe it, and storing versions.

A static page (an overview, a list of offices) is fetched again and again; only a change of
its main text is news. Page chrome that moves by itself (visit counters, "Last Modified"
stamps, stand-alone dates, whitespace) is cosmetic and removed before comparing. The rules
are generic, not tied to one site, and precise: a noise phrase is dropped only where it
stands alone in its line (or between separators such as "|"), never inside a sentence.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from datetime import UTC, datetime
from difflib import SequenceMatcher
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError

from crawler.database import database_for
from crawler.items import PageSnapshotItem
from crawler.normalize import clean_line, clean_text
from crawler.urls import canonical_url
from storage.pages import PageVersion, record_snapshot

logger = logging.getLogger(__name__)

# --- cosmetic noise ---------------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s*)?"
_TIME = r"(?:(?:\s+|T)\d{1,2}:\d{2}(?::\d{2})?(?:\s*[ap]\.?m\.?)?)?"
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
# Dates as pages print them: 2024/05/01, 2024-05-01, 2024.05.01, ROC 113/05/01, 05/01/2024,
# 2024年5月1日, 民國113年5月1日, 2024년 5월 1일, 2024. 5. 1., May 1, 2024, 1 May 2024.
_DATE = (
    rf"{_WEEKDAY}(?:"
    r"(?:民國|民国)?\d{2,4}\s*[-/.]\s*\d{1,2}\s*[-/.]\s*\d{1,2}\.?"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}"
    r"|(?:民國|民国)?\s*\d{2,4}\s*[年년]\s*\d{1,2}\s*[月월]\s*\d{1,2}\s*[日일]"
    rf"|{_MONTH}\s*{_DAY},?\s*\d{{4}}"
    rf"|{_DAY}\s+{_MONTH},?\s*\d{{4}}"
    rf"){_TIME}"
)
_STAMP_LABEL = (
    r"(?:(?:page\s+)?last\s+(?:modified|updated?|revised|edited)"
    r"(?:\s+(?:on|at|date|time|of\s+page(?:\s+layout)?))?"
    r"|(?:page\s+|date\s+)?(?:updated|modified|revised)(?:\s+(?:on|at|date))?"
    r"|update\s+(?:date|time)"
    r"|更新(?:日期|時間|时间|日)|最[後后近]更新(?:日期|時間|时间)?|資料更新(?:日期|時間)?"
    r"|修改日期|最終更新日|최종\s*(?:수정|갱신)일?|수정일|갱신일|최종\s*업데이트|업데이트)"
)
_NUMBER = r"\d{1,3}(?:[,.\s]\d{3})+|\d+"
_COUNTER_LABEL = (
    r"(?:(?:total\s+|today'?s?\s+)?(?:number\s+of\s+)?(?:page\s*)?"
    r"(?:visitors?|visits|views|hits|clicks)(?:\s+count(?:er)?)?"
    r"|visit(?:or)?\s+count(?:er)?|counter"
    r"|(?:累計|累计|今日|本頁|總|总)?(?:瀏覽|浏览|點閱|点阅|點擊|点击|訪客|访客|訪問|访问)"
    r"(?:人次|次數|次数|人數|人数|數|数|量|率)"
    r"|(?:누적\s*)?(?:조회|방문자?)\s*수?)"
)
_COUNTER = (
    rf"{_COUNTER_LABEL}\s*[:：]?\s*(?:{_NUMBER})(?:\s*(?:times|次|회|명|人))?"
    rf"|(?:{_NUMBER})\s*(?:visitors|views|visits|hits)"
)
_STAMP = rf"{_STAMP_LABEL}\s*[:：]?\s*{_DATE}"
_NOISE = rf"(?:{_STAMP}|{_COUNTER}|{_DATE})"
# A segment made only of noise phrases ("Visitors: 1,234 Last Updated: 2024-05-01.").
NOISE_SEGMENT = re.compile(rf"(?:{_NOISE})(?:[\s,;，；、]*(?:{_NOISE}))*[\s.。]*", re.IGNORECASE)
# Separators between the phrases of one chrome line: "Visitors: 1,234 | Last Updated: ...".
_SEPARATOR = re.compile(r"\s*(?:[|｜│•·]|:::)\s*")
_HAS_WORD = re.compile(r"\w")


def significant_paragraphs(text: str | None) -> list[str]:
    """The lines of a page's text that carry content: whitespace collapsed, noise removed."""
    if not text:
        return []
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    kept: list[str] = []
    for raw_line in text.splitlines():
        line = " ".join(raw_line.split())
        segments = _SEPARATOR.split(line)
        content = [s for s in segments if _HAS_WORD.search(s) and not NOISE_SEGMENT.fullmatch(s)]
        if not content:
            continue  # blank, decoration (":::", "----") or only noise
        if len(content) < len(segments):
            line = " | ".join(content)  # a chrome line that also held noise: keep the rest
        kept.append(line)
    return kept


def significant_text(text: str | None) -> str:
    """The text with cosmetic noise removed, for comparing versions.

    Paragraph breaks count as whitespace too: a template that wraps the same words in other
    block elements splits them into other paragraphs without changing the text.
    """
    return " ".join(significant_paragraphs(text))


def significant_hash(text: str | None) -> str:
    return hashlib.sha256(significant_text(text).encode("utf-8")).hexdigest()


# --- describing a change ----------------------------------------------------------------------

SUMMARY_MAX_CHARS = 300
QUOTE_MAX_CHARS = 120
# Characters of unchanged text shown on each side of a change, rounded out to whole words.
CONTEXT_CHARS = 20
# A pair of paragraphs at least this similar is an edited paragraph, not a removal plus an
# addition.
SAME_PARAGRAPH_RATIO = 0.5
# Edits fewer than this many unchanged words apart are shown as one stretch.
MERGE_GAP_TOKENS = 8
# Ideographs and kana are words by themselves; everything else is split at whitespace.
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")


def change_summary(old_text: str, new_text: str) -> str:
    """A short summary (≤ 300 characters) of how the main text changed, e.g.
    'Changed: “Eighteen Science…” → “Nineteen Science…”; Added: “…”'."""
    old, new = significant_paragraphs(old_text), significant_paragraphs(new_text)
    parts: list[str] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag == "delete":
            parts += [f"Removed: {_quote(p)}" for p in old[i1:i2]]
        elif tag == "insert":
            parts += [f"Added: {_quote(p)}" for p in new[j1:j2]]
        elif tag == "replace":
            parts += _replaced(old[i1:i2], new[j1:j2])
    if not parts:
        return "No change in the main text."
    return _fit(parts, SUMMARY_MAX_CHARS)


def _replaced(olds: list[str], news: list[str]) -> list[str]:
    """Pair each old paragraph with the most similar new one still unpaired, in order."""
    parts: list[str] = []
    start = 0
    for old in olds:
        ratios = [
            (SequenceMatcher(None, old, new, autojunk=False).ratio(), k)
            for k, new in enumerate(news[start:], start)
        ]
        ratio, best = max(ratios, key=lambda pair: pair[0], default=(0.0, -1))
        if ratio < SAME_PARAGRAPH_RATIO:
            parts.append(f"Removed: {_quote(old)}")
            continue
        parts += [f"Added: {_quote(p)}" for p in news[start:best]]
        parts += _changed(old, news[best])
        start = best + 1
    parts += [f"Added: {_quote(p)}" for p in news[start:]]
    return parts


def _changed(old: str, new: str) -> list[str]:
    """'Changed: “…before…” → “…after…”' for each edited stretch of a paragraph, showing the
    changed words with a little context; edits a few words apart make one stretch."""
    old_spans = [m.span() for m in _TOKEN.finditer(old)]
    new_spans = [m.span() for m in _TOKEN.finditer(new)]
    matcher = SequenceMatcher(
        None,
        [old[a:b] for a, b in old_spans],
        [new[a:b] for a, b in new_spans],
        autojunk=False,
    )
    stretches: list[list[tuple[str, int, int, int, int]]] = []
    for op in matcher.get_opcodes():
        if op[0] == "equal":
            continue
        if stretches and op[1] - stretches[-1][-1][2] < MERGE_GAP_TOKENS:
            stretches[-1].append(op)
        else:
            stretches.append([op])
    if not stretches:  # differs in spacing only between ideographs
        return [f"Changed: {_quote(old)} → {_quote(new)}"]
    return [
        f"Changed: {_excerpt(old, old_spans, ops[0][1], ops[-1][2])}"
        f" → {_excerpt(new, new_spans, ops[0][3], ops[-1][4])}"
        for ops in stretches
    ]


def _excerpt(text: str, spans: list[tuple[int, int]], first: int, end: int) -> str:
    """Tokens [first, end) of `text` with some context, quoted; "…" marks cut text."""
    if not spans:
        return "“”"
    lo, hi = first, end
    while lo > 0 and _chars(spans, lo, first) < CONTEXT_CHARS:
        lo -= 1
    while hi < len(spans) and _chars(spans, end, hi) < CONTEXT_CHARS:
        hi += 1
    if lo == hi:  # an empty range at the very end or start: show its neighbour
        lo, hi = max(lo - 1, 0), min(hi + 1, len(spans))
    snippet = text[spans[lo][0] : spans[hi - 1][1]]
    return _quote(snippet, cut_start=lo > 0, cut_end=hi < len(spans))


def _chars(spans: list[tuple[int, int]], lo: int, hi: int) -> int:
    return spans[hi - 1][1] - spans[lo][0] if hi > lo else 0


def _quote(text: str, cut_start: bool = False, cut_end: bool = False) -> str:
    room = QUOTE_MAX_CHARS - cut_start - cut_end
    if len(text) > room:
        text = text[: room - 1].rstrip()
        cut_end = True
    return f"“{'…' if cut_start else ''}{text}{'…' if cut_end else ''}”"


def _fit(parts: list[str], limit: int) -> str:
    """As many parts as fit in `limit` characters, and a count of the rest."""
    for count in range(len(parts), 0, -1):
        rest = len(parts) - count
        summary = "; ".join(parts[:count]) + (f" (+{rest} more)" if rest else "")
        if len(summary) <= limit:
            return summary
    return parts[0][: limit - 1] + "…"


# --- pipeline ---------------------------------------------------------------------------------


class PageVersionPipeline:
    """Store page snapshots as versions; other items pass through untouched.

    Counts `pages/baseline` (first sight of a page), `pages/new_version` and
    `pages/unchanged`; a snapshot with no text left after cleaning is dropped
    (`pages/dropped/empty`): an extraction that found nothing is not the page emptied.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageVersionPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.database = database_for(self.crawler.settings["DATABASE_URL"])

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, PageSnapshotItem):
            return item
        if not item.get("url"):
            self.stats.inc_value("pages/dropped/missing-url")
            raise DropItem("page snapshot without URL", log_level="WARNING")
        url = canonical_url(item["url"])
        text = clean_text(item.get("text"))
        if not significant_text(text):
            self.stats.inc_value("pages/dropped/empty")
            raise DropItem(f"page without main text: {url}", log_level="WARNING")
        fetched_at = item.get("fetched_at") or datetime.now(UTC)
        try:
            with self.database.session() as session:
                version = record_snapshot(
                    session,
                    source=item["source"],
                    url=url,
                    title=clean_line(item.get("title")) or url,
                    text=text,
                    fetched_at=fetched_at,
                    significant_hash=significant_hash(text),
                    change_summary_fn=change_summary,
                    agency=item.get("agency") or None,
                    language=item.get("language") or None,
                )
                outcome = _outcome(version)
        except SQLAlchemyError as exc:
            self.stats.inc_value("pages/dropped/storage-error")
            raise DropItem(f"storage-error: {url}: {exc}", log_level="ERROR") from exc
        self.stats.inc_value(f"pages/{outcome}")
        if outcome == "new_version":
            logger.info("page changed: %s: %s", url, version.change_summary)
        return item


def _outcome(version: PageVersion | None) -> str:
    if version is None:
        return "unchanged"
    return "baseline" if version.change_summary is None else "new_version"

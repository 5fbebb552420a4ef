"""Static-page monitoring: cosmetic noise, change summaries, versions, the page-changes feed,
and whole crawls of the NSTC overview page (seed 002) through the CLI."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select

from crawler.feeds import write_feeds
from crawler.items import PageSnapshotItem, ReleaseItem
from crawler.page_monitor import (
    SUMMARY_MAX_CHARS,
    PageVersionPipeline,
    change_summary,
    significant_hash,
    significant_text,
)
from crawler.source_registry import spider_classes
from storage import Database
from storage.pages import MonitoredPage, PageVersion, latest_changes, record_snapshot
from tests.crawl_support import run_cli
from tests.support import FIXTURES, SEEDS, fixture_response

# The seed text of the overview page (as a person copied it from the live site).
SEED = SEEDS / "002_d5d65816815fba42.txt"
#: The nstc_pages source's spider, as the registry builds it from sources.toml.
NstcPagesSpider = spider_classes()["nstc_pages"]
PAGE_URL = NstcPagesSpider.start_urls[0]
PAGE_FILE = "nstc_pages/pages/international-cooperation.html"
BASE = "https://feeds.example/stnews/"
EIGHTEEN = "Eighteen Science & Technology (S&T) divisions abroad"
NINETEEN = "Nineteen Science & Technology (S&T) divisions abroad"

FIRST = (
    "In the knowledge-based economy, scientific, and technological innovation are necessary "
    "steps to moving forward in the 21st century."
)
DIVISIONS = (
    f"{EIGHTEEN} serve as NSTC branch offices; these divisions are located in Boston "
    "(United States), Tokyo (Japan), Tel Aviv (Israel), and Vilnius (Lithuania)."
)
LAST = "Looking ahead to the future, NSTC will take investigation of new science and technology."


def page(*paragraphs: str, footer: str = "Visitors: 1,234,567") -> str:
    return "\n\n".join([*paragraphs, footer])


BASE_TEXT = page(FIRST, DIVISIONS, LAST, footer="Visitors: 1,234,567\n\nLast Modified : 2024/05/01")


# --- what is cosmetic ------------------------------------------------------------------------


def test_counter_only_change_is_not_a_change() -> None:
    bumped = page(
        FIRST, DIVISIONS, LAST, footer="Visitors: 1,240,002\n\nLast Modified : 2024/05/01"
    )
    assert significant_text(bumped) == significant_text(BASE_TEXT)
    assert significant_hash(bumped) == significant_hash(BASE_TEXT)


def test_footer_date_change_is_not_a_change() -> None:
    restamped = page(
        FIRST, DIVISIONS, LAST, footer="Visitors: 1,234,567\n\nLast Modified : 2024/06/30"
    )
    assert significant_text(restamped) == significant_text(BASE_TEXT)


def test_whitespace_and_paragraph_layout_are_not_changes() -> None:
    respaced = "  " + BASE_TEXT.replace(" ", "  ").replace("\n\n", "\n \u00a0\n\n\n")
    assert significant_text(respaced) == significant_text(BASE_TEXT)
    # The same words split into other block elements by a new template.
    resplit = BASE_TEXT.replace("; these divisions", ";\n\nthese divisions")
    assert significant_text(resplit) == significant_text(BASE_TEXT)


def test_one_changed_paragraph_is_a_change() -> None:
    edited = BASE_TEXT.replace("Eighteen", "Nineteen")
    assert significant_text(edited) != significant_text(BASE_TEXT)
    assert significant_hash(edited) != significant_hash(BASE_TEXT)


def test_noise_is_gone_and_content_kept() -> None:
    text = significant_text(BASE_TEXT)
    assert text.startswith(FIRST) and text.endswith(LAST)
    assert "Visitors" not in text and "Last Modified" not in text and "2024/05/01" not in text


def test_date_inside_a_sentence_is_content() -> None:
    sentence = "On May 1, 2024, the NSTC and the French Office in Taipei signed a convention."
    assert significant_text(sentence) == sentence
    assert significant_text(sentence.replace("May 1", "June 3")) != significant_text(sentence)
    stamped = "Updated figures as of 2024/05/01 show 135 agreements."
    assert significant_text(stamped) == stamped


@pytest.mark.parametrize(
    "noise",
    [
        "Visitors: 1,234,567",
        "Number of Views: 1,101",
        "Hits: 42",
        "瀏覽人次：12,345",
        "조회수 1,234",
        "::: Visitors:796,043",
        "Last Modified : 2024/05/01",
        "Last Updated: 2024-05-01 10:20",
        "更新日期：113-05-01",
        "最後更新日期：2024年5月1日",
        "December 18, 2020",
        "2024/05/01",
        "Visitors: 1,234 | Last Updated: 2024-05-01",
    ],
)
def test_noise_lines_are_dropped(noise: str) -> None:
    assert significant_text(f"{FIRST}\n\n{noise}") == FIRST


@pytest.mark.parametrize(
    "content",
    [
        "The typhoon hits 3 cities in the south.",
        "Visitors from 43 countries attended the forum.",
        "Number of views on the new platform doubled.",
        "The agreement was signed on 2024/05/01 in Paris.",
    ],
)
def test_sentences_that_mention_counters_or_dates_are_kept(content: str) -> None:
    assert significant_text(content) == content


def test_noise_phrase_beside_real_text_is_cut_from_the_line() -> None:
    assert significant_text("Copyright NSTC | Visitors: 1,234") == "Copyright NSTC"


# --- change summaries ------------------------------------------------------------------------


def test_summary_of_a_changed_paragraph_shows_the_changed_words() -> None:
    summary = change_summary(BASE_TEXT, BASE_TEXT.replace("Eighteen", "Nineteen"))
    assert summary.startswith("Changed: “Eighteen")
    assert "→ “Nineteen" in summary
    assert "Visitors" not in summary
    assert len(summary) <= SUMMARY_MAX_CHARS


def test_summary_of_added_and_removed_paragraphs() -> None:
    added = change_summary(BASE_TEXT, page(FIRST, DIVISIONS, "A new closing remark.", LAST))
    assert added == "Added: “A new closing remark.”"
    removed = change_summary(BASE_TEXT, page(FIRST, LAST))
    assert removed.startswith("Removed: “Eighteen Science") and removed.endswith("…”")


def test_summary_ignores_cosmetic_changes_alongside_a_real_one() -> None:
    new = page(FIRST, DIVISIONS, LAST.replace("ahead", "forward"), footer="Visitors: 2,000,000")
    assert change_summary(BASE_TEXT, new) == (
        "Changed: “Looking ahead to the future, NSTC will…” → “Looking forward to the future, "
        "NSTC will…”"
    )


def test_summary_is_short_however_much_changed() -> None:
    old = "\n\n".join(f"Paragraph {n} says something about cooperation." for n in range(40))
    new = "\n\n".join(f"Paragraph {n} says something else about research." for n in range(40))
    summary = change_summary(old, new)
    assert len(summary) <= SUMMARY_MAX_CHARS
    assert summary.endswith(" more)")


def test_summary_of_the_seed_page() -> None:
    seed = SEED.read_text(encoding="utf-8")
    summary = change_summary(seed, seed.replace("and Vilnius (Lithuania)", "Vilnius (Lithuania)"))
    assert summary.startswith("Changed: “…")
    assert "and Vilnius (Lithuania)" in summary and "Last Modified" not in summary


# --- storage ---------------------------------------------------------------------------------


def _record(session, text: str, when: datetime, title: str = "International Cooperation"):
    return record_snapshot(
        session,
        source="nstc_pages",
        url=PAGE_URL,
        title=title,
        text=text,
        fetched_at=when,
        significant_hash=significant_hash(text),
        change_summary_fn=change_summary,
        agency="National Science and Technology Council",
        language="en",
    )


def test_record_snapshot_baseline_unchanged_and_new_version(database: Database) -> None:
    day = datetime(2024, 5, 2, tzinfo=UTC)
    with database.session() as session:
        baseline = _record(session, BASE_TEXT, day)
        assert baseline is not None and baseline.change_summary is None
    with database.session() as session:
        counter_only = BASE_TEXT.replace("1,234,567", "1,300,000")
        assert _record(session, counter_only, day + timedelta(days=1)) is None
    with database.session() as session:
        changed = _record(
            session, BASE_TEXT.replace("Eighteen", "Nineteen"), day + timedelta(days=2), "Intl."
        )
        assert changed is not None and changed.change_summary
        assert "Nineteen" in changed.change_summary
    with database.session() as session:
        assert session.scalar(select(func.count()).select_from(MonitoredPage)) == 1
        versions = session.scalars(select(PageVersion).order_by(PageVersion.id)).all()
        assert [v.change_summary is None for v in versions] == [True, False]
        assert versions[1].fetched_at == day + timedelta(days=2)
        assert versions[1].page.title == "Intl."  # follows the latest fetch
        changes = latest_changes(session)
    assert [c.id for c in changes] == [versions[1].id]
    assert changes[0].page.url == PAGE_URL  # loaded with the version


def test_reverting_to_an_earlier_text_is_a_new_version(database: Database) -> None:
    day = datetime(2024, 5, 2, tzinfo=UTC)
    edited = BASE_TEXT.replace("Eighteen", "Nineteen")
    with database.session() as session:
        for offset, text in enumerate((BASE_TEXT, edited, BASE_TEXT)):
            _record(session, text, day + timedelta(days=offset))
        changes = latest_changes(session, limit=50)
    assert [c.fetched_at for c in changes] == [day + timedelta(days=2), day + timedelta(days=1)]


# --- pipeline --------------------------------------------------------------------------------


@pytest.fixture
def pipeline(database_url: str) -> PageVersionPipeline:
    crawler = get_crawler(settings_dict={"DATABASE_URL": database_url})
    crawler._apply_settings()
    pipeline = PageVersionPipeline.from_crawler(crawler)
    pipeline.open_spider()
    return pipeline


def snapshot(text: str, **fields) -> PageSnapshotItem:
    item = PageSnapshotItem(
        source="nstc_pages",
        url=PAGE_URL + "#main",
        title=" International  Cooperation ",
        text=text,
        language="en",
        agency="National Science and Technology Council",
        agency_country="TW",
        fetched_at=datetime.now(UTC),
        raw_body=b"<html></html>",
    )
    item.update(fields)
    return item


def test_pipeline_counts_baseline_unchanged_and_new_version(pipeline) -> None:
    for text in (BASE_TEXT, BASE_TEXT.replace("1,234,567", "1,234,568"), BASE_TEXT + "\n\nNew."):
        pipeline.process_item(snapshot(text))
    stats = pipeline.stats.get_stats()
    assert (stats["pages/baseline"], stats["pages/unchanged"], stats["pages/new_version"]) == (
        1,
        1,
        1,
    )
    with pipeline.database.session() as session:
        stored = session.scalars(select(MonitoredPage)).one()
        assert (stored.url, stored.title) == (PAGE_URL, "International Cooperation")


def test_pipeline_passes_other_items_and_drops_empty_pages(pipeline) -> None:
    release = ReleaseItem(title="A release")
    assert pipeline.process_item(release) is release
    with pytest.raises(DropItem):
        pipeline.process_item(snapshot("Visitors: 12\n\nLast Modified : 2024/05/01"))
    assert pipeline.stats.get_value("pages/dropped/empty") == 1


# --- spider ----------------------------------------------------------------------------------


def test_spider_extracts_the_seed_text_without_chrome() -> None:
    spider = NstcPagesSpider.from_crawler(_crawler(NstcPagesSpider))
    (item,) = list(spider.parse(fixture_response(PAGE_URL)))
    assert item["title"] == "International Cooperation"
    assert item["source"] == "nstc_pages" and item["url"] == PAGE_URL
    assert item["fetched_at"].tzinfo is UTC and item["raw_body"]
    # The seed as a person copied it: the list's numbers are the <ol>'s, the stamp is chrome.
    # Whitespace (the seed's no-break spaces) is collapsed by extraction.
    seed = [" ".join(line.split()) for line in SEED.read_text(encoding="utf-8").splitlines()]
    seed = [line for line in seed if line]
    assert seed[-1] == "Last Modified : 2024/05/01"
    expected = [line.split(". ", 1)[1] if line[:2] in {f"{n}." for n in range(1, 7)} else line
                for line in seed[:-1]]  # fmt: skip
    assert item["text"].split("\n\n") == expected
    for chrome in ("Go to the content", ":::", "Home", "Print", "Visitors", "Last Modified",
                   "關於國科會", "隱私權保護政策", "回首頁"):  # fmt: skip
        assert chrome not in item["text"]


def test_spider_start_url_argument() -> None:
    spider = NstcPagesSpider(start_url="https://mirror.example/folksonomy/list/x?l=en")
    assert spider.start_urls == ["https://mirror.example/folksonomy/list/x?l=en"]
    assert "mirror.example" in spider.allowed_domains
    assert NstcPagesSpider().start_urls == [PAGE_URL]


def _crawler(spidercls):
    from scrapy.utils.test import get_crawler

    return get_crawler(spidercls)


# --- feed ------------------------------------------------------------------------------------


def test_page_changes_feed(database: Database, tmp_path: Path) -> None:
    day = datetime(2024, 5, 2, tzinfo=UTC)
    with database.session() as session:
        _record(session, BASE_TEXT, day)
    out = tmp_path / "feeds"
    write_feeds(database, out, BASE)
    assert feedparser.parse((out / "page-changes.atom").read_bytes()).entries == []
    assert f"{BASE}page-changes.atom" in (out / "feeds.opml").read_text()

    with database.session() as session:
        version = _record(session, BASE_TEXT.replace("Eighteen", "Nineteen"), day + timedelta(1))
        expected_id = f"tag:stnews.github.io,2024:page/{version.page_id}/{version.id}"
    report = write_feeds(database, out, BASE)
    assert {"page-changes.atom", "page-changes.rss", "page-changes.json"} <= {
        f.path.name for f in report.written
    }
    for name in ("page-changes.atom", "page-changes.rss"):
        parsed = feedparser.parse((out / name).read_bytes())
        assert not parsed.bozo, name
        (entry,) = parsed.entries
        assert entry.id == expected_id
        assert entry.title == "Updated page: International Cooperation"
        assert entry.link == PAGE_URL
        assert "Nineteen" in entry.summary
        assert entry.author == "National Science and Technology Council"
        assert entry.published_parsed[:3] == (2024, 5, 3)
    (item,) = json.loads((out / "page-changes.json").read_text())["items"]
    assert item["id"] == expected_id and "Nineteen" in item["content_text"]
    assert item["date_modified"] == "2024-05-03T00:00:00+00:00"

    again = write_feeds(database, out, BASE)
    assert again.written == []  # unchanged database, byte-identical files


# --- whole crawls through the CLI ------------------------------------------------------------


def crawl_pages(db: str, fixtures: Path) -> dict:
    result = run_cli("crawl", "nstc_pages", "--replay", str(fixtures), "--full", "--json", db=db)
    (row,) = json.loads(result.stdout)
    assert row["status"] == "finished" and row["errors"] == 0, row
    return row


def stored_versions(db: str) -> list[PageVersion]:
    database = Database(db)
    try:
        with database.session() as session:
            return list(session.scalars(select(PageVersion).order_by(PageVersion.id)))
    finally:
        database.dispose()


def page_change_entries(db: str, out: Path) -> list[feedparser.FeedParserDict]:
    run_cli("feed", "--out", str(out), "--base-url", BASE, db=db)
    parsed = feedparser.parse((out / "page-changes.atom").read_bytes())
    assert not parsed.bozo
    return parsed.entries


@pytest.mark.slow
def test_crawls_of_the_overview_page(tmp_path: Path) -> None:
    """Original → baseline; counter and stamp changed → nothing; one paragraph → one change."""
    db = f"sqlite:///{tmp_path / 'stnews.db'}"
    out = tmp_path / "feeds"
    original = (FIXTURES / PAGE_FILE).read_text(encoding="utf-8")
    assert "Last Modified : 2024/05/01" in original and original.count("國科會簡介") >= 2

    def crawl(html: str, name: str) -> None:
        fixtures = tmp_path / name
        shutil.copytree(FIXTURES / "nstc_pages", fixtures / "nstc_pages")
        (fixtures / PAGE_FILE).write_text(html, encoding="utf-8")
        crawl_pages(db, fixtures)

    crawl(original, "original")
    (baseline,) = stored_versions(db)
    assert baseline.change_summary is None and baseline.text.startswith("In the knowledge")
    assert page_change_entries(db, out) == []

    # A new stamp, reflowed markup, and an edited menu (its entries renamed, one added):
    # none of it is the page's text.
    cosmetic = (
        original.replace("Last Modified : 2024/05/01", "Last Modified : 2024/06/18")
        .replace("</p>\n", "</p>\n\n   ")
        .replace("國科會簡介", "本會簡介")
        .replace('<div class="m_title"></div>', '<div class="m_title"><a href="/x">新</a></div>')
    )
    crawl(cosmetic, "cosmetic")
    assert len(stored_versions(db)) == 1
    assert page_change_entries(db, out) == []

    assert original.count("Eighteen Science &amp; Technology") == 1
    edited = cosmetic.replace(
        "Eighteen Science &amp; Technology", "Nineteen Science &amp; Technology"
    )
    edited = edited.replace("and Vilnius (Lithuania)", "Vilnius (Lithuania), and Warsaw (Poland)")
    crawl(edited, "edited")
    versions = stored_versions(db)
    assert len(versions) == 2
    assert NINETEEN in versions[1].text and EIGHTEEN not in versions[1].text
    (entry,) = page_change_entries(db, out)
    assert entry.title == "Updated page: International Cooperation"
    assert entry.link == PAGE_URL
    assert "Eighteen" in entry.summary and "Nineteen" in entry.summary
    assert "Warsaw (Poland)" in entry.summary

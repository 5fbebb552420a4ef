"""The tables of `stnews` fit an 80-column terminal: columns wrap at word boundaries (or, for
URLs and CJK text, fold), source names are never wrapped or cut, and `--json` gives the same
data whole.

The commands run in this process (`crawler.cli.main`) on a database filled by a real replayed
crawl of sources with long names and CJK titles; only the crawl runs in a child (Twisted's
reactor cannot restart in one process)."""

import json
from collections.abc import Iterable

import pytest
from rich.cells import cell_len

from crawler.cli import common, main
from crawler.cli.crawl import print_summary
from crawler.cli.sources import source_row
from crawler.sources import load_sources
from tests.crawl_support import crawl_json
from tests.databases import new_database_url

#: The longest source names, a feed of Korean titles and one of Chinese titles, a page source.
SOURCES = ("koreakr_motir", "koreakr_mofa", "msit_ko", "ida_zh", "nstc_pages")


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, dict]]:
    db = new_database_url(tmp_path_factory.mktemp("tables"))
    # Health recorded as from the sites, for the status table's widest cells ("healthy (stale)").
    return db, crawl_json(db, *SOURCES, "-s", "STNEWS_HEALTH_FROM_REPLAY=true")


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """The tables console at 80 columns; returns a function giving what was printed."""
    monkeypatch.setattr(common.out, "width", 80)
    return lambda: capsys.readouterr().out


def assert_fits(text: str, whole_words: Iterable[str], ellipses: int = 0) -> None:
    """Every line within 80 cells; every word of ``whole_words`` printed unbroken; no "…"
    but the ``ellipses`` the data itself holds."""
    wide = [line for line in text.splitlines() if cell_len(line.rstrip()) > 80]
    assert not wide, "\n".join(wide)
    assert text.count("…") == ellipses
    printed = set(text.split())
    broken = {word for cell in whole_words for word in str(cell).split()} - printed
    assert not broken, f"wrapped inside a word or cut: {sorted(broken)}\n{text}"


def test_sources_table(terminal) -> None:
    assert main(["sources"]) == 0
    text = terminal()
    rows = [source_row(source) for source in load_sources()]
    assert_fits(text, [row[key] for row in rows for key in ("name", "agency", "read_as")])
    assert len(text.splitlines()) > len(rows)  # agencies wrap onto more lines instead


@pytest.mark.slow  # table layout: SQLite leg only
def test_status_table(crawled, terminal) -> None:
    db, _ = crawled
    assert main(["--db", db, "status"]) == 0
    text = terminal()
    assert_fits(text, [*SOURCES, "healthy", "(stale)", "finished"])
    for name in SOURCES:  # one row each, starting with the name
        assert any(line.startswith(f"{name} ") for line in text.splitlines()), name


@pytest.mark.slow  # table layout: SQLite leg only
def test_status_json_has_what_the_table_abbreviates(crawled, capsys) -> None:
    db, _ = crawled
    assert main(["--db", db, "status", "koreakr_motir", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["source"] == "koreakr_motir"
    assert row["last_run"]["finished"] and row["last_run"]["new"] == row["releases"] > 0


@pytest.mark.slow  # table layout: SQLite leg only
def test_releases_table(crawled, terminal) -> None:
    db, _ = crawled
    assert main(["--db", db, "releases", "--json"]) == 0
    releases = json.loads(terminal())
    assert {r["source"] for r in releases} == set(SOURCES) - {"nstc_pages"}
    assert main(["--db", db, "releases"]) == 0
    text = terminal()
    # Titles in Korean and Chinese fold (they break anywhere); words of Latin letters do not.
    latin = [w for r in releases for w in r["title"].split() if w.isascii()]
    ellipses = sum(r["title"].count("…") for r in releases)
    assert_fits(text, [*(r["source"] for r in releases), *latin], ellipses)
    assert any(not w.isascii() for r in releases for w in r["title"].split())


@pytest.mark.slow  # table layout: SQLite leg only
def test_crawl_summary(crawled, terminal) -> None:
    _, rows = crawled
    print_summary(list(rows.values()))
    text = terminal()
    assert_fits(text, SOURCES)
    header = next(line for line in text.splitlines() if line.startswith("source"))
    assert header.split() == [
        "source", "status", "pages", "304", "new", "upd", "same", "skip", "dup", "vers",
        "drop", "err", "stored",
    ]  # fmt: skip
    row = next(line for line in text.splitlines() if line.startswith("koreakr_motir "))
    counts = rows["koreakr_motir"]
    assert row.split() == [
        "koreakr_motir", "finished", str(counts["pages"]), str(counts["not_modified"]),
        str(counts["new"]), str(counts["updated"]), str(counts["unchanged"]),
        str(counts["skipped"]), str(counts["duplicates"]), str(counts["page_versions"]),
        str(sum(counts["dropped"].values())), str(counts["errors"]), str(counts["stored"]),
    ]  # fmt: skip


def test_crawl_summary_lists_dropped_reasons_under_the_table(terminal) -> None:
    row = {
        "source": "koreakr_motir", "status": "incomplete", "pages": 12345, "new": 3,
        "dropped": {"missing-date": 2, "storage-error": 1}, "errors": 1, "stored": 3,
    }  # fmt: skip
    print_summary([row])
    text = terminal()
    assert_fits(text, ["koreakr_motir", "incomplete", "12345"])
    assert "koreakr_motir dropped 2 missing-date, 1 storage-error" in text


@pytest.mark.slow
def test_check_table(terminal) -> None:
    assert main(["check", "koreakr_motir", "nstc_pages"]) == 0
    text = terminal()
    assert_fits(text, ["koreakr_motir", "nstc_pages", "ok"])


def test_a_table_too_wide_for_the_terminal_is_printed_wider_not_cut(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(common.out, "width", 30)
    table = common.new_table("narrow terminal")
    common.add_source_column(table)
    table.add_column("agency")
    table.add_row("koreakr_motir", "European Commission, Directorate-General for Research")
    common.print_table(table)
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("koreakr_motir  European") for line in lines)
    assert max(len(line.rstrip()) for line in lines) == len("koreakr_motir  Directorate-General")
    assert "Directorate-General" in " ".join(lines).split()


#: Every command that prints a table (through common.print_table).
TABLE_COMMANDS = ["crawl", "worker", "status", "releases", "sources", "check", "subscriptions",
                  "ledger", "extract"]  # fmt: skip


def test_every_table_command_has_json_for_scripts() -> None:
    import argparse
    import re
    from pathlib import Path

    from crawler.cli import build_parser

    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name in TABLE_COMMANDS:
        options = {o for a in commands.choices[name]._actions for o in a.option_strings}
        assert "--json" in options, name
    # ... and the list is complete: each module printing a table registers only such commands.
    cli = Path(common.__file__).parent
    printing = {
        p.stem for p in cli.glob("*.py") if re.search(r"print_(table|summary)\(", p.read_text())
    }
    assert printing - {"common"} == {
        "crawl",
        "workers",
        "releases",
        "sources",
        "alerts",
        "events",
        "pages",
    }

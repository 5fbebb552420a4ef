"""Feed files written from a seeded database: every file parses, holds the right releases in
the right order, keeps its entry ids, and is rewritten only when its content changes."""

from __future__ import annotations

import argparse
import json
import os
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlalchemy import event, select

from crawler.cli.feeds import register
from crawler.feeds import FileStatus, release_entry_id, write_feeds
from crawler.feeds.build import feed_meta, item_from_release
from crawler.feeds.catalog import FORMATS
from crawler.feeds.render import JSON_FEED_VERSION, render_atom, render_json, render_rss
from storage import Database, Release, SaveOutcome, Source, save_release
from storage.queries import feed_releases, present_values
from tests import forked_cli
from tests.feeds.conftest import day, record, seed_records

BASE = "https://feeds.example/stnews/"
ROOT = Path(__file__).resolve().parents[2]
COOP_ORDER = ["m1", "m3", "evil", "n1", "n4", "n2", None]  # published desc, then id desc


def entry_id(native_id: str | None) -> str:
    rec = next(r for r in seed_records() if r.native_id == native_id)
    return release_entry_id(rec.source, rec.native_id, rec.url)


def xml_entries(path: Path) -> list[feedparser.FeedParserDict]:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, f"{path.name}: {parsed.get('bozo_exception')}"
    return parsed.entries


def ids(path: Path) -> list[str]:
    if path.suffix == ".json":
        return [item["id"] for item in json.loads(path.read_text("utf-8"))["items"]]
    return [entry.id for entry in xml_entries(path)]


def feed_files(out: Path) -> list[Path]:
    return sorted(p for p in out.iterdir() if p.suffix in (".atom", ".rss", ".json"))


def mtimes(out: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in out.iterdir()}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "feeds"


# --- every file is a valid feed ------------------------------------------------------------


def test_every_written_feed_parses_with_complete_entries(seeded: Database, out: Path) -> None:
    report = write_feeds(seeded, out, BASE)
    written = {f.path.name for f in report.written}
    assert {"cooperation.rss", "cooperation.atom", "cooperation.json", "all.atom"} <= written
    assert {"partner-fr.atom", "partner-fr.rss", "partner-fr.json", "source-nstc.atom"} <= written
    assert {f.path.name for f in report.files} == {p.name for p in out.iterdir()}
    for path in feed_files(out):
        if path.suffix == ".json":
            check_json_feed(path)
        else:
            check_xml_feed(path)


def check_xml_feed(path: Path) -> None:
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, f"{path.name}: {parsed.get('bozo_exception')}"
    assert parsed.version == ("atom10" if path.suffix == ".atom" else "rss20")
    assert parsed.feed.title and parsed.feed.get("updated_parsed")
    assert parsed.feed.generator == "stnews"
    assert any(link.rel == "self" and link.href == BASE + path.name for link in parsed.feed.links)
    entries = parsed.entries
    assert entries, path.name
    for entry in entries:
        assert entry.title and entry.link and entry.id.startswith("tag:")
        assert entry.published_parsed and entry.updated_parsed
        assert entry.author
    assert len({e.id for e in entries}) == len(entries), f"duplicate ids in {path.name}"
    assert len({e.link for e in entries}) == len(entries), f"duplicate links in {path.name}"


def check_json_feed(path: Path) -> None:
    feed = json.loads(path.read_text("utf-8"))
    assert feed["version"] == JSON_FEED_VERSION
    assert feed["title"] and feed["feed_url"] == BASE + path.name and feed["home_page_url"]
    items = feed["items"]
    assert items, path.name
    for item in items:
        assert isinstance(item["id"], str) and item["id"].startswith("tag:")
        assert item["url"] and item["title"]
        assert "content_html" in item or "content_text" in item
        assert datetime.fromisoformat(item["date_published"]).tzinfo is not None
        assert datetime.fromisoformat(item["date_modified"]).tzinfo is not None
        assert item["authors"][0]["name"]
    assert len({i["id"] for i in items}) == len(items)
    assert len({i["url"] for i in items}) == len(items)


# --- which releases, in which order --------------------------------------------------------


def test_default_feed_is_cooperation_newest_first(seeded: Database, out: Path) -> None:
    write_feeds(seeded, out, BASE)
    expected = [entry_id(n) for n in COOP_ORDER]
    for name in ("cooperation.atom", "cooperation.rss", "cooperation.json"):
        assert ids(out / name) == expected, name
    published = [e.published_parsed for e in xml_entries(out / "cooperation.atom")]
    assert published == sorted(published, reverse=True)


def test_default_feed_respects_limit(seeded: Database, out: Path) -> None:
    write_feeds(seeded, out, BASE, limit=3)
    assert ids(out / "cooperation.atom") == [entry_id(n) for n in ("m1", "m3", "evil")]
    assert len(ids(out / "all.atom")) == 3


def test_all_feed_includes_releases_that_are_not_cooperation(seeded: Database, out: Path) -> None:
    write_feeds(seeded, out, BASE)
    all_ids = ids(out / "all.atom")
    assert all_ids[0] == entry_id("m2")  # newest of all, not a cooperation release
    assert set(all_ids) == {entry_id(r.native_id) for r in seed_records()}


def test_partner_feed_holds_exactly_the_matching_releases(seeded: Database, out: Path) -> None:
    write_feeds(seeded, out, BASE)
    assert ids(out / "partner-fr.atom") == [entry_id(n) for n in ("m1", "evil", "n1", "n4")]
    assert ids(out / "partner-de.json") == [entry_id("n2")]
    assert ids(out / "partner-jp.rss") == [entry_id(None)]
    assert ids(out / "partner-us.atom") == [entry_id("m1")]


def test_filtered_feeds_by_source_topic_type_and_language(seeded: Database, out: Path) -> None:
    write_feeds(seeded, out, BASE)
    assert ids(out / "source-msit.atom") == [entry_id("m1"), entry_id("m3")]  # not m2
    assert ids(out / "topic-ai.atom") == [entry_id(n) for n in ("m3", "n1", None)]
    assert ids(out / "type-joint-call.atom") == [entry_id("n2")]
    assert ids(out / "lang-ko.atom") == [entry_id("m1")]
    assert xml_entries(out / "lang-ko.atom") and "ko" in (out / "lang-ko.atom").read_text()


def test_queries_filter_through_tags_and_list_present_values(seeded: Database) -> None:
    with seeded.session() as session:
        fr = feed_releases(session, cooperation_only=True, partner="FR", topic="space")
        assert [r.native_id for r in fr] == ["n4"]
        assert fr[0].source.name == "nstc"
        assert [r.native_id for r in feed_releases(session, cooperation_only=False, limit=2)] == [
            "m2",
            "m1",
        ]
        values = present_values(session)
    assert values == {
        "partners": ["DE", "EU", "FR", "GB", "JP", "US"],
        "sources": ["moeaidb", "msit", "nstc"],
        "topics": ["ai", "semiconductors", "space"],
        "coop_types": ["agreement", "delegation", "joint_call", "mou"],
        "languages": ["en", "ko"],
    }


def test_present_values_leave_out_what_only_other_releases_have(seeded: Database) -> None:
    other = record("x9", source="msit", published_at=day(6, 1), partners=["ZZ"],
                   topics=["quantum"], coop_type="visit", language="ja",
                   is_cooperation=False)  # fmt: skip
    with seeded.session() as session:
        save_release(session, other)
    with seeded.session() as session:
        values = present_values(session)
    assert "ZZ" not in values["partners"] and "quantum" not in values["topics"]
    assert "visit" not in values["coop_types"] and "ja" not in values["languages"]
    assert values["sources"] == ["moeaidb", "msit", "nstc"]


@pytest.mark.sqlite_only  # PostgreSQL plans a small table by its size, not its indexes
def test_present_values_seek_through_indexes_and_read_no_table_whole(seeded: Database) -> None:
    # A scan of releases or tags grows with the archive (420 ms of `stnews feed` at 100,000
    # releases); each value must be an index seek. SQLite's plan says which it is.
    assert seeded.engine.dialect.name == "sqlite"
    statements: list[tuple[str, Any]] = []

    def note(conn, cursor, statement, parameters, context, executemany) -> None:
        statements.append((statement, parameters))

    event.listen(seeded.engine, "before_cursor_execute", note)
    try:
        with seeded.session() as session:
            present_values(session)
    finally:
        event.remove(seeded.engine, "before_cursor_execute", note)
    selects = [(sql, params) for sql, params in statements if sql.lstrip().startswith("SELECT")]
    assert len(selects) >= 5
    with seeded.engine.connect() as conn:
        for sql, params in selects:
            plan = [row[3] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)]
            whole = [
                line for line in plan
                if (line.startswith("SCAN") and "sources" not in line) or "TEMP B-TREE" in line
            ]  # fmt: skip
            assert not whole, (sql, plan)


# --- entry content ---------------------------------------------------------------------------


PDF = "https://msit.example/files/agreement.pdf"
HWPX = "https://msit.example/ssm/file/fileDown.do?atchFileNo=1&fileOrd=1&fileBtn=A"


def test_categories_author_and_enclosures(seeded: Database, out: Path) -> None:
    write_feeds(seeded, out, BASE)
    atom = {e.id: e for e in xml_entries(out / "cooperation.atom")}
    m1 = atom[entry_id("m1")]
    assert [(t.term, t.label) for t in m1.tags] == [
        ("FR", "France (FR)"),
        ("US", "United States (US)"),
        ("semiconductors", "Semiconductors"),
        ("agreement", "Agreement"),
    ]
    assert m1.author == "Ministry of Science and ICT"
    # Attachments, not the picture: the measured length where known, and never a made-up 0.
    assert m1.enclosures == [
        {"href": PDF, "type": "application/pdf", "length": "48213", "title": "Agreement text.pdf"},
        {"href": HWPX, "type": "application/hwp+zip", "title": "보도자료.hwpx"},
    ]
    raw = (out / "cooperation.atom").read_text()
    assert 'length="0"' not in raw and "javascript:" not in raw
    rss = {e.id: e for e in xml_entries(out / "cooperation.rss")}
    assert "France (FR)" in [t.term for t in rss[entry_id("m1")].tags]
    # RSS requires a length: the one file with a length is the enclosure; all are media:content.
    assert rss[entry_id("m1")].enclosures == [
        {"href": PDF, "length": "48213", "type": "application/pdf"}
    ]
    assert [m["url"] for m in rss[entry_id("m1")].media_content] == [PDF, HWPX]
    assert rss[entry_id("m1")].link == "https://msit.example/news/m1"
    assert 'length="0"' not in (out / "cooperation.rss").read_text()
    json_items = {i["id"]: i for i in json.loads((out / "cooperation.json").read_text())["items"]}
    assert json_items[entry_id("m1")]["image"] == "https://msit.example/img/m1.png"
    assert json_items[entry_id("m1")]["attachments"] == [
        {"url": PDF, "mime_type": "application/pdf", "title": "Agreement text.pdf",
         "size_in_bytes": 48213},
        {"url": HWPX, "mime_type": "application/hwp+zip", "title": "보도자료.hwpx"},
    ]  # fmt: skip
    assert "European Union (EU)" in json_items[entry_id("n1")]["tags"]
    assert json_items[entry_id("n1")]["_stnews"]["partners"] == ["FR", "EU"]


def test_entries_carry_the_full_text_as_paragraphs_and_their_language(
    seeded: Database, out: Path
) -> None:
    write_feeds(seeded, out, BASE)
    body_html = "<p>First paragraph of m1.</p><p>Second paragraph.</p>"
    atom = {e.id: e for e in xml_entries(out / "cooperation.atom")}
    m1 = atom[entry_id("m1")]
    (content,) = m1.content
    assert content.type == "text/html" and body_html in content.value
    assert 'src="https://msit.example/img/m1.png"' in content.value
    assert f'href="{PDF}"' in content.value  # the files, linked after the text
    assert m1.summary == "Summary of m1."
    # xml:lang on each entry; feedparser reports it as the content's language.
    assert content.language == "ko" and atom[entry_id("n1")].content[0].language == "en"
    rss = {e.id: e for e in xml_entries(out / "cooperation.rss")}
    assert body_html in rss[entry_id("m1")].content[0].value  # content:encoded
    assert rss[entry_id("m1")].summary == "<p>Summary of m1.</p>"
    assert 'xmlns:dc="http://purl.org/dc/elements/1.1/"' in (out / "cooperation.rss").read_text()
    assert "<dc:language>ko</dc:language>" in (out / "cooperation.rss").read_text()
    items = {i["id"]: i for i in json.loads((out / "cooperation.json").read_text())["items"]}
    assert body_html in items[entry_id("m1")]["content_html"]
    assert {i["language"] for i in items.values()} == {"en", "ko"}


def test_entry_id_without_native_id_falls_back_to_url() -> None:
    assert release_entry_id("nstc", "d82a8144", "https://a/x") == (
        "tag:stnews.github.io,2024:release/nstc/d82a8144"
    )
    by_url = release_entry_id("moeaidb", None, "https://moeaidb.example/news?id=77")
    assert by_url.startswith("tag:stnews.github.io,2024:release/moeaidb/url/https%3A%2F%2F")
    assert release_entry_id("x", "a/b c", "u") == "tag:stnews.github.io,2024:release/x/a%2Fb%20c"


def test_invalid_characters_removed_and_no_script_elements(seeded: Database, out: Path) -> None:
    write_feeds(seeded, out, BASE)
    for path in feed_files(out):
        data = path.read_bytes()
        assert b"\x01" not in data and "\ufffe".encode() not in data, path.name
        assert b"\\u0001" not in data and b"\\ufffe" not in data, path.name
        if path.suffix == ".json":
            continue
        tree = ET.fromstring(data)  # well-formed XML
        tags = {element.tag.rsplit("}", 1)[-1].lower() for element in tree.iter()}
        assert "script" not in tags, path.name
    entries = {e.id: e for e in xml_entries(out / "cooperation.atom")}
    evil = entries[entry_id("evil")]
    assert evil.title.startswith("Evil title with")
    assert "<script" not in evil.title and "alert(1)" not in evil.title


def test_html_summary_is_sanitized(seeded: Database, out: Path) -> None:
    write_feeds(seeded, out, BASE)
    feed = json.loads((out / "cooperation.json").read_text())
    m3 = next(i for i in feed["items"] if i["id"] == entry_id("m3"))
    assert m3["summary"] == "Joint lab click ok bold"
    atom = next(e for e in xml_entries(out / "cooperation.atom") if e.id == entry_id("m3"))
    content = atom.summary
    assert atom.summary_detail.type == "text/html"
    assert '<img src="https://img.example/a.png"' in content
    assert 'href="https://ok.example/"' in content
    for bad in ("onerror", "onclick", "javascript:", "<script", "alert(3)", "style="):
        assert bad not in content
    for name in ("cooperation.atom", "cooperation.rss"):
        entry = next(e for e in xml_entries(out / name) if e.id == entry_id("m3"))
        for bad in ("onerror", "javascript:", "<script", "alert(3)"):
            assert bad not in entry.summary, name


def test_plain_text_summary_is_escaped_not_interpreted(database: Database, out: Path) -> None:
    with database.session() as session:
        save_release(session, record("t", summary="Budget: 5 < 6 & R&D grows", is_cooperation=True))
    write_feeds(database, out, BASE)
    (entry,) = xml_entries(out / "cooperation.atom")
    assert entry.summary == "Budget: 5 < 6 & R&D grows"
    assert entry.summary_detail.type == "text/plain"
    (item,) = json.loads((out / "cooperation.json").read_text())["items"]
    assert item["summary"] == "Budget: 5 < 6 & R&D grows"


def test_lone_surrogates_and_controls_do_not_break_the_build() -> None:
    # SQLite and PostgreSQL refuse to store lone surrogates, so this one is built in memory:
    # it stands for text that reaches the builders from anywhere else.
    source = Source(name="nstc", agency="NSTC\x02", agency_country="TW", language="en",
                    timezone="UTC")  # fmt: skip
    when = datetime(2024, 1, 1, tzinfo=UTC)
    release = Release(
        source=source, native_id="s\ud800", url="https://x.example/s",
        title="Bad \ud83d\x01 <script>x</script>", published_at=when, updated_at=when,
        summary="Sum\udfffmary \x0b", body="", language="en", agency="NSTC\x1f",
        partners=["FR\x00"], topics=["ai\ud800"],
    )  # fmt: skip
    item = item_from_release(release)
    assert item.id == "tag:stnews.github.io,2024:release/nstc/s%ED%A0%80"
    assert item.title == "Bad" and item.summary_text == "Summary" and item.author == "NSTC"
    meta = feed_meta(id="tag:t,2024:x", title="T\x01", description="D", home_url=BASE, items=[item])
    for render in (render_atom, render_rss):
        parsed = feedparser.parse(render(meta, [item], BASE + "x", "application/xml"))
        assert not parsed.bozo and parsed.entries[0].title == "Bad"
    data = render_json(meta, [item], BASE + "x.json")
    assert json.loads(data)["items"][0]["tags"] == ["France (FR)", "AI"]


# --- stable ids, updates and unchanged files -------------------------------------------------


def test_edit_keeps_entry_id_and_moves_updated_then_nothing_rewritten(
    seeded: Database, out: Path
) -> None:
    write_feeds(seeded, out, BASE)
    before = {e.id: e for e in xml_entries(out / "cooperation.atom")}
    n1 = entry_id("n1")
    edited = record(
        "n1",
        url="https://new-host.example/en/news/n1",  # the agency moved host
        published_at=datetime(2024, 3, 1, tzinfo=UTC),
        body="First paragraph, corrected.\n\nSecond paragraph.",
        partners=["FR", "EU"],
        topics=["ai"],
        coop_type="mou",
        is_cooperation=True,
    )
    with seeded.session() as session:
        assert save_release(session, edited) is SaveOutcome.UPDATED
    stamps = mtimes(out)

    report = write_feeds(seeded, out, BASE)
    after = {e.id: e for e in xml_entries(out / "cooperation.atom")}
    assert list(after) == list(before)  # same ids, same order
    updated = datetime.fromisoformat(after[n1].updated)
    assert updated > datetime.fromisoformat(before[n1].updated)
    assert after[n1].published == before[n1].published
    assert after[n1].link == "https://new-host.example/en/news/n1"
    written = {f.path.name for f in report.written}
    assert {"cooperation.atom", "partner-fr.rss", "source-nstc.json", "all.atom"} <= written
    assert "partner-de.atom" not in written and "source-msit.atom" not in written
    assert (out / "partner-de.atom").stat().st_mtime_ns == stamps["partner-de.atom"]

    stamps = mtimes(out)
    again = write_feeds(seeded, out, BASE)
    assert again.written == [] and again.removed == []
    assert {f.status for f in again.files} == {FileStatus.UNCHANGED}
    assert mtimes(out) == stamps


def test_same_content_gives_byte_identical_files(seeded: Database, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    write_feeds(seeded, first, BASE)
    write_feeds(seeded, second, BASE)
    assert [p.name for p in sorted(first.iterdir())] == [p.name for p in sorted(second.iterdir())]
    for path in first.iterdir():
        assert path.read_bytes() == (second / path.name).read_bytes(), path.name


def test_no_temporary_files_left_and_files_readable(seeded: Database, out: Path) -> None:
    write_feeds(seeded, out, BASE)
    write_feeds(seeded, out, BASE)
    leftovers = [p.name for p in out.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == []
    assert all(p.stat().st_mode & 0o444 == 0o444 for p in out.iterdir())


def test_feed_of_a_vanished_partner_is_removed(seeded: Database, out: Path) -> None:
    write_feeds(seeded, out, BASE)
    assert (out / "partner-de.atom").exists()
    reclassified = record(
        "n2",
        published_at=datetime(2024, 2, 1, tzinfo=UTC),
        body="Revised.",
        topics=["space"],
        coop_type="joint_call",
        is_cooperation=True,
    )  # partners: none any more
    with seeded.session() as session:
        assert save_release(session, reclassified) is SaveOutcome.UPDATED
    report = write_feeds(seeded, out, BASE)
    removed = {f.path.name for f in report.removed}
    assert removed == {"partner-de.atom", "partner-de.rss", "partner-de.json"}
    assert not (out / "partner-de.atom").exists()
    assert "partner-de" not in (out / "feeds.opml").read_text()


def test_empty_database_gives_valid_empty_feeds(database: Database, out: Path) -> None:
    report = write_feeds(database, out, BASE)
    names = ("cooperation", "cooperation-releases", "all", "monitor")
    expected = {f"{name}.{ext}" for name in names for ext in FORMATS}
    assert {f.path.name for f in report.files} == {*expected, "feeds.opml", "calendar.ics"}
    for path in feed_files(out):
        if path.suffix == ".json":
            assert json.loads(path.read_text())["items"] == []
        else:
            parsed = feedparser.parse(path.read_bytes())
            assert not parsed.bozo and parsed.entries == []
            # A plausible fixed time: the W3C validator flags the Unix epoch as implausible.
            updated = parsed.feed.get("updated_parsed")
            assert updated is not None and updated.tm_year >= 2024, path.name


# --- OPML ------------------------------------------------------------------------------------


def test_opml_lists_every_feed_once_in_atom_grouped_by_kind(seeded: Database, out: Path) -> None:
    write_feeds(seeded, out, BASE)
    root = ET.parse(out / "feeds.opml").getroot()
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title")
    folders = root.findall("body/outline")
    assert [f.get("text") for f in folders] == [
        "Cooperation", "By partner", "By publisher", "By topic", "By type of cooperation",
        "By language", "For operators",
    ]  # fmt: skip
    outlines = [o for o in root.iter("outline") if o.get("xmlUrl")]
    for outline in outlines:
        assert outline.get("type") == "rss" and outline.get("xmlUrl").endswith(".atom")
        assert outline.get("title") and outline.get("text") and outline.get("htmlUrl")
    listed = [o.get("xmlUrl") for o in outlines]
    assert sorted(listed) == sorted(BASE + p.name for p in feed_files(out) if p.suffix == ".atom")
    # One format, so each feed once, and every feed titled differently.
    titles = [o.get("title") for o in outlines]
    assert len(titles) == len(set(titles))
    partners = next(f for f in folders if f.get("text") == "By partner")
    assert "stnews: cooperation with France (FR)" in [o.get("title") for o in partners]


# --- command line ----------------------------------------------------------------------------


def test_feed_handler_writes_and_reports(
    seeded: Database, database_url: str, out: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db")
    register(parser.add_subparsers())
    args = parser.parse_args(["--db", database_url, "feed", "--out", str(out), "--limit", "2"])
    assert args.handler(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("written") and "cooperation.atom" in line for line in lines)
    assert lines[-1].startswith(f"{len(lines) - 1} files in {out}: {len(lines) - 1} written")
    assert len(ids(out / "cooperation.atom")) == 2
    assert ids(out / "cooperation.json")[0] == entry_id("m1")
    with pytest.raises(SystemExit):
        parser.parse_args(["feed", "--limit", "0"])


def test_stnews_feed_command(seeded: Database, database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "cli-feeds"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    command = ["--db", database_url, "feed", "--out", str(out)]
    command += ["--base-url", BASE]

    def run() -> list[str]:
        result = forked_cli.run(command, env=env, cwd=tmp_path, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    first = run()
    assert any(line.startswith("written") and "cooperation.rss" in line for line in first)
    assert "written" in first[-1] and "0 unchanged" in first[-1]
    assert ids(out / "cooperation.atom")[0] == entry_id("m1")
    second = run()
    assert all(line.startswith("unchanged") for line in second[:-1])
    assert "0 written" in second[-1]


def test_database_rows_untouched_by_feed_build(seeded: Database, out: Path) -> None:
    with seeded.session() as session:
        before = [(r.id, r.updated_at) for r in session.scalars(select(Release))]
    write_feeds(seeded, out, BASE)
    with seeded.session() as session:
        assert [(r.id, r.updated_at) for r in session.scalars(select(Release))] == before

"""`stnews reparse`: stored releases re-extracted from their raw responses, never fetched."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import zlib
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from crawler.normalize import fingerprint
from crawler.project import project_settings
from crawler.service.reparse import reparse
from storage import Database, RawResponse, Release
from tests import forked_cli
from tests.cli_support import call
from tests.crawl_support import crawl_json, expected_release_ids
from tests.databases import new_database_url
from tests.support import ROOT

OLD = datetime(2020, 1, 1, tzinfo=UTC)


# Run in the child before anything else: any Python-level connection fails, and so does a
# name lookup other than the test database's (psycopg resolves its host in Python, then
# connects through libpq).
def database_host(db: str) -> str:
    return make_url(db).host or ""


def run_reparse(db: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """`reparse` in a child process whose sockets refuse to connect."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "STNEWS_LOG_LEVEL": "WARNING",
        "TEST_DATABASE_HOST": database_host(db),
    }
    env.pop("DATABASE_URL", None)
    result = forked_cli.run(
        ["--db", db, "reparse", *args],
        env=env,
        cwd=ROOT,
        timeout=180,
        offline_but=database_host(db),
    )
    assert "network access attempted" not in result.stderr, result.stderr
    if check and result.returncode != 0:
        raise AssertionError(f"reparse {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def guard_sockets(monkeypatch: pytest.MonkeyPatch, db: str) -> None:
    """Fail on any Python-level connection, and on name lookups but the database's."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access attempted: {args!r}")

    lookup = socket.getaddrinfo

    def guarded_lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host != database_host(db):
            refuse(host, *args)
        return lookup(host, *args, **kwargs)

    for name in ("connect", "connect_ex"):
        monkeypatch.setattr(socket.socket, name, refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_lookup)


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database holding the nstc fixtures, crawled once; tests work on copies."""
    folder = tmp_path_factory.mktemp("crawled")
    db = new_database_url(folder)
    summary = crawl_json(db, "nstc")["nstc"]
    assert summary["new"] == len(expected_release_ids("nstc"))
    return db


def snapshot(db: str) -> dict[str, dict[str, Any]]:
    database = Database(db)
    try:
        with database.session(readonly=True) as session:
            return {
                r.native_id: {
                    "id": r.id,
                    "title": r.title,
                    "body": r.body,
                    "published_at": r.published_at,
                    "extraction": r.extraction,
                    "fingerprint": r.fingerprint,
                    "updated_at": r.updated_at,
                    "last_seen_at": r.last_seen_at,
                    "version": r.raw.extractor_version if r.raw else None,
                }
                for r in session.scalars(select(Release))
            }
    finally:
        database.dispose()


def tamper(db: str, changes: dict[str, dict[str, Any]], all_updated_at: datetime = OLD) -> None:
    """Make stored rows look as an older, buggier extractor left them (fingerprint included)."""
    database = Database(db)
    try:
        with database.session() as session:
            for release in session.scalars(select(Release)):
                release.updated_at = all_updated_at
                for name, value in changes.get(release.native_id, {}).items():
                    setattr(release, name, value)
                release.fingerprint = fingerprint(release.title, release.body)
    finally:
        database.dispose()


def fresh_copy(crawled: str, tmp_path: Path) -> str:
    """A copy of the crawled database (SQLite), or a new crawl (PostgreSQL)."""
    if crawled.startswith("sqlite:///"):
        target = tmp_path / "copy.db"
        with (
            closing(sqlite3.connect(crawled.removeprefix("sqlite:///"))) as source,
            closing(sqlite3.connect(target)) as copy,
        ):
            source.backup(copy)
        return f"sqlite:///{target}"
    db = new_database_url(tmp_path)
    crawl_json(db, "nstc")
    return db


def test_reparse_restores_releases_from_their_raw_responses(crawled: str, tmp_path: Path) -> None:
    db = fresh_copy(crawled, tmp_path)
    original = snapshot(db)
    ids = sorted(original)
    retitled, truncated, misdated = ids[0], ids[1], ids[2]
    tamper(
        db,
        {
            retitled: {"title": "Old buggy title"},
            truncated: {"body": original[truncated]["body"].split("\n\n")[0]},
            misdated: {"published_at": original[misdated]["published_at"] - timedelta(days=3)},
        },
    )
    before = snapshot(db)

    dry = json.loads(run_reparse(db, "nstc", "--dry-run", "--json").stdout)
    assert (dry["checked"], dry["updated"], dry["corrected"], dry["failed"]) == (len(ids), 2, 1, 0)
    assert dry["unchanged"] == len(ids) - 3
    assert snapshot(db) == before  # a dry run writes nothing
    summaries = {change["url"]: change["summary"] for change in dry["changes"]}
    assert any("title: “Old buggy title” →" in summary for summary in summaries.values())
    added = len(original[truncated]["body"].split("\n\n")) - 1
    assert f"body: {added} paragraphs added" in " ".join(summaries.values())
    assert any(summary.startswith("published_at:") for summary in summaries.values())

    report = json.loads(run_reparse(db, "nstc", "--json").stdout)
    assert (report["updated"], report["corrected"], report["failed"]) == (2, 1, 0)
    after = snapshot(db)
    for native_id in ids:
        for name in ("title", "body", "published_at", "fingerprint"):
            assert after[native_id][name] == original[native_id][name], (native_id, name)
        # Reparsing is no sighting: incremental crawls still re-check on schedule.
        assert after[native_id]["last_seen_at"] == before[native_id]["last_seen_at"]
    # updated_at moves for content edits only; a corrected date is not new content.
    moved = {native_id for native_id in ids if after[native_id]["updated_at"] != OLD}
    assert moved == {retitled, truncated}
    assert after[retitled]["updated_at"] > OLD

    again = json.loads(run_reparse(db, "nstc", "--json").stdout)
    assert (again["updated"], again["corrected"], again["unchanged"]) == (0, 0, len(ids))


def test_reparse_text_report_and_failures_with_reasons(crawled: str, tmp_path: Path) -> None:
    db = fresh_copy(crawled, tmp_path)
    original = snapshot(db)
    broken, from_attachment = sorted(original)[:2]
    attachment_body = "Text of the attached file, paragraph one.\n\nParagraph two."
    tamper(db, {from_attachment: {"extraction": "attachment", "body": attachment_body}})
    database = Database(db)
    try:
        with database.session() as session:
            raw = session.get(RawResponse, original[broken]["id"])
            raw.body_zlib = zlib.compress(b"<html><head><title></title></head><body></body></html>")
    finally:
        database.dispose()

    result = run_reparse(db, "nstc", check=False)
    assert result.returncode == 1  # some releases could not be reparsed
    assert "failed" in result.stdout and "no body extracted (stored body kept)" in result.stdout
    assert f"Checked {len(original)} releases: 0 updated, 0 corrected" in result.stdout
    after = snapshot(db)
    # The broken page leaves its release as it was.
    assert after[broken]["body"] == original[broken]["body"]
    # The attachment is not stored; the text taken from it is kept.
    assert after[from_attachment]["body"] == attachment_body
    assert after[from_attachment]["extraction"] == "attachment"


def test_unknown_source_is_an_error(crawled: str) -> None:
    result = call("--db", crawled, "reparse", "nope")
    assert result.returncode == 2
    assert "unknown source: nope (known: " in result.stderr


def test_selector_change_updates_stored_releases_in_process(
    crawled: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A spider whose extraction changed: every stored release follows, with no request."""
    from scrapy.spiderloader import get_spider_loader

    db = fresh_copy(crawled, tmp_path)
    original = snapshot(db)
    settings = project_settings()
    spidercls = get_spider_loader(settings).load("nstc")
    parse_detail = spidercls.parse_detail

    def changed_parse_detail(self, response, **kwargs):  # the "new selector"
        for item in parse_detail(self, response, **kwargs):
            item["title"] = f"{item['title']} (NSTC)"
            yield item

    monkeypatch.setattr(spidercls, "parse_detail", changed_parse_detail)
    monkeypatch.setattr(spidercls, "extractor_version", "2", raising=False)

    guard_sockets(monkeypatch, db)
    database = Database(db)
    try:
        dry = reparse(database, settings, ["nstc"], dry_run=True)
        assert dry.updated == len(original) and snapshot(db) == original
        report = reparse(database, settings, ["nstc"])
    finally:
        database.dispose()
    assert (report.checked, report.updated, report.failed) == (len(original), len(original), 0)
    after = snapshot(db)
    for native_id, release in after.items():
        assert release["title"] == f"{original[native_id]['title']} (NSTC)"
        assert release["updated_at"] > original[native_id]["updated_at"]
        # The raw page is now read by extractor 2 (and the source's selectors' digest).
        assert release["version"].startswith("nstc/2.")


def test_stnews_offers_reparse() -> None:
    from crawler.cli import build_parser
    from crawler.cli.reparse import cmd_reparse

    args = build_parser().parse_args(["reparse", "nstc", "--dry-run"])
    assert args.handler is cmd_reparse
    assert (args.sources, args.dry_run) == (["nstc"], True)

"""The feed server serves routed names only: no path reaches a file, no filter reaches SQL.

Requests go over a real socket to `start_server` on 127.0.0.1, with the raw request
targets a client library would normalize away (`..`, encoded slashes and dots, NUL,
backslashes, absolute forms).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from crawler.server import start_server
from storage import Database, save_release
from storage.queries import feed_releases
from tests.feeds.conftest import record, seed_records
from tests.support import ROOT

SQL_TITLE = "Robert'); DROP TABLE releases; -- \" OR 1=1 /* cooperation with France */"
# What no answer may contain: bits of files a path traversal would reach.
FILE_MARKERS = (b"root:x:0:0", b"[project]", b"BOT_NAME", b"SPIDER_MODULES", b"SENTINEL-")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, str]]:
    from tests.databases import new_database_url

    tmp = tmp_path_factory.mktemp("server-paths")
    # Files a traversal from the working directory or a feed directory could reach.
    (tmp / "feeds").mkdir()
    (tmp / "feeds" / "all.atom").write_text("SENTINEL-feed-file")
    (tmp / "secret.txt").write_text("SENTINEL-secret")
    url = new_database_url(tmp)
    database = Database(url)
    with database.session() as session:
        for rec in [*seed_records(), record("sql", title=SQL_TITLE, is_cooperation=True)]:
            save_release(session, rec)
    database.dispose()
    handle = start_server(url, "127.0.0.1", 0, cache_ttl=0)
    try:
        yield handle.port, url
    finally:
        handle.stop()


def raw_get(port: int, target: str) -> tuple[int, bytes]:
    """Status and body for a request line sent exactly as given."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(
            f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode(
                "latin-1"
            )
        )
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


TRAVERSALS = [
    "/feeds/../../etc/passwd",
    "/feeds/../../../../../../etc/passwd",
    "/feeds/%2e%2e/%2e%2e/etc/passwd",
    "/feeds/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "/feeds/..%2fsettings.py",
    "/feeds/..%2f..%2fcrawler%2fsettings.py",
    "/feeds/..%5c..%5ccrawler%5csettings.py",
    "/feeds/..\\..\\pyproject.toml",
    "/feeds/%252e%252e/%252e%252e/etc/passwd",
    "/feeds/all.atom/../../pyproject.toml",
    "/feeds/all.atom%00.txt",
    "/feeds/%00../../etc/passwd",
    "/feeds//etc/passwd",
    "/feeds/%2fetc%2fpasswd",
    "/feeds/.%2e/secret.txt",
    "/feeds/all.atom;/../../pyproject.toml",
    "/../pyproject.toml",
    "/etc/passwd",
    "//etc/passwd",
    "/pyproject.toml",
    "/crawler/settings.py",
    "/secret.txt",
    "/feeds/feeds/all.atom",
    "/feeds/.all.atom.abc123.tmp",
    "/feeds/~/.ssh/id_rsa",
    "/feeds/file:%2f%2f%2fetc%2fpasswd",
    "http://127.0.0.1/../../etc/passwd",
    "/feeds/ALL.ATOM",
]


@pytest.mark.parametrize("target", TRAVERSALS)
def test_no_path_reaches_a_file(server: tuple[int, str], target: str) -> None:
    status, body = raw_get(server[0], target)
    assert status in (400, 404), (status, body[:200])
    for marker in FILE_MARKERS:
        assert marker not in body


def test_the_routed_names_still_work(server: tuple[int, str]) -> None:
    for target in ("/feeds/all.atom", "/feeds/cooperation.rss", "/feeds.opml", "/healthz", "/"):
        status, body = raw_get(server[0], target)
        assert status == 200, target
        assert not any(marker in body for marker in FILE_MARKERS)


@pytest.mark.parametrize(
    "query",
    [
        "source=nstc'%20OR%20'1'%3D'1",
        "source=nstc%3B%20DROP%20TABLE%20releases",
        "partner=FR'--",
        "partner=../../etc/passwd",
        "topic=ai%00",
        "type=mou%20UNION%20SELECT%20*%20FROM%20sources",
        "language=en'",
        "limit=10;DROP%20TABLE%20releases",
        "limit=-1",
        "limit=99999999999999999999",
        "limit=1e3",
        "source=nstc&source=msit",
        "sort=title",
        "partner=",
    ],
)
def test_filter_values_are_validated(server: tuple[int, str], query: str) -> None:
    status, body = raw_get(server[0], f"/feeds/all.atom?{query}")
    assert status == 400, (query, body[:300])
    assert body.startswith(b"400 Bad Request")


def test_sql_text_is_data(server: tuple[int, str]) -> None:
    port, url = server
    database = Database(url)
    try:
        with database.session(readonly=True) as session:
            titles = [r.title for r in feed_releases(session, cooperation_only=False, limit=100)]
    finally:
        database.dispose()
    assert SQL_TITLE in titles
    assert len(titles) == len(seed_records()) + 1  # every row is still there
    status, body = raw_get(port, "/feeds/all.atom")
    parsed = feedparser.parse(body)
    assert status == 200 and not parsed.bozo
    assert any(entry.title.startswith("Robert'); DROP TABLE releases;") for entry in parsed.entries)


def test_the_server_reads_no_files_from_its_directory(server: tuple[int, str]) -> None:
    # The server renders from the database; a feed directory's files are never served.
    status, body = raw_get(server[0], "/feeds/all.atom")
    assert status == 200 and b"SENTINEL" not in body
    assert Path(ROOT / "crawler" / "server" / "app.py").read_text().count("FileResponse") == 0
    assert "StaticFiles" not in Path(ROOT / "crawler" / "server" / "app.py").read_text()

"""Push, the calendar, the JSON API and CSV, and real feed clients (issue 16, parts 1, 3, 4, 6).

- WebSub: a hub stub on 127.0.0.1 records the pings; a build that changed feeds pings once
  with their URLs, an unchanged build pings nothing, a dead hub never fails the build.
- The calendar holds seed 000's meeting ("scheduled to take place in early May 2024") as a
  month-long May 2024 entry, parsed back with icalendar; vague dates never become a day.
- The API pages and filters like the feeds, answers 400 on bad input, describes itself.
- xmllint and newsboat (Debian packages, installed by `make install` where apt works) read
  the files; newsboat imports the OPML and reloads every feed from a loopback server.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl

import feedparser
import pytest
from icalendar import Calendar

from crawler.feeds.coming import coming_dates
from crawler.feeds.write import write_feeds
from storage import Database, save_release
from tests.feeds.conftest import record

ROOT = Path(__file__).resolve().parents[2]
SEED_000 = ROOT / "fixtures" / "nstc" / "detail" / "d82a8144-43dc-412b-9d71-4aa310c72fd6"
BASE = "https://feeds.example/stnews/"


def seed_000_record():
    """Seed 000 (NSTC, 2023-11-29) as the page object read it from the bundled real page."""
    expected = json.loads(SEED_000.with_suffix(".expected.json").read_text("utf-8"))
    return record(
        expected["native_id"],
        url=expected["url"],
        title=expected["title"],
        body="\n\n".join(expected["body"]),
        published_at=datetime(2023, 11, 29, 2, tzinfo=UTC),
        partners=["FR"],
        topics=["semiconductors", "quantum"],
        coop_type="agreement",
        is_cooperation=True,
        confidence=0.95,
    )


# --- WebSub ---------------------------------------------------------------------------------


class HubStub(BaseHTTPRequestHandler):
    pings: list[list[tuple[str, str]]]
    status = 204

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        type(self).pings.append(parse_qsl(body))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hub() -> Iterator[tuple[str, type[HubStub]]]:
    handler = type("Hub", (HubStub,), {"pings": [], "status": 204})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hub", handler
    finally:
        server.shutdown()
        server.server_close()


def test_a_changed_build_pings_the_hub_and_feeds_declare_it(
    seeded: Database, tmp_path: Path, hub: tuple[str, type[HubStub]]
) -> None:
    hub_url, stub = hub
    out = tmp_path / "feeds"
    report = write_feeds(seeded, out, BASE, hub_url=hub_url)
    assert report.hub is not None and report.hub.ok
    pings = list(stub.pings)  # one request per 50 feeds
    assert len(pings) == -(-len(report.written) // 50)
    assert all(("hub.mode", "publish") in ping for ping in pings)
    announced = sorted(url for ping in pings for key, url in ping if key == "hub.url")
    written = sorted(BASE + f.path.name for f in report.written if f.path.suffix != ".opml")
    assert announced == [u for u in written if not u.endswith(".ics")]
    assert f'<link href="{hub_url}" rel="hub"/>' in (out / "cooperation.atom").read_text()
    assert f'<atom:link href="{hub_url}" rel="hub"/>' in (out / "cooperation.rss").read_text()
    hubs = json.loads((out / "cooperation.json").read_text())["hubs"]
    assert hubs == [{"type": "WebSub", "url": hub_url}]

    # Nothing changed: no ping. One release more: only the feeds it is in.
    assert write_feeds(seeded, out, BASE, hub_url=hub_url).hub is None
    assert len(stub.pings) == len(pings)
    with seeded.session() as session:
        save_release(session, record("k9", source="msit", partners=["KR"], is_cooperation=True,
                                     published_at=datetime(2024, 6, 1, tzinfo=UTC)))  # fmt: skip
    write_feeds(seeded, out, BASE, hub_url=hub_url)
    second = sorted(
        url for ping in stub.pings[len(pings) :] for key, url in ping if key == "hub.url"
    )
    assert f"{BASE}cooperation.atom" in second and f"{BASE}partner-kr.atom" in second
    assert f"{BASE}partner-fr.atom" not in second


def test_a_failing_hub_is_reported_and_never_fails_the_build(
    seeded: Database, tmp_path: Path, hub: tuple[str, type[HubStub]]
) -> None:
    hub_url, stub = hub
    stub.status = 503
    report = write_feeds(seeded, tmp_path / "a", BASE, hub_url=hub_url, ping_timeout=2)
    assert report.hub is not None and not report.hub.ok and report.hub.status == 503
    assert len(stub.pings) == 3  # retried with backoff
    assert "hub ping failed" in report.summary()
    # A hub that is not there at all: refused at once, reported, files written.
    dead = write_feeds(seeded, tmp_path / "b", BASE, hub_url="http://127.0.0.1:9/", ping_timeout=2)
    assert dead.hub is not None and not dead.hub.ok
    assert (tmp_path / "b" / "cooperation.atom").is_file()


# --- the calendar ---------------------------------------------------------------------------


def test_seed_000_meeting_is_a_may_2024_entry_of_the_calendar(
    database: Database, tmp_path: Path
) -> None:
    with database.session() as session:
        save_release(session, seed_000_record())
    write_feeds(database, tmp_path, BASE)
    calendar = Calendar.from_ical((tmp_path / "calendar.ics").read_bytes())
    events = calendar.walk("VEVENT")
    assert len(events) == 1  # the signing (November 23) is past, not a coming event
    (event,) = events
    assert event.decoded("dtstart") == date(2024, 5, 1)
    assert event.decoded("dtend") == date(2024, 6, 1)  # the whole month: "early May" only
    assert not isinstance(event.decoded("dtstart"), datetime)  # all-day, no invented time
    assert "early May 2024" in str(event["summary"]) and "Taiwan" in str(event["summary"])
    assert str(event["url"]) == seed_000_record().url
    assert "scheduled to take place in early May 2024" in str(event["description"])


def test_calendar_dates_are_only_what_the_text_states() -> None:
    published = date(2024, 1, 10)
    text = (
        "The 3rd joint committee meeting will be held on March 5, 2024 in Paris. "
        "The application deadline is May 15, 2024, and results are expected in December 2024. "
        "Since May 2023 both sides have met twice. The 2030 target was confirmed at the forum. "
        "A forum is planned for mid-June 2024."
    )
    found = [(c.start, c.period, c.occasion) for c in coming_dates(text, published, "en")]
    assert found == [
        (date(2024, 3, 5), "day", "meeting"),
        (date(2024, 5, 15), "day", "deadline"),
        (date(2024, 6, 1), "month", "meeting"),
    ]
    ko = (
        "한-프 과학기술공동위원회는 2024년 5월 초 서울에서 개최될 예정이다. "
        "신청 마감은 3월 15일이다."
    )
    assert [(c.start, c.period) for c in coming_dates(ko, published, "ko")] == [
        (date(2024, 5, 1), "month"),
        (date(2024, 3, 15), "day"),
    ]
    zh = "台法科技會議預計於113年5月上旬在台北舉行。"  # ROC year 113 = 2024, "early May"
    assert [(c.start, c.period) for c in coming_dates(zh, published, "zh-Hant")] == [
        (date(2024, 5, 1), "month")
    ]


# --- the JSON API and CSV -------------------------------------------------------------------


@pytest.fixture
def client(seeded: Database, database_url: str):
    from crawler.server.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    with seeded.session() as session:
        save_release(session, seed_000_record())
    with TestClient(create_app(database_url, cache_ttl=0, base_url="https://s.example/")) as c:
        yield c


def test_api_releases_pages_and_filters_like_the_feeds(client) -> None:
    first = client.get("/api/releases?limit=3")
    assert first.status_code == 200 and first.headers["content-type"].startswith("application/json")
    page = first.json()
    assert page["total"] == 8 and len(page["items"]) == 3 and page["previous"] is None
    assert page["next"] == "https://s.example/api/releases?limit=3&offset=3"
    rest = client.get("/api/releases?limit=3&offset=3").json()
    ids = [i["id"] for i in page["items"] + rest["items"]]
    assert len(set(ids)) == 6
    fr = client.get("/api/releases?partner=fr").json()
    assert fr["total"] == 5 and all("FR" in i["partners"] for i in fr["items"])
    everything = client.get("/api/releases?cooperation=any&limit=100").json()
    assert everything["total"] == 10
    ko = client.get("/api/releases?language=ko").json()
    assert {i["language"] for i in ko["items"]} == {"ko"} and ko["total"] == 1
    for bad, message in [
        ("language=xx", "unknown language"),
        ("partner=ZZ", "unknown partner"),
        ("limit=0", "limit must be from 1"),
        ("offset=-1", "offset must be from 0"),
        ("cooperation=maybe", "cooperation takes true or any"),
        ("colour=red", "unknown query parameter 'colour'"),
    ]:
        response = client.get(f"/api/releases?{bad}")
        assert response.status_code == 400 and message in response.text, bad


def test_language_filters_take_short_and_full_tags(client) -> None:
    for query, expected in (("en", 7), ("EN", 7), ("ko", 1), ("zh", 0), ("en-GB", 0)):
        response = client.get(f"/feeds/cooperation-releases.json?language={query}&limit=100")
        assert response.status_code == 200, query
        assert len(response.json()["items"]) == expected, query
    assert client.get("/feeds/cooperation.atom?language=klingon").status_code == 400


def test_csv_export_and_openapi(client) -> None:
    response = client.get("/api/releases.csv?partner=FR")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 5 and all("FR" in row["partners"].split() for row in rows)
    assert rows[0]["url"].startswith("https://")
    spec = client.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert {"/api/releases", "/api/events", "/api/releases.csv", "/calendar.ics"} <= set(
        spec["paths"]
    )
    assert client.get("/api/events").json()["items"] == []  # no events linked in this database
    calendar = client.get("/calendar.ics?partner=FR")
    assert calendar.headers["content-type"].startswith("text/calendar")
    (event,) = Calendar.from_ical(calendar.content).walk("VEVENT")
    assert event.decoded("dtstart") == date(2024, 5, 1)
    assert client.get("/calendar.ics?partner=DE").text.count("BEGIN:VEVENT") == 0
    assert client.get("/calendar.ics?topic=nope").status_code == 400


# --- real clients ---------------------------------------------------------------------------


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian package; `make install` adds it as root)")
    return path


def test_xmllint_reads_every_xml_feed_and_the_opml(seeded: Database, tmp_path: Path) -> None:
    xmllint = _need("xmllint")
    write_feeds(seeded, tmp_path, BASE)
    files = sorted(str(p) for p in tmp_path.iterdir() if p.suffix in (".atom", ".rss", ".opml"))
    result = subprocess.run([xmllint, "--noout", *files], capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr == "", result.stderr[-2000:]


@pytest.mark.slow
def test_newsboat_imports_the_opml_and_reloads_every_feed(seeded: Database, tmp_path: Path) -> None:
    newsboat = _need("newsboat")
    files = tmp_path / "site"
    handler = partial(SimpleHTTPRequestHandler, directory=str(files))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        write_feeds(seeded, files, base)
        env = {**os.environ, "HOME": str(tmp_path / "home")}
        (tmp_path / "home").mkdir()
        common = ["-u", str(tmp_path / "urls"), "-c", str(tmp_path / "cache.db"), "-C", "/dev/null"]
        imported = subprocess.run(
            [newsboat, "-i", str(files / "feeds.opml"), *common],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert imported.returncode == 0, imported.stderr
        urls = (tmp_path / "urls").read_text().splitlines()
        assert len(urls) == len(list(files.glob("*.atom")))  # each feed once, in Atom
        reloaded = subprocess.run(
            [newsboat, *common, "-x", "reload", "print-unread"],
            capture_output=True, text=True, env=env, timeout=120,
        )  # fmt: skip
        assert reloaded.returncode == 0, reloaded.stderr
        assert "error" not in (reloaded.stdout + reloaded.stderr).lower()
        with sqlite3.connect(tmp_path / "cache.db") as cache:
            feeds = dict(cache.execute("SELECT rssurl, title FROM rss_feed").fetchall())
            guids = {row[0] for row in cache.execute("SELECT guid FROM rss_item")}
        assert len(feeds) == len(urls) and all(feeds.values())  # every feed loaded, titled
        assert len(set(feeds.values())) == len(feeds)  # distinct titles
        # newsboat keeps an entry once however many feeds carry it (its cache is keyed by
        # guid): every entry id of every Atom file is there.
        ids = {e.id for p in files.glob("*.atom") for e in feedparser.parse(p.read_bytes()).entries}
        assert guids == ids and len(ids) > 10
    finally:
        server.shutdown()
        server.server_close()

"""The feed server over a seeded database: conditional GETs, filters and their validation,
gzip, content types, the escaped front page, the cache, /healthz and a real socket."""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import feedparser
import pytest
from sqlalchemy import create_engine

from crawler.cli.serve import register
from crawler.feeds import release_entry_id, write_feeds
from crawler.server import ServerHandle, create_app, run_server, start_server
from storage import Database, ReleaseRecord, list_releases, save_release
from storage.pages import record_snapshot
from tests.feeds.conftest import EVIL_TITLE, day, record, seed_records

with warnings.catch_warnings():
    # Starlette 1.x asks for httpx2 behind its TestClient; httpx (a dev dependency) works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = "https://news.example/stnews/"
MEDIA = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}


@pytest.fixture
def seeded(database: Database) -> Database:
    with database.session() as session:
        for rec in seed_records():
            save_release(session, rec)
    return database


@pytest.fixture
def client(seeded: Database, database_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(database_url, base_url=BASE)) as client:
        yield client


def service(client: TestClient):
    return client.app.state.service  # type: ignore[attr-defined]


def entries(response) -> list[tuple[str, str]]:
    """(id, link) of each entry, in feed order, whatever the format."""
    if response.headers["content-type"].startswith("application/feed+json"):
        return [(item["id"], item["url"]) for item in json.loads(response.content)["items"]]
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    return [(entry.id, entry.link) for entry in parsed.entries]


def entry_ids(response) -> list[str]:
    return [entry_id for entry_id, _ in entries(response)]


def db_truth(
    database: Database, *, partner: str | None = None, topic: str | None = None
) -> list[tuple[str, str]]:
    """(id, link) of the matching cooperation releases, newest first, read from the rows'
    own partners and topics (not the tag table the feed query uses)."""
    with database.session(readonly=True) as session:
        return [
            (release_entry_id(r.source.name, r.native_id, r.url), r.url)
            for r in list_releases(session, cooperation_only=True)
            if (partner is None or partner in r.partners) and (topic is None or topic in r.topics)
        ]


def save(database: Database, *records: ReleaseRecord) -> None:
    with database.session() as session:
        for rec in records:
            save_release(session, rec)


# --- conditional GET -------------------------------------------------------------------------


def test_if_none_match_answers_304_without_a_body(client: TestClient) -> None:
    first = client.get("/feeds/cooperation.atom")
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"] == "public, max-age=30"

    again = client.get("/feeds/cooperation.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["last-modified"] == first.headers["last-modified"]
    # A list of tags, a weak form of the same tag, and "*" all match.
    for header in (f'"nope", {etag}', f"W/{etag}", "*"):
        assert (
            client.get("/feeds/cooperation.atom", headers={"If-None-Match": header}).status_code
            == 304
        )
    assert (
        client.get("/feeds/cooperation.atom", headers={"If-None-Match": '"other"'}).status_code
        == 200
    )
    # Another format is another body, so another tag.
    assert client.get("/feeds/cooperation.rss", headers={"If-None-Match": etag}).status_code == 200


def test_if_modified_since_answers_304_and_if_none_match_takes_precedence(
    client: TestClient,
) -> None:
    first = client.get("/feeds/cooperation.rss")
    last_modified = first.headers["last-modified"]
    assert last_modified.endswith(" GMT")

    since = client.get("/feeds/cooperation.rss", headers={"If-Modified-Since": last_modified})
    assert since.status_code == 304 and since.content == b""
    older = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert (
        client.get("/feeds/cooperation.rss", headers={"If-Modified-Since": older}).status_code
        == 200
    )
    garbage = client.get("/feeds/cooperation.rss", headers={"If-Modified-Since": "yesterday"})
    assert garbage.status_code == 200
    # A tag that does not match wins over a date that would.
    both = client.get(
        "/feeds/cooperation.rss",
        headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified},
    )
    assert both.status_code == 200 and both.content == first.content


def test_last_modified_is_the_newest_entrys_update(client: TestClient, seeded: Database) -> None:
    from email.utils import parsedate_to_datetime

    from storage.queries import feed_releases

    with seeded.session() as session:
        newest = max(r.updated_at for r in feed_releases(session, cooperation_only=True))
    response = client.get("/feeds/cooperation.json")
    assert parsedate_to_datetime(response.headers["last-modified"]) == newest.replace(microsecond=0)


# --- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_filtered_feed_holds_exactly_the_matching_releases(
    client: TestClient, seeded: Database, fmt: str
) -> None:
    response = client.get(f"/feeds/cooperation.{fmt}?partner=FR&topic=ai")
    assert response.status_code == 200
    wanted = db_truth(seeded, partner="FR", topic="ai")
    # The seed has such releases, and others that match only one of the filters.
    assert wanted and len(db_truth(seeded, partner="FR")) > len(wanted)
    assert len(db_truth(seeded, topic="ai")) > len(wanted)
    assert entries(response) == wanted


def test_filters_are_case_insensitive_and_combine_with_named_feeds(
    client: TestClient, seeded: Database
) -> None:
    upper = client.get("/feeds/cooperation.atom?partner=FR&topic=ai")
    lower = client.get("/feeds/cooperation.atom?topic=AI&partner=fr")
    assert entry_ids(lower) == entry_ids(upper)
    assert lower.headers["etag"] == upper.headers["etag"]  # one canonical feed, one cache entry

    named = client.get("/feeds/partner-fr.json?topic=ai")
    assert entries(named) == db_truth(seeded, partner="FR", topic="ai")
    redundant = client.get("/feeds/partner-fr.json?partner=fr")
    assert entry_ids(redundant) == entry_ids(client.get("/feeds/partner-fr.json"))

    limited = client.get("/feeds/cooperation.atom?limit=2")
    assert entries(limited) == db_truth(seeded)[:2]
    by_source = client.get("/feeds/all.atom?source=MSIT&language=ko")
    assert entry_ids(by_source) == [release_entry_id("msit", "m1", "https://msit.example/news/m1")]


def test_filtered_feed_names_itself(client: TestClient) -> None:
    parsed = feedparser.parse(client.get("/feeds/cooperation.atom?partner=fr&limit=5").content)
    assert parsed.feed.id.endswith("feed/cooperation?partner=FR")
    assert "France (FR)" in parsed.feed.title
    self_links = [link.href for link in parsed.feed.links if link.rel == "self"]
    assert self_links == [f"{BASE}feeds/cooperation.atom?partner=FR&limit=5"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("partner=XX", "unknown partner 'XX'"),
        ("topic=nope", "unknown topic 'nope'"),
        ("type=nope", "unknown type 'nope'"),
        ("limit=0", "limit must be from 1 to 500"),
        ("limit=501", "limit must be from 1 to 500"),
        ("limit=abc", "limit must be a whole number"),
        ("source=nope", "unknown source 'nope'"),
        ("language=english", "unknown language 'english'"),
        ("language=xx", "unknown language 'xx'"),
        ("language=zh-", "unknown language 'zh-'"),
        ("colour=red", "unknown query parameter 'colour'"),
        ("partner=FR&partner=DE", "'partner' given more than once"),
        ("partner=", "'partner' is empty"),
    ],
)
def test_a_bad_filter_is_a_400_with_a_clear_message(
    client: TestClient, query: str, message: str
) -> None:
    response = client.get(f"/feeds/cooperation.atom?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert message in response.text
    assert response.text.startswith("400 Bad Request: ")


def test_a_filter_contradicting_the_feed_name_is_a_400(client: TestClient) -> None:
    response = client.get("/feeds/partner-fr.atom?partner=DE")
    assert response.status_code == 400 and "already selects partner 'FR'" in response.text


def test_unknown_paths_and_feeds_are_404(client: TestClient) -> None:
    for path in (
        "/nope",
        "/feeds/nope.atom",
        "/feeds/cooperation.xml",
        "/feeds/partner-xx.atom",
        "/feeds/page-changes.atom",  # no monitored page yet
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.text.startswith("404 Not Found: "), path
        assert path in response.text


def test_named_feeds_for_valid_values_without_releases_are_empty(client: TestClient) -> None:
    for path in (
        "/feeds/partner-kr.atom",
        "/feeds/topic-quantum.json",
        "/feeds/type-joint-call.rss",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
    assert entry_ids(client.get("/feeds/partner-kr.atom")) == []


def test_named_feeds_and_opml_are_the_files_the_writer_writes(
    client: TestClient, seeded: Database, tmp_path: Path
) -> None:
    out = tmp_path / "feeds"
    write_feeds(seeded, out, f"{BASE}feeds/")
    files = sorted(p for p in out.iterdir() if p.suffix in (".atom", ".rss", ".json", ".opml"))
    assert len(files) > 20
    for path in files:
        response = client.get(f"/feeds/{path.name}")
        assert response.status_code == 200, path.name
        assert response.content == path.read_bytes(), path.name
    assert client.get("/feeds.opml").content == (out / "feeds.opml").read_bytes()


def test_page_changes_feed_once_a_page_is_monitored(seeded: Database, database_url: str) -> None:
    with seeded.session() as session:
        for text, when in (("First text.", day(5, 1)), ("Second text.", day(5, 2))):
            record_snapshot(
                session,
                "nstc",
                "https://nstc.example/page",
                "A page",
                text,
                when,
                text,
                lambda old, new: f"{old} -> {new}",
            )
    with TestClient(create_app(database_url, base_url=BASE)) as client:
        response = client.get("/feeds/page-changes.atom")
        assert response.status_code == 200
        assert [e.title for e in feedparser.parse(response.content).entries] == [
            "Updated page: A page"
        ]
        assert client.get("/feeds/page-changes.atom?limit=1").status_code == 200
        refused = client.get("/feeds/page-changes.atom?partner=FR")
        assert refused.status_code == 400 and "takes no filters" in refused.text


def test_monitor_feed_follows_source_health(client: TestClient, seeded: Database) -> None:
    from storage.health import record_health

    empty = client.get("/feeds/monitor.atom")
    assert empty.status_code == 200 and entry_ids(empty) == []  # exists before any event
    with seeded.session() as session:
        (event,) = record_health(session, "msit", "broken", ["list page empty"], False)
        session.flush()
        event_id = event.id
    service(client).cache.clear()
    parsed = feedparser.parse(client.get("/feeds/monitor.atom").content)
    assert [e.title for e in parsed.entries] == ["Source broken: msit"]
    assert parsed.entries[0].link == f"{BASE}feeds/#event-{event_id}"
    # That link lands on the front page, which holds the anchor.
    home = client.get("/feeds/", follow_redirects=False)
    assert home.status_code == 308 and home.headers["location"] == BASE
    assert f'id="event-{event_id}"' in client.get("/").text
    refused = client.get("/feeds/monitor.json?source=msit")
    assert refused.status_code == 400 and "takes no filters" in refused.text


# --- representation --------------------------------------------------------------------------


def test_head_and_other_methods(client: TestClient) -> None:
    head = client.head("/feeds/cooperation.atom")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == client.get("/feeds/cooperation.atom").headers["etag"]
    post = client.post("/feeds/cooperation.atom")
    assert post.status_code == 405 and "GET" in post.headers["allow"]


def test_content_type_per_format(client: TestClient) -> None:
    for fmt, media_type in MEDIA.items():
        assert client.get(f"/feeds/all.{fmt}").headers["content-type"] == media_type
    assert client.get("/feeds.opml").headers["content-type"] == "text/x-opml; charset=utf-8"
    assert client.get("/").headers["content-type"] == "text/html; charset=utf-8"


def test_gzip_when_accepted(client: TestClient) -> None:
    plain = client.get("/feeds/all.atom", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    zipped = client.get("/feeds/all.atom", headers={"Accept-Encoding": "gzip, deflate"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["vary"]
    assert zipped.content == plain.content  # httpx decoded it
    assert zipped.headers["etag"] == plain.headers["etag"]
    # Error pages and the rest go through GZipMiddleware.
    page = client.get("/", headers={"Accept-Encoding": "gzip"})
    assert page.headers["content-encoding"] == "gzip"


def test_gzip_bytes_are_real_gzip(client: TestClient) -> None:
    with client.stream("GET", "/feeds/all.rss", headers={"Accept-Encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())
    assert gzip.decompress(raw) == client.get("/feeds/all.rss").content


# --- the front page --------------------------------------------------------------------------


def test_front_page_escapes_scraped_text(client: TestClient, seeded: Database) -> None:
    save(
        seeded,
        record(
            "js",  # a javascript: link cannot be stored any more (tests/test_hostile_input.py)
            title='Bad <img src=x onerror="alert(3)"> link',
            agency="<b>Agency</b>",
            published_at=day(6, 1),
            partners=["FR"],
            is_cooperation=True,
        ),
    )
    service(client).cache.clear()
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert EVIL_TITLE.replace("\x01", "").replace("\ufffe", "") not in html
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=&#34;alert(3)&#34;&gt;" in html
    assert "&lt;b&gt;Agency&lt;/b&gt;" in html
    assert 'href="javascript:' not in html
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none'
    assert "default-src 'none'" in page.headers["content-security-policy"]


def test_front_page_lists_feeds_latest_cooperation_and_health(
    client: TestClient, seeded: Database
) -> None:
    from storage.health import record_health

    with seeded.session() as session:
        record_health(session, "msit", "broken", ["no releases found on the list page"], False)
    service(client).cache.clear()
    html = client.get("/").text
    for url in ("feeds/cooperation.atom", "feeds/cooperation.rss", "feeds/all.json"):
        assert f'href="{BASE}{url}"' in html
    assert f'href="{BASE}feeds.opml"' in html
    assert "Release m1" in html and "Release m2" not in html  # m2 is not cooperation
    # Partners by name, each a link to its page.
    assert f'href="{BASE}partners/FR" title="Partner">France</a>' in html
    assert f'href="{BASE}partners/US" title="Partner">United States</a>' in html
    assert "semiconductors" in html and "2024-04-01" in html
    assert "broken" in html and "no releases found on the list page" in html
    assert "nstc" in html and "unknown" in html  # no health row yet


# --- cache -----------------------------------------------------------------------------------


def test_a_popular_feed_is_rendered_once_and_304s_touch_no_database(client: TestClient) -> None:
    svc = service(client)
    first = client.get("/feeds/cooperation.atom")
    renders, queries = svc.renders, svc.cache.probe.queries
    for _ in range(5):
        assert client.get("/feeds/cooperation.atom").content == first.content
        headers = {"If-None-Match": first.headers["etag"]}
        assert client.get("/feeds/cooperation.atom", headers=headers).status_code == 304
    assert svc.renders == renders
    assert svc.cache.probe.queries == queries  # fresh entries: no data-version query either


def test_a_change_is_served_after_the_ttl(seeded: Database, database_url: str) -> None:
    with TestClient(create_app(database_url, base_url=BASE, cache_ttl=0.2)) as client:
        svc = service(client)
        before = client.get("/feeds/cooperation.atom")
        assert client.get("/feeds/cooperation.atom").content == before.content
        renders = svc.renders

        time.sleep(0.3)  # stale, but the data did not change: revalidated, not rendered
        assert client.get("/feeds/cooperation.atom").content == before.content
        assert svc.renders == renders and svc.cache.stats.revalidated >= 1

        save(seeded, record("new", published_at=day(7, 1), partners=["SE"], is_cooperation=True))
        time.sleep(0.3)
        after = client.get("/feeds/cooperation.atom")
        new_id = release_entry_id("nstc", "new", "https://nstc.example/news/new")
        assert entry_ids(after)[0] == new_id
        assert after.headers["etag"] != before.headers["etag"]
        stale = client.get(
            "/feeds/cooperation.atom", headers={"If-None-Match": before.headers["etag"]}
        )
        assert stale.status_code == 200
        # The new partner's feed exists now: the catalog followed too.
        assert entry_ids(client.get("/feeds/partner-se.atom")) == [new_id]


def test_cache_is_bounded(client: TestClient) -> None:
    svc = service(client)
    svc.cache.max_entries = 4
    for limit in range(1, 10):
        assert client.get(f"/feeds/all.json?limit={limit}").status_code == 200
    assert len(svc.cache) <= 4 and svc.cache.stats.evictions > 0


# --- health ----------------------------------------------------------------------------------


def test_healthz(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.text.strip() == "ok"
    assert response.headers["cache-control"] == "no-store"


def test_healthz_is_503_when_the_database_is_unreachable(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable = create_engine("sqlite:////nonexistent-dir/stnews/nothing.db")

    @contextmanager
    def session(readonly: bool = False) -> Iterator[None]:
        with unreachable.connect():  # raises OperationalError: unable to open database file
            yield

    monkeypatch.setattr(service(client).database, "session", session)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "database unreachable (OperationalError)" in response.text
    unreachable.dispose()


# --- a real server ---------------------------------------------------------------------------


def _get(url_host: str, port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(url_host, port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_run_server_in_a_thread_serves_healthz_and_stops(
    seeded: Database, database_url: str
) -> None:
    handle = ServerHandle()
    thread = threading.Thread(
        target=run_server,
        args=(database_url, "127.0.0.1", 0),
        kwargs={"install_signal_handlers": False, "handle": handle},
        daemon=True,
    )
    thread.start()
    try:
        assert handle.wait_started(10), "server did not start"
        assert handle.url.startswith("http://127.0.0.1:")
        assert _get("127.0.0.1", handle.port, "/healthz") == (200, b"ok\n")
        status, body = _get("127.0.0.1", handle.port, "/feeds/cooperation.json")
        assert status == 200 and json.loads(body)["items"]
    finally:
        handle.stop()
        thread.join(10)
    assert not thread.is_alive() and not handle.running


def test_start_server_reports_a_port_in_use(seeded: Database, database_url: str) -> None:
    first = start_server(database_url, "127.0.0.1", 0)
    try:
        assert _get("127.0.0.1", first.port, "/healthz")[0] == 200
        with pytest.raises(RuntimeError, match="did not start"):
            start_server(database_url, "127.0.0.1", first.port, timeout=5)
    finally:
        first.stop()
    assert not first.running


def test_serve_command_arguments() -> None:
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["serve"])
    assert (args.host, args.port, args.base_url) == ("127.0.0.1", 8080, None)
    args = parser.parse_args(["serve", "--host", "0.0.0.0", "--port", "9000", "--base-url", BASE])
    assert (args.host, args.port, args.base_url) == ("0.0.0.0", 9000, BASE)
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--port", "http"])

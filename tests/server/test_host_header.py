"""Issue 18, item 10: the server never trusts the Host header. Links, the 308 target and the
cache key come from configuration (--base-url, else the bound address), whatever Host a
client sends; rotating it neither changes a byte served nor defeats the cache."""

from __future__ import annotations

import http.client
import warnings

import pytest

from crawler.server import create_app, start_server
from storage import Database, save_release
from tests.feeds.conftest import seed_records

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

HOSTS = [f"attacker{i}.example" for i in range(40)] + ["127.0.0.1:1", "[::1]:9", "evil.example"]
PATHS = ["/", "/feeds/cooperation.atom", "/feeds/all.rss", "/feeds/cooperation.json",
         "/feeds.opml", "/search?q=Release", "/partners/FR", "/ledger"]  # fmt: skip


@pytest.fixture
def seeded_url(database: Database, database_url: str) -> str:
    with database.session() as session:
        for rec in seed_records():
            save_release(session, rec)
    return database_url


@pytest.mark.parametrize("base", [None, "https://news.example/stnews/"])
def test_rotating_host_headers_change_nothing(seeded_url: str, base: str | None) -> None:
    expected_base = base or "http://127.0.0.1:8080/"  # create_app's default without a bind
    with TestClient(create_app(seeded_url, base_url=base)) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        first = {path: client.get(path, headers={"Host": "first.example"}) for path in PATHS}
        for path, response in first.items():
            assert response.status_code == 200, path
            assert "first.example" not in response.text, path
        assert expected_base + "feeds/cooperation.atom" in first["/"].text
        renders = service.renders
        for host in HOSTS:
            for path in PATHS[:5]:  # the cached documents
                again = client.get(path, headers={"Host": host})
                assert again.content == first[path].content, (host, path)
                assert again.headers["etag"] == first[path].headers["etag"]
        assert service.renders == renders  # every rotated Host was a cache hit
        moved = client.get("/feeds/", headers={"Host": "evil.example"}, follow_redirects=False)
        assert moved.status_code == 308 and moved.headers["location"] == expected_base


def _raw_get(port: int, path: str, host: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("GET", path, skip_host=True)
    connection.putheader("Host", host)
    connection.endheaders()
    response = connection.getresponse()
    response.body = response.read()  # type: ignore[attr-defined]
    connection.close()
    return response


def test_without_base_url_links_are_the_bound_address(seeded_url: str) -> None:
    handle = start_server(seeded_url, "127.0.0.1", 0)
    try:
        for host in ("evil.example", "127.0.0.1:1", "x" * 300):
            page = _raw_get(handle.port, "/", host)
            assert page.status == 200
            body = page.body.decode()  # type: ignore[attr-defined]
            assert f'href="{handle.url}feeds/cooperation.atom"' in body
            assert "evil.example" not in body and "127.0.0.1:1/" not in body
            feed = _raw_get(handle.port, "/feeds/cooperation.atom", host)
            assert f'href="{handle.url}feeds/cooperation.atom"'.encode() in feed.body  # type: ignore[attr-defined]
            moved = _raw_get(handle.port, "/feeds/", host)
            assert moved.status == 308 and moved.getheader("location") == handle.url
    finally:
        handle.stop()

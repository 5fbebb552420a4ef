"""Record mode end to end: a live site (a local server) saved, then replayed identically."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.sitegen import LIST_UUID
from tests.crawl_support import crawl_json, expected_release_ids, run_cli, stored_releases
from tests.databases import new_database_url
from tests.support import fixture_store

ORIGIN = "https://www.nstc.gov.tw"
# The English news list the fixtures' home page links to (its uuid is a synthetic one).
LIST_PATH = f"/folksonomy/list/{LIST_UUID}?l=en"


class FixtureSiteHandler(BaseHTTPRequestHandler):
    """Serves the NSTC fixtures as if this server were www.nstc.gov.tw."""

    def do_GET(self) -> None:
        saved = fixture_store().find(ORIGIN + self.path)
        if saved is None:
            self.send_response(404)
            self.end_headers()
            return
        body = saved.body()
        self.send_response(saved.status)
        for name, value in saved.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FixtureSiteHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.slow
def test_record_then_replay_gives_the_same_releases(site: str, tmp_path: Path) -> None:
    recorded = tmp_path / "recorded"
    start = site + LIST_PATH
    result = run_cli(
        "record", "nstc", str(recorded), "--start-url", start,
        "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "RETRY_ENABLED=False",
        "-s", "ALLOW_PRIVATE_ADDRESSES=127.0.0.1",
        db="sqlite://",
    )  # fmt: skip
    assert "Recorded" in result.stdout

    index = json.loads((recorded / "nstc" / "index.json").read_text())
    urls = {entry["url"] for entry in index["responses"]}
    assert start in urls
    assert all(entry["status"] in (200, 404) for entry in index["responses"])
    assert all((recorded / "nstc" / e["file"]).is_file() for e in index["responses"] if "file" in e)

    # One list link is absolute to www.nstc.gov.tw (as on the real site), so it leaves the
    # local server and is not recorded; every page that was recorded must replay.
    recorded_ids = {
        e["url"].split("/detail/")[1].split("?")[0]
        for e in index["responses"]
        if "/detail/" in e["url"] and e["status"] == 200
    }
    assert len(recorded_ids) >= len(expected_release_ids("nstc")) - 1

    db = new_database_url(tmp_path)
    summary = crawl_json(
        db, "nstc", "-a", f"start_url={start}", "-s", "ALLOW_PRIVATE_ADDRESSES=127.0.0.1",
        replay=recorded,
    )["nstc"]
    assert summary["new"] == len(recorded_ids)
    assert {r["native_id"] for r in stored_releases(db)} == recorded_ids

import json
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response

from crawler.replay import FixtureStore, RecordMiddleware, ReplayAddon, ReplayMiddleware


def write_fixture(root: Path, source: str, entries: list[dict], files: dict[str, bytes]) -> None:
    folder = root / source
    for name, body in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(body)
    (folder / "index.json").write_text(json.dumps({"responses": entries}))


@pytest.fixture
def store(tmp_path: Path) -> FixtureStore:
    write_fixture(
        tmp_path,
        "site",
        [
            {
                "url": "https://a.example/list?b=2&a=1",
                "file": "list.html",
                "headers": {"Content-Type": "text/html; charset=utf-8"},
            },
            {
                "url": "https://old.example/item?id=1",
                "status": 301,
                "headers": {"Location": "https://a.example/item?id=1"},
            },
        ],
        {"list.html": "<html><body>Liste ü</body></html>".encode()},
    )
    return FixtureStore.load(tmp_path)


def test_replay_answers_saved_urls_in_any_parameter_order(store: FixtureStore) -> None:
    middleware = ReplayMiddleware(store)
    response = middleware.process_request(Request("https://a.example/list?a=1&b=2"))
    assert isinstance(response, HtmlResponse)
    assert response.status == 200
    assert "Liste ü" in response.text
    assert "replay" in response.flags


def test_replay_answers_redirects_with_location(store: FixtureStore) -> None:
    response = ReplayMiddleware(store).process_request(Request("https://old.example/item?id=1"))
    assert response.status == 301
    assert response.headers["Location"] == b"https://a.example/item?id=1"


def test_replay_ignores_session_tokens(store: FixtureStore) -> None:
    response = ReplayMiddleware(store).process_request(
        Request("https://a.example/list;jsessionid=XYZ?a=1&b=2")
    )
    assert response.status == 200


def test_unknown_url_is_a_404_with_a_log_line(store: FixtureStore, caplog) -> None:
    response = ReplayMiddleware(store).process_request(Request("https://a.example/gone"))
    assert response.status == 404
    assert "https://a.example/gone" in caplog.text


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="replay directory not found"):
        FixtureStore.load(tmp_path / "nope")


class FakeCrawler:
    class spider:
        name = "site"


def test_record_then_replay_round_trip(tmp_path: Path) -> None:
    recorder = RecordMiddleware(tmp_path, FakeCrawler())

    request = Request("https://new.example/page?id=7")
    request.meta["redirect_urls"] = ["https://old.example/page?id=7"]
    request.meta["redirect_reasons"] = [301]
    live = HtmlResponse(
        url="https://new.example/page?id=7",
        status=200,
        headers={"Content-Type": "text/html; charset=big5", "Set-Cookie": "secret=1"},
        body="<html>國科會</html>".encode("big5"),
        request=request,
    )
    assert recorder.process_response(request, live) is live

    index = json.loads((tmp_path / "site" / "index.json").read_text())
    assert {entry["url"] for entry in index["responses"]} == {
        "https://new.example/page?id=7",
        "https://old.example/page?id=7",
    }
    assert all("Set-Cookie" not in entry["headers"] for entry in index["responses"])

    replay = ReplayMiddleware(FixtureStore.load(tmp_path))
    hop = replay.process_request(Request("https://old.example/page?id=7"))
    assert hop.status == 301 and hop.headers["Location"] == b"https://new.example/page?id=7"
    page = replay.process_request(Request("https://new.example/page?id=7"))
    assert isinstance(page, HtmlResponse) and "國科會" in page.text


def test_replay_and_record_together_are_refused() -> None:
    from scrapy.settings import Settings

    with pytest.raises(ValueError, match="cannot both"):
        ReplayAddon().update_settings(Settings({"REPLAY_DIR": "a", "RECORD_DIR": "b"}))


def test_bodiless_response_recorded_without_file(tmp_path: Path) -> None:
    request = Request("https://a.example/missing")
    RecordMiddleware(tmp_path, FakeCrawler()).process_response(
        request, Response(url=request.url, status=404, request=request)
    )
    (entry,) = json.loads((tmp_path / "site" / "index.json").read_text())["responses"]
    assert entry["status"] == 404 and "file" not in entry


def test_form_posts_to_one_url_are_told_apart_by_their_fields(tmp_path: Path) -> None:
    from scrapy import FormRequest

    write_fixture(
        tmp_path,
        "site",
        [
            {"url": "https://a.example/download", "method": "POST", "body": "id=1&ord=1",
             "file": "one.bin", "headers": {"Content-Type": "application/octet-stream"}},
            {"url": "https://a.example/download", "method": "POST", "body": "ord=1&id=2",
             "file": "two.bin", "headers": {"Content-Type": "application/octet-stream"}},
        ],
        {"one.bin": b"first", "two.bin": b"second"},
    )  # fmt: skip
    replay = ReplayMiddleware(FixtureStore.load(tmp_path))
    post = FormRequest("https://a.example/download", formdata={"ord": "1", "id": "2"})
    assert replay.process_request(post).body == b"second"
    other = FormRequest("https://a.example/download", formdata={"id": "3", "ord": "1"})
    assert replay.process_request(other).status == 404
    assert replay.process_request(Request("https://a.example/download")).status == 404


def test_every_fixture_response_says_where_it_came_from() -> None:
    """Each entry of every fixtures index is `real`, `derived` or `synthetic` (README)."""
    indexes = sorted((Path(__file__).resolve().parent.parent / "fixtures").rglob("index.json"))
    assert len(indexes) > 20
    for index in indexes:
        data = json.loads(index.read_text(encoding="utf-8"))
        for entry in data["responses"] if isinstance(data, dict) else data:
            kind = (entry.get("provenance") or {}).get("kind")
            assert kind in {"real", "derived", "synthetic"}, (str(index), entry["url"])

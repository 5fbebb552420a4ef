"""Site-specific checks for the MOEA IDB/IDA spider, beyond tests/expected/moeaidb.json."""

import json
import re
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse

from crawler.items import ReleaseItem
from spiders.moeaidb import MoeaIdbSpider, release_id
from tests.support import FIXTURES, fixture_response, fixture_store

EXPECTED = json.loads(
    (Path(__file__).resolve().parent.parent / "expected" / "moeaidb.json").read_text("utf-8")
)
LIST_URLS = list(EXPECTED["lists"])
DETAIL_URLS = list(EXPECTED["details"])
SEED = Path("/work/shared/seeds/001_e400052ca11efd3e.txt")
SEED_URL = "https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsView&lang=1&id=16742"
OLD_SEED_URL = "https://www.moeaidb.gov.tw/external/ctlr?PRO=news.rwdNewsView&lang=1&id=16742"

# Text of the page chrome around a release; none of it belongs in the body.
CHROME = (
    ":::",
    "Home > News",
    "Published at",
    "Last modified at",
    "Contact Organization",
    "Contact Person",
    "Contact Phone",
    "Number of Views",
    "Office Hours",
    "Toll Free",
    "Copyright",
    "Best viewed with",
    "Last Updated of Page Layout",
    "Attachments",
)


def _item(url: str, **cb_kwargs: str) -> ReleaseItem:
    items = list(MoeaIdbSpider().parse_detail(fixture_response(url), **cb_kwargs))
    assert len(items) == 1
    return items[0]


def _list_requests(url: str) -> list[Request]:
    spider = MoeaIdbSpider()
    return [r for r in spider.parse(fixture_response(url)) if r.callback == spider.parse_detail]


def test_release_id_is_the_same_on_both_hosts() -> None:
    assert release_id(OLD_SEED_URL) == release_id(SEED_URL) == "16742"
    assert release_id("https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsView&id=16742&page=2") == "16742"
    assert release_id("https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsList&lang=1") is None
    assert release_id("https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsView&id=abc") is None


def test_every_listed_url_answers_and_old_host_redirects_to_the_same_id() -> None:
    store = fixture_store()
    redirected = 0
    for list_url in LIST_URLS:
        for request in _list_requests(list_url):
            saved = store.find(request.url)
            assert saved is not None, request.url
            if saved.status == 301:
                redirected += 1
                target = saved.headers["Location"]
                assert target.startswith("https://www.ida.gov.tw/")
                assert release_id(target) == release_id(request.url)
                saved = store.find(target)
                assert saved is not None, target
            assert saved.status == 200
    assert redirected >= 2


def test_release_listed_under_both_hosts_has_one_id() -> None:
    ids_by_url = {
        request.url: release_id(request.url)
        for list_url in LIST_URLS
        for request in _list_requests(list_url)
    }
    hosts_by_id: dict[str, set[str]] = {}
    for url, native_id in ids_by_url.items():
        hosts_by_id.setdefault(native_id, set()).add(url.split("/")[2])
    assert {"www.moeaidb.gov.tw", "www.ida.gov.tw"} in hosts_by_id.values()


@pytest.mark.parametrize("url", DETAIL_URLS, ids=lambda url: url.rsplit("=", 1)[-1])
def test_body_has_no_page_chrome(url: str) -> None:
    item = _item(url)
    for paragraph in item["body"].split("\n\n"):
        for chrome in CHROME:
            assert chrome not in paragraph, (chrome, paragraph)
    assert "Back" not in item["body"].split("\n\n")  # share-bar link
    assert item["native_id"] == release_id(url)


def test_seed_page_body_is_the_seed_text() -> None:
    lines = [line.strip() for line in SEED.read_text("utf-8").splitlines() if line.strip()]
    start = lines.index(next(line for line in lines if line.startswith("The 24th Taiwan-France")))
    end = lines.index(next(line for line in lines if line.startswith("The 25th ICCM")))
    item = _item(SEED_URL)
    assert item["body"].split("\n\n") == lines[start : end + 1]
    assert item["published_raw"] == "2017-10-19 16:58"
    assert item["modified_raw"] == "2017-10-19 17:00"


def test_contact_org_is_extracted_whatever_the_colon() -> None:
    assert _item(SEED_URL)["contact_org"] == (
        "Industrial Policy Division, Industrial Development Bureau, Ministry of Economic Affairs"
    )
    # This page writes the labels with a full-width colon ("Contact Organization：").
    netherlands = "https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsView&lang=1&id=21388"
    assert _item(netherlands)["contact_org"].startswith("Industrial Sustainable Development")


def test_pages_declaring_charset_only_in_meta_decode_as_utf8() -> None:
    meta_only = [
        url
        for url in DETAIL_URLS
        if "charset" not in fixture_store().find(url).headers["Content-Type"].lower()
    ]
    assert len(meta_only) == 2
    for url in meta_only:
        response = fixture_response(url)
        assert response.encoding == "utf-8"
        item = _item(url)
        text = item["title"] + item["body"]
        assert "’" in text
        assert "â€" not in text and "\ufffd" not in text


def test_list_passes_summaries_not_titles() -> None:
    expected_kwargs = {url: case.get("cb_kwargs", {}) for url, case in EXPECTED["details"].items()}
    store = fixture_store()
    for list_url in LIST_URLS:
        for request in _list_requests(list_url):
            saved = store.find(request.url)
            final_url = saved.headers["Location"] if saved.status == 301 else request.url
            assert request.cb_kwargs == expected_kwargs[final_url], request.url


def test_summary_comes_from_list_when_page_has_none() -> None:
    awards = "https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsView&lang=1&id=30152"
    assert _item(awards).get("summary") is None
    assert _item(awards, list_summary="From the list.")["summary"] == "From the list."


def test_site_wide_description_is_not_a_summary() -> None:
    renaming = "https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsView&lang=1&id=27218"
    assert _item(renaming).get("summary") is None


def test_page_without_content_still_gives_one_item() -> None:
    url = "https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsView&lang=1&id=99999"
    response = HtmlResponse(
        url=url,
        body=b"<html><body><p>System maintenance</p></body></html>",
        encoding="utf-8",
        request=Request(url),
    )
    items = list(MoeaIdbSpider().parse_detail(response))
    assert len(items) == 1
    item = items[0]
    assert item["native_id"] == "99999"
    assert item.get("title") is None and item.get("published_raw") is None
    assert item["body"] == ""


def test_empty_list_page_does_not_follow_the_pager() -> None:
    url = "https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsList&lang=1&type=news&page=9"
    page = (FIXTURES / "moeaidb" / "list" / "page-1.html").read_text("utf-8")
    # Past the last page the site shows an empty list under the same pager.
    empty = re.sub(r'<li class="idbDataItem">.*?</li>', "", page, flags=re.DOTALL)
    response = HtmlResponse(url=url, body=empty.encode(), encoding="utf-8", request=Request(url))
    assert list(MoeaIdbSpider().parse(response)) == []

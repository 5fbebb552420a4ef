"""Fundus-style parser tests: every source against its stored pages and expected output.

``tests/expected/<source>.json`` holds, per detail-page URL, what the source's spider must
extract (before pipelines), and per list-page URL the detail URLs it must request and the
next page. Spiders come from the sources file through the registry, so configured sources
(no Python of their own) are tested exactly like the ones with spider code.
"""

import json
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.utils.spider import iterate_spider_output

from crawler.items import ReleaseItem
from crawler.source_registry import spider_classes
from tests.support import fixture_response

EXPECTED = Path(__file__).resolve().parent.parent / "expected"
CASES = sorted(EXPECTED.glob("*.json"))


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _spider(name: str):
    classes = spider_classes()
    assert name in classes, f"tests/expected/{name}.json names no enabled source of the file"
    spider = classes[name]()
    if not hasattr(spider, "parse_detail"):
        pytest.skip(f"{name}: not a list-and-detail spider")
    return spider


def _detail_cases():
    for path in CASES:
        for url, expected in _load(path).get("details", {}).items():
            yield pytest.param(path.stem, url, expected, id=f"{path.stem}:{url[-40:]}")


def _list_cases():
    for path in CASES:
        for url, expected in _load(path).get("lists", {}).items():
            yield pytest.param(path.stem, url, expected, id=f"{path.stem}:{url[-40:]}")


@pytest.mark.parametrize(("name", "url", "expected"), list(_detail_cases()))
def test_detail_page_extraction(name: str, url: str, expected: dict) -> None:
    spider = _spider(name)
    response = fixture_response(url)
    output = list(
        iterate_spider_output(spider.parse_detail(response, **expected.get("cb_kwargs", {})))
    )
    items = [out for out in output if isinstance(out, ReleaseItem)]
    assert len(items) == 1, output
    item = items[0]
    paragraphs = item["body"].split("\n\n")
    for field in (
        "native_id",
        "title",
        "published_raw",
        "modified_raw",
        "summary",
        "image_url",
        "contact_org",
        "attachments",
    ):
        if field in expected:
            assert item.get(field) == expected[field], field
    if "body_first" in expected:
        assert paragraphs[0] == expected["body_first"]
    if "body_last" in expected:
        assert paragraphs[-1] == expected["body_last"]
    if "paragraphs" in expected:
        assert len(paragraphs) == expected["paragraphs"]


@pytest.mark.parametrize(("name", "url", "expected"), list(_list_cases()))
def test_list_page_requests(name: str, url: str, expected: dict) -> None:
    spider = _spider(name)
    response = fixture_response(url)
    requests = [
        out for out in iterate_spider_output(spider.parse(response)) if isinstance(out, Request)
    ]
    detail = [r.url for r in requests if r.callback == spider.parse_detail]
    following = [r.url for r in requests if r.callback != spider.parse_detail]
    assert detail == expected["detail_urls"]
    assert following == expected.get("next_pages", [])

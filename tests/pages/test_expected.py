"""Every fixture page against its expected output (web-poet's input/output pairs).

``fixtures/<source>/<dir>/<page>.expected.json`` holds what the source's page object reads
from ``<page>.html``; ``stnews expected`` rewrites them after a reviewed change. A page whose
expected output is missing fails too: every fixture list and detail page has one.
"""

import json

import pytest

from crawler.pages.fixtures import dump, fixture_pages, page_output
from crawler.source_registry import page_objects
from crawler.sources import load_sources
from tests.support import FIXTURES

CASES = [
    pytest.param(config, page, id=f"{config.name}:{page.path.relative_to(FIXTURES / config.name)}")
    for config in load_sources()
    for page in fixture_pages(FIXTURES, config)
]


def test_every_source_has_fixture_pages() -> None:
    covered = {config.name for config, _ in (case.values for case in CASES)}
    assert covered == {config.name for config in load_sources()}


@pytest.mark.parametrize(("config", "page"), CASES)
def test_page_object_output_matches_the_expected_file(config, page) -> None:
    assert page.expected_path.exists(), f"run `stnews expected {config.name}`"
    expected = json.loads(page.expected_path.read_text(encoding="utf-8"))
    actual = json.loads(dump(page_output(page, config, page_objects)))
    assert actual == expected


@pytest.mark.parametrize(("config", "page"), [c for c in CASES if c.values[1].role == "detail"])
def test_no_fixture_release_page_reads_as_an_empty_release(config, page) -> None:
    data = page_output(page, config, page_objects)
    if page.path.parts[-2] == "legacy":  # the legacy MSIT page states no date (see its test)
        assert data["title"] and data["body"]
        return
    assert data["title"] and data["body"] and data["published_raw"], data

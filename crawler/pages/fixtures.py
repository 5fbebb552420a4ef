"""Fixture pages as input/output pairs (web-poet's and fundus' idea): every saved list or
detail page of a source has, next to it, the JSON of what the source's page object reads from
it (``detail/<id>.html`` → ``detail/<id>.expected.json``).

``stnews expected`` writes them and the tests compare the page objects' output with them, so
a change of extraction shows up as a reviewable diff of these files. A page's role comes from
where it is saved: ``detail/``, ``legacy/`` and ``real/detail-*`` are release pages, ``list/``
and ``real/list-*`` list pages, ``pages/`` the monitored pages of a ``page`` source.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse
from w3lib.encoding import http_content_type_encoding

from crawler.pages.detail import DetailPage
from crawler.pages.listing import ListPage
from crawler.pages.snapshot import read_snapshot
from crawler.sources import SourceConfig

EXPECTED_SUFFIX = ".expected.json"


@dataclass(frozen=True)
class FixturePage:
    source: str
    url: str
    path: Path
    role: str  # "detail", "list" or "page"
    headers: dict[str, str]

    @property
    def expected_path(self) -> Path:
        return self.path.with_name(self.path.stem + EXPECTED_SUFFIX)

    def response(self) -> HtmlResponse:
        content_type = self.headers.get("Content-Type", "")
        return HtmlResponse(
            url=self.url,
            body=self.path.read_bytes(),
            encoding=http_content_type_encoding(content_type),
        )


def role_of(file: str, kind: str) -> str | None:
    if not file.endswith((".html", ".htm")):
        return None
    if kind == "page":
        return "page" if file.startswith("pages/") else None
    if file.startswith(("detail/", "legacy/", "real/detail-")):
        return "detail"
    if file.startswith(("list/", "real/list-")):
        return "list"
    return None


def fixture_pages(root: Path, source: SourceConfig) -> Iterator[FixturePage]:
    """The list and detail pages saved for ``source`` (each file once)."""
    index = root / source.name / "index.json"
    if not index.is_file():
        return
    seen: set[str] = set()
    for entry in json.loads(index.read_text(encoding="utf-8"))["responses"]:
        file = entry.get("file")
        if not file or file in seen or entry.get("status", 200) != 200:
            continue
        role = role_of(file, source.kind)
        if role is None:
            continue
        seen.add(file)
        yield FixturePage(source.name, entry["url"], root / source.name / file, role,
                          entry.get("headers") or {})  # fmt: skip


#: The page objects of a source (``crawler.source_registry.page_objects``).
PageObjects = Callable[[SourceConfig], tuple[ListPage, DetailPage]]


def page_output(page: FixturePage, config: SourceConfig, objects: PageObjects) -> dict[str, Any]:
    """What the source's page object reads from one saved page, as JSON-ready data."""
    response = page.response()
    if page.role == "page":
        snapshot = read_snapshot(response, config)
        return {"title": snapshot.title, "paragraphs": snapshot.paragraphs,
                "stage": snapshot.stage}  # fmt: skip
    list_page, detail_page = objects(config)
    if page.role == "list":
        return list_page.read(response).to_json()
    return detail_page.read(response).to_json()


def dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


@dataclass
class ExpectedChange:
    page: FixturePage
    status: str  # "new", "changed", "unchanged"


def refresh_expected(
    root: Path, sources: Iterable[SourceConfig], objects: PageObjects, write: bool = True
) -> list[ExpectedChange]:
    """Compare (and with ``write``, rewrite) the expected output of every fixture page."""
    changes = []
    for config in sources:
        for page in fixture_pages(root, config):
            text = dump(page_output(page, config, objects))
            path = page.expected_path
            old = path.read_text(encoding="utf-8") if path.exists() else None
            status = "new" if old is None else ("unchanged" if old == text else "changed")
            if write and status != "unchanged":
                path.write_text(text, encoding="utf-8")
            changes.append(ExpectedChange(page, status))
    return changes

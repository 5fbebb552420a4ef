"""The web pages in a real headless browser: Debian's Chromium driven by Playwright, over the
feed server and a database filled by replaying the project's real fixtures.

- A Chinese, a Korean and an English query each find exactly the releases that contain
  them (the truth is read from the database).
- At 390 px no element of the main pages reaches past the viewport.
- Everything works with JavaScript off; titles carry their language; form fields have labels.
- Screenshots of the main pages at 1280 and 390 px are saved under
  var/screenshots/ (or $STNEWS_SCREENSHOTS) and their folder is printed.

Chromium comes from the system (`make browser` installs it); without it the tests fail.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

from crawler.server import start_server
from storage import Database, Release
from storage.models import Event
from tests.crawl_support import crawl_json
from tests.databases import new_database_url
from tests.support import ROOT

CHROMIUM = os.environ.get("STNEWS_CHROMIUM", "/usr/bin/chromium")
# Sources whose real fixtures hold Chinese, Korean and English cooperation news.
SOURCES = ("nstc_zh", "msit_ko", "nstc")
QUERIES = {"zh": "科技合作", "ko": "과학기술공동위원회", "en": "Lithuania"}
WIDTHS = (1280, 390)
# Chromium as the machine's closed network wants it: no background traffic, no sandbox (root).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    # Not skipped: `make install` / `make test` install Chromium (Debian) and Playwright.
    assert Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}: run `make browser`"
    import playwright.sync_api as playwright_api
    url = new_database_url(tmp_path_factory.mktemp("browser"))
    crawl_json(url, *SOURCES)
    handle = start_server(url, "127.0.0.1", 0, cache_ttl=1.0)
    database = Database(url)
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield {"base": handle.url, "browser": browser, "database": database}
        finally:
            browser.close()
            handle.stop()
            database.dispose()


@pytest.fixture
def page(site: dict) -> Iterator:
    context = site["browser"].new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def truth(database: Database, needle: str) -> set[str]:
    """Titles of the cooperation releases whose title or body contains `needle`."""
    folded = needle.casefold()
    with database.session(readonly=True) as session:
        rows = session.scalars(select(Release).where(Release.is_cooperation.is_(True)))
        return {
            " ".join(r.title.split())
            for r in rows
            if folded in f"{r.title}\n{r.body}".casefold()
        }


@pytest.mark.slow  # pages in a browser, not the database: SQLite leg only
@pytest.mark.parametrize("language", sorted(QUERIES))
def test_a_query_in_each_language_finds_its_releases(site: dict, page, language: str) -> None:
    query = QUERIES[language]
    expected = truth(site["database"], query)
    assert expected, f"the fixtures hold no release with {query!r}"
    page.goto(site["base"])
    page.get_by_role("searchbox", name="Search releases").fill(query)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search\?q="))
    titles = page.locator("#results h3").all_inner_texts()
    assert {" ".join(t.split()) for t in titles} == expected
    assert query.casefold() in titles[0].casefold() or len(titles) > 1  # best match first
    # The result leads to the release's own page, which says where it is from.
    page.locator("#results h3 a").first.click()
    heading = page.locator("article.release h1")
    assert " ".join(heading.inner_text().split()) in expected
    lang = page.locator("article.release").get_attribute("lang")
    assert lang and lang.split("-")[0] == {"zh": "zh", "ko": "ko", "en": "en"}[language]
    facts = page.locator("dl.facts").inner_text()
    assert "Source" in facts and "Language" in facts and "Original" in facts


def _main_pages(site: dict) -> dict[str, str]:
    with site["database"].session(readonly=True) as session:
        release = session.scalar(
            select(Release.id).where(Release.language == "zh-Hant", Release.is_cooperation)
        )
        event = session.scalar(select(Event.id).where(Event.members > 0).order_by(Event.id))
    return {
        "front": "",
        "search": "search?q=" + quote(QUERIES["zh"]),
        "browse": "search?scope=all",
        "release": f"releases/{release}",
        "event": f"events/{event}",
        "partner": "partners/US",
        "partners": "partners",
        "ledger": "ledger",
    }


# Every box that holds text or a control; none may reach past the viewport.
_OVERFLOWING = """(width) => {
  const out = [];
  for (const el of document.querySelectorAll(
      'body *:not(script):not(style):not(option)')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right > width + 0.5 || r.left < -0.5)
      out.push(`${el.tagName}.${el.className}: ${Math.round(r.left)}..${Math.round(r.right)}`);
  }
  return [document.documentElement.scrollWidth, out.slice(0, 10)];
}"""


@pytest.mark.slow  # layout, not the database: SQLite leg only
def test_main_pages_fit_390_px_and_screenshots_are_saved(site: dict) -> None:
    folder = Path(os.environ.get("STNEWS_SCREENSHOTS", ROOT / "var" / "screenshots"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    pages = _main_pages(site)
    for width in WIDTHS:
        context = site["browser"].new_context(viewport={"width": width, "height": 900})
        tab = context.new_page()
        for name, path in pages.items():
            response = tab.goto(site["base"] + path)
            assert response is not None and response.status == 200, path
            scroll_width, outside = tab.evaluate(_OVERFLOWING, width)
            assert scroll_width <= width and outside == [], (width, path, outside)
            tab.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
        context.close()
    print(f"\nscreenshots of {len(pages)} pages at {WIDTHS} px: {folder}")
    assert len(list(folder.glob("*.png"))) == len(pages) * len(WIDTHS)


@pytest.mark.slow  # pages in a browser, not the database: SQLite leg only
def test_filters_and_paging_work_without_javascript(site: dict) -> None:
    context = site["browser"].new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 900}
    )
    tab = context.new_page()
    try:
        tab.goto(site["base"] + "search")
        form = tab.locator("form.filters")
        for label in ("Partner", "Topic", "Type", "Source", "Language", "Which releases"):
            assert form.locator("label", has_text=label).locator("select").count() == 1, label
        form.locator("select[name=scope]").select_option("all")
        form.locator("select[name=language]").select_option("ko")
        tab.get_by_role("button", name="Search").last.click()
        tab.wait_for_url(re.compile(r"language=ko"))
        with site["database"].session(readonly=True) as session:
            korean = session.scalars(select(Release.title).where(Release.language == "ko")).all()
        shown = tab.locator("#results h3")
        assert shown.count() == min(len(korean), 20)
        for index in range(shown.count()):
            assert shown.nth(index).get_attribute("lang") == "ko"
        assert f"{len(korean)} releases" in tab.locator("#count").inner_text()

        tab.goto(site["base"] + "search?scope=all")  # every release: more than one page
        first = tab.locator("#results h3").all_inner_texts()
        tab.get_by_role("link", name="Next →").click()
        second = tab.locator("#results h3").all_inner_texts()
        assert first and second and not set(first) & set(second)

        tab.goto(site["base"] + "search?since=2030-01-01&until=2020-01-01")
        assert "start date is after the end date" in tab.locator(".notice").inner_text()
    finally:
        context.close()


@pytest.mark.slow  # pages in a browser, not the database: SQLite leg only
def test_partner_page_lists_its_cooperation(site: dict, page) -> None:
    page.goto(site["base"] + "partners")
    page.get_by_role("link", name="United States").click()
    assert page.locator("h1").inner_text() == "Cooperation with United States"
    with site["database"].session(readonly=True) as session:
        expected = {
            " ".join(r.title.split())
            for r in session.scalars(select(Release).where(Release.is_cooperation.is_(True)))
            if "US" in (r.partners or [])
        }
    shown = {" ".join(t.split()) for t in page.locator("li.item h3").all_inner_texts()}
    assert shown == expected

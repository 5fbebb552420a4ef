"""Issue 18, item 4: a title is plain text in every feed format, whatever a reader does with it.

The corpus is `fixtures/bad/titles/` (NSTC pages, synthetic markup; `make_cases.py` there
wrote them): titles with entity-escaped, double-escaped, numeric-reference, unclosed, raw and
mixed-case tags. They are crawled through the real spider and pipelines, then written as feeds
and served; every title, as each format's parser hands it to a reader, is then fed to an HTML
tokenizer as a reader that puts titles into a page would: it must find no tag, comment,
declaration or processing instruction.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
import warnings
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import feedparser
import pytest

from crawler.feeds.write import write_feeds
from storage import Database
from tests.databases import new_database_url
from tests.safety_support import CORPUS, CORPUS_SOURCES, crawl, stored_releases

sys.path.insert(0, str(CORPUS / "titles"))
from make_cases import CASES

sys.path.pop(0)

ATOM = "{http://www.w3.org/2005/Atom}"


class Markup(HTMLParser):
    """Everything an HTML tokenizer would treat as markup in a string."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.found.append(f"<{tag}>")

    def handle_endtag(self, tag):
        self.found.append(f"</{tag}>")

    def handle_comment(self, data):
        self.found.append("<!--")

    def handle_decl(self, decl):
        self.found.append("<!")

    def handle_pi(self, data):
        self.found.append("<?")

    def unknown_decl(self, data):
        self.found.append("<![")


def markup_in(text: str) -> list[str]:
    parser = Markup()
    parser.feed(text)
    # An unfinished "<img ..." at the end is held back by the tokenizer: a browser would
    # still treat it as a tag, so held-back text that starts a tag counts too.
    rest = parser.rawdata
    if rest.startswith("<") and len(rest) > 1 and (rest[1].isalpha() or rest[1] in "/!?"):
        parser.found.append(rest[:10])
    parser.close()
    return parser.found


def case_id(case: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"stnews-bad-input-{case}"))


def test_the_markup_finder_finds_markup() -> None:
    assert markup_in("a <img/src=x onerror=alert(1)> b") == ["<img>"]
    assert markup_in("x <img src=x onerror=alert(1) ")  # unclosed: still a tag to a browser
    assert markup_in("<!--c--> <?pi?> </title>") == ["<!--", "<?", "</title>"]
    assert markup_in("5 < 6 & R&D > 2") == []
    assert markup_in("‹img/src=x onerror=alert(1)>") == []


@pytest.fixture(scope="module")
def titles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """Case -> format -> the title a reader gets."""
    tmp = tmp_path_factory.mktemp("titles")
    replay = tmp / "replay"
    shutil.copytree(CORPUS / "titles", replay / "nstc", ignore=shutil.ignore_patterns("*.py"))
    (replay / "nstc" / "responses.json").rename(replay / "nstc" / "index.json")
    db = new_database_url(tmp)
    crawl(db, tmp, "nstc", replay=replay, sources=CORPUS_SOURCES)
    stored = stored_releases(db)
    assert len(stored) == len(CASES), sorted(stored)
    out = tmp / "feeds"
    database = Database(db)
    try:
        write_feeds(database, out, "https://feeds.example/")
    finally:
        database.dispose()

    found: dict[str, dict[str, str]] = {case: {} for case in CASES}

    def case_of(link: str) -> str:
        return next(case for case in CASES if case_id(case) in link)

    rss = ET.parse(out / "all.rss").getroot()
    for item in rss.iter("item"):
        found[case_of(item.findtext("link") or "")]["rss"] = item.findtext("title") or ""
    atom = ET.parse(out / "all.atom").getroot()
    for entry in atom.iter(f"{ATOM}entry"):
        link = next(x.get("href") for x in entry.iter(f"{ATOM}link") if x.get("rel") != "enclosure")
        title = entry.find(f"{ATOM}title")
        assert title is not None and title.get("type", "text") == "text"
        found[case_of(link)]["atom"] = title.text or ""
    for item in json.loads((out / "all.json").read_text())["items"]:
        found[case_of(item["url"])]["json"] = item["title"]
    for name in ("all.rss", "all.atom"):
        for entry in feedparser.parse((out / name).read_bytes()).entries:
            found[case_of(entry.link)][f"feedparser {name}"] = entry.title

    # The server renders the same titles (its own code path): check them too.
    from crawler.server.app import create_app

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    with TestClient(create_app(db, cache_ttl=0)) as client:
        served = client.get("/feeds/all.json")
        assert served.status_code == 200
        for item in served.json()["items"]:
            found[case_of(item["url"])]["served json"] = item["title"]
        api = client.get("/api/releases?cooperation=any&limit=100").json()["items"]
        for item in api:
            found[case_of(item["url"])]["api"] = item["title"]
    return found


FORMATS = ("rss", "atom", "json", "feedparser all.rss", "feedparser all.atom", "served json",
           "api")  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_no_title_holds_markup_in_any_format(titles: dict[str, dict[str, str]], case: str) -> None:
    shown = titles[case]
    assert set(shown) == set(FORMATS)
    for fmt, title in shown.items():
        assert title.strip(), (case, fmt)
        assert markup_in(title) == [], (case, fmt, title)
        # RSS readers that un-escape once more before inserting must find nothing either.
        assert markup_in(title.replace("&lt;", "<").replace("&gt;", ">")) == [], (case, fmt)


@pytest.mark.slow
def test_a_plain_angle_bracket_stays_as_written(titles: dict[str, dict[str, str]]) -> None:
    for fmt, title in titles["title-plain-angle"].items():
        assert title == "Budget Grows 5 < 6 & R&D Spending > 2% in 2024", fmt

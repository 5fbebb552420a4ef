"""The fallback chain of detail pages: stages in order, each field recording its stage.

The pages here are small synthetic pages written for one behaviour each.
"""

from __future__ import annotations

from crawler.pages import DetailPage, ListEntry
from crawler.pages.page import html_response
from crawler.sources import parse_sources

SOURCES = """
[[template]]
name = "old-cms"
title = "h1.old-title"
body = "div.old-body"

[[source]]
name = "example"
agency = "Ministry of Examples"
agency_country = "KR"
language = "en"
timezone = "Asia/Seoul"
kind = "html"
site_names = ["Example Ministry"]
start_urls = ["https://www.example.go.kr/news"]

[source.list]
item = "li"

[source.detail]
title = "h2.title"
body = "div.text"
remove = [".share"]
templates = ["old-cms"]
labels.published = ['^Posted\\s*[:：]\\s*(\\d{4}-\\d{2}-\\d{2})$']
labels.contact_org = ['^Contact\\s*[:：]\\s*(.+)$']
drop_lines = ['^Views\\s*[:：]']
"""
URL = "https://www.example.go.kr/news/view?id=7"
ARTICLE = [
    "The ministry and its Chilean counterpart signed a research agreement on lithium recycling "
    "in Santiago on Monday, opening a joint laboratory in Antofagasta.",
    "Twenty researchers from each side will be exchanged every year under the agreement, and "
    "six collaborative projects will receive funding over the next five years.",
]
CHROME = """
<header class="site-header"><a href="/">Example Ministry</a><nav><a href="/about">About us</a>
<a href="/news">Press releases</a></nav></header>
<div class="breadcrumb"><a href="/">Home</a> &gt; <a href="/news">Press releases</a></div>
"""
FOOTER = '<div class="footer"><p>Copyright Example Ministry, Sejong-si</p></div>'


def _page(content: str, title: str = "Korea and Chile sign lithium research agreement") -> bytes:
    return (f"<html><head><title>{title} | Press releases | Example Ministry</title></head><body>"
            f"{CHROME}<main>{content}</main>{FOOTER}</body></html>").encode()  # fmt: skip


def _detail() -> DetailPage:
    (config,) = parse_sources(SOURCES)
    return DetailPage(config)


def _paragraphs() -> str:
    return "".join(f"<p>{p}</p>" for p in ARTICLE)


def test_own_selectors_and_labels_fill_everything() -> None:
    page = _page(f"""<h2 class="title">Korea and Chile sign lithium research agreement</h2>
        <div class="text">{_paragraphs()}<div class="share">Share on X</div>
        <p>Posted: 2026-03-12</p><p>Contact: Bilateral Cooperation Division</p>
        <p>Views: 1,204</p></div>""")
    fields = _detail().read(html_response(URL, page))
    assert fields.title == "Korea and Chile sign lithium research agreement"
    assert fields.published_raw == "2026-03-12"
    assert fields.contact_org == "Bilateral Cooperation Division"
    # Label lines, drop_lines and removed parts are not body.
    assert fields.body == ARTICLE
    assert fields.stages == {"title": "selectors", "published_raw": "selectors",
                             "body": "selectors", "contact_org": "selectors"}  # fmt: skip


def test_a_known_template_fills_what_the_selectors_miss() -> None:
    page = _page(f"""<h1 class="old-title">Korea and Chile sign lithium research agreement</h1>
        <div class="old-body">{_paragraphs()}<p>Posted: 2026-03-12</p></div>""")
    fields = _detail().read(html_response(URL, page))
    assert fields.stages["title"] == fields.stages["body"] == "template:old-cms"
    assert fields.body == ARTICLE
    assert fields.stages["published_raw"] == "selectors"  # the label, read wherever it stands
    assert fields.fallbacks() == {"title": "template:old-cms", "body": "template:old-cms"}


def test_the_list_entry_comes_before_generic_extraction() -> None:
    page = _page(f"<article><h3>Korea and Chile sign lithium research agreement</h3>"
                 f"{_paragraphs()}</article>")  # fmt: skip
    listed = ListEntry(URL, "7", "Korea and Chile sign lithium research agreement", "2026-03-12")
    fields = _detail().read(html_response(URL, page), listed)
    assert fields.stages["title"] == fields.stages["published_raw"] == "list"
    assert fields.stages["body"] == "generic"
    assert fields.body == ARTICLE  # no menu, breadcrumb or footer


def test_generic_extraction_cleans_the_title_and_keeps_chrome_out() -> None:
    page = _page(f"<article>{_paragraphs()}<p>Published on 12 March 2026</p></article>")
    fields = _detail().read(html_response(URL, page))
    assert fields.stages["body"] == "generic"
    # "<title> | Press releases | Example Ministry": the site and section names go.
    assert fields.title == "Korea and Chile sign lithium research agreement"
    text = " ".join(fields.body)
    assert "About us" not in text and "Copyright" not in text and "Home" not in text


def test_a_page_nothing_reads_keeps_its_fields_missing() -> None:
    fields = _detail().read(html_response(URL, _page("", title="Press releases")))
    assert "body" in fields.missing() and not fields.body
    assert "body" not in fields.stages


def test_a_date_htmldate_cannot_find_in_the_page_is_not_taken() -> None:
    # A site-wide metadata date (as on the Executive Yuan's pages) is not the release's.
    page = _page(f'<article>{_paragraphs()}</article>').replace(
        b"<head>", b'<head><meta name="DC.Date" content="2011/12/01 00:00:00">')
    assert _detail().read(html_response(URL, page)).published_raw is None


def test_extends_reads_a_template_as_the_sources_own_selectors() -> None:
    text = SOURCES.replace('templates = ["old-cms"]', 'extends = "old-cms"')
    text = text.replace('title = "h2.title"\n', "").replace('body = "div.text"\n', "")
    (config,) = parse_sources(text)
    page = _page(f"""<h1 class="old-title">Korea and Chile sign lithium research agreement</h1>
        <div class="old-body">{_paragraphs()}</div>""")
    fields = DetailPage(config).read(html_response(URL, page))
    assert fields.stages["title"] == fields.stages["body"] == "selectors"


def test_promised_fields_are_those_the_selectors_name() -> None:
    assert _detail().promised() == ("title", "published_raw", "body", "contact_org")

"""A synthetic NSTC site of N releases, in the real site's markup, for tests and benchmarks.

The fixture pages of `fixtures/nstc/` are the templates: the list page's `div.news_list`
and pager and the detail page's title, date and body are refilled with generated releases.
Pages are rendered on request (for a local HTTP server) or written in the replay layout.
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from html import escape as html_escape
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from lxml import html

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "fixtures" / "nstc"
ORIGIN = "https://www.nstc.gov.tw"
LIST_UUID = "6bdef02b-46ee-4659-a2c4-09883339f721"
LIST_PATH = f"/folksonomy/list/{LIST_UUID}"
PAGE_SIZE = 10
FIRST_DAY = date(2000, 1, 1)
HTML_HEADERS = {"Content-Type": "text/html; charset=utf-8"}

SENTENCES = [
    "The National Science and Technology Council announced the programme on {day}.",
    "Researchers from universities and research institutes across Taiwan will take part.",
    "The initiative focuses on semiconductors, artificial intelligence and net-zero technologies.",
    "Funding will be allocated through competitive calls reviewed by independent panels.",
    "The Minister said the programme would strengthen Taiwan's research capacity.",
    "Further details will be published on the council's website in the coming weeks.",
    "Participating teams will report on their progress at an annual conference.",
    "The council will also support young researchers through fellowships and travel grants.",
]


@dataclass
class SyntheticSite:
    """``count`` releases, newest first on the list; ``edited`` maps sequence numbers to a
    new title; ``redesigned`` renames the list container so no list selector matches."""

    count: int
    edited: dict[int, str] = field(default_factory=dict)
    redesigned: bool = False
    origin: str = ORIGIN
    #: Release number `seq` is dated `start + seq days`: stable when releases are added.
    start: date = FIRST_DAY

    # --- identity and content of release number `seq` (1 = oldest) -----------------------
    @staticmethod
    def release_uuid(seq: int) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"stnews-synthetic-release-{seq}"))

    def title(self, seq: int) -> str:
        return self.edited.get(seq) or f"NSTC Announces Research Programme Number {seq}"

    def day(self, seq: int) -> date:
        return self.start + timedelta(days=seq)

    def paragraphs(self, seq: int) -> list[str]:
        day = self.day(seq).strftime("%B %d, %Y")
        picks = [SENTENCES[(seq + k) % len(SENTENCES)] for k in range(6)]
        text = [f"{self.title(seq)}. {picks[0].format(day=day)}"]
        text += [" ".join(s.format(day=day) for s in picks[i : i + 2]) for i in (1, 3)]
        if seq in self.edited:
            text.append("This release was updated after publication.")
        return text

    # --- URLs ---------------------------------------------------------------------------
    def list_url(self, page: int) -> str:
        suffix = "" if page == 1 else f"&pageNum={page}&pageSize={PAGE_SIZE}"
        return f"{self.origin}{LIST_PATH}?l=en{suffix}"

    def detail_url(self, seq: int) -> str:
        return f"{self.origin}/folksonomy/detail/{self.release_uuid(seq)}?l=en"

    @property
    def pages(self) -> int:
        return max(1, -(-self.count // PAGE_SIZE))

    def page_releases(self, page: int) -> list[int]:
        newest = self.count - (page - 1) * PAGE_SIZE
        return list(range(newest, max(newest - PAGE_SIZE, 0), -1))

    # --- rendering ----------------------------------------------------------------------
    @cached_property
    def _list_template(self) -> html.HtmlElement:
        return html.fromstring((TEMPLATES / "list" / "page-1.html").read_bytes())

    @cached_property
    def _detail_template(self) -> html.HtmlElement:
        page = TEMPLATES / "detail" / "d82a8144-43dc-412b-9d71-4aa310c72fd6.html"
        return html.fromstring(page.read_bytes())

    def render_list(self, page: int) -> bytes:
        root = copy.deepcopy(self._list_template)
        (news_list,) = root.cssselect("div.news_list")
        for child in list(news_list):
            news_list.remove(child)
        for seq in self.page_releases(page):
            entry = html.Element("a", href=self.detail_url(seq).removeprefix(self.origin))
            date_div = html.Element("div", {"class": "date"})
            date_div.text = self.day(seq).isoformat()
            heading = html.Element("h3")
            heading.text = self.title(seq)
            entry.extend([date_div, heading])
            news_list.append(entry)
        if self.redesigned:  # a redesign: the same content under new class names
            news_list.set("class", "article-grid")
        for pager in root.cssselect("ul.pagination"):
            for child in list(pager):
                pager.remove(child)
            if page < self.pages:
                item = html.Element("li", {"class": "next"})
                link = html.Element("a", href=self.list_url(page + 1).removeprefix(self.origin))
                link.text = "›"
                item.append(link)
                pager.append(item)
        return html.tostring(root, doctype="<!DOCTYPE html>", encoding="utf-8")

    def render_detail(self, seq: int) -> bytes:
        root = copy.deepcopy(self._detail_template)
        title = self.title(seq)
        root.find(".//title").text = f"{title} - National Science and Technology Council"
        for node in root.cssselect(".detail_title, li.active"):
            node.text = title
        for node in root.cssselect(".detail_header .summary, .detail_header .photo"):
            node.getparent().remove(node)
        (editor,) = root.cssselect(".editor")
        for child in list(editor):
            editor.remove(child)
        for text in self.paragraphs(seq):
            paragraph = html.Element("p")
            paragraph.text = text
            editor.append(paragraph)
        (info,) = root.cssselect(".news_info")
        for child in list(info):
            info.remove(child)
        info.text = f"Date: {self.day(seq).isoformat()}"
        return html.tostring(root, doctype="<!DOCTYPE html>", encoding="utf-8")

    def response(self, url: str) -> tuple[int, bytes]:
        """Status and body for a URL of this site (404 for anything else)."""
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        if parts.path == LIST_PATH:
            page = int(query.get("pageNum", "1") or 1)
            return (200, self.render_list(page)) if 1 <= page <= self.pages else (404, b"")
        if parts.path.startswith("/folksonomy/detail/"):
            wanted = parts.path.rsplit("/", 1)[1]
            seq = self._seq_by_uuid.get(wanted)
            if seq is not None:
                return 200, self.render_detail(seq)
        return 404, b""

    @cached_property
    def _seq_by_uuid(self) -> dict[str, int]:
        return {self.release_uuid(seq): seq for seq in range(1, self.count + 1)}

    def write_fixtures(self, root: Path, source: str = "nstc") -> Path:
        """Write every page in the replay layout under ``root/source``."""
        folder = root / source
        entries = []
        for page in range(1, self.pages + 1):
            entries.append(
                self._write(
                    folder, f"list/page-{page}.html", self.list_url(page), self.render_list(page)
                )
            )
        for seq in range(1, self.count + 1):
            entries.append(
                self._write(
                    folder, f"detail/{seq}.html", self.detail_url(seq), self.render_detail(seq)
                )
            )
        (folder / "index.json").write_text(json.dumps({"responses": entries}, indent=1))
        return root

    @staticmethod
    def _write(folder: Path, name: str, url: str, body: bytes) -> dict:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        return {"url": url, "status": 200, "file": name, "headers": dict(HTML_HEADERS)}


# --- fast rendering for the benchmark server ------------------------------------------------
_TITLE, _BODY, _UUID, _PAGE = "@@TITLE@@", "@@BODY@@", "@@UUID@@", "@@PAGE@@"
_DAY = date(1111, 11, 11)  # a date no template holds: its ISO form marks where dates go


class _Probe(SyntheticSite):
    """A site whose every variable part is a placeholder: rendering it yields templates."""

    def title(self, seq: int) -> str:
        return _TITLE

    def day(self, seq: int) -> date:
        return _DAY

    def paragraphs(self, seq: int) -> list[str]:
        return [_BODY]

    def detail_url(self, seq: int) -> str:
        return f"{self.origin}/folksonomy/detail/{_UUID}?l=en"

    def list_url(self, page: int) -> str:
        return f"{self.origin}{LIST_PATH}?l=en&pageNum={_PAGE}&pageSize={PAGE_SIZE}"

    def page_releases(self, page: int) -> list[int]:
        return [1]


def _escape(text: str) -> bytes:
    return html_escape(text, quote=False).encode("utf-8")


@dataclass
class FastSyntheticSite(SyntheticSite):
    """The same site and bytes as :class:`SyntheticSite`, rendered by string substitution.

    The lxml renderer costs about 0.5 ms a page, which would make a benchmark server spend
    seconds of CPU on a 20,000-release crawl. Templates are cut from the reference renderer's
    own output for a placeholder site and checked byte for byte against it on sample pages;
    should they ever differ (a template change), every page falls back to the reference.
    """

    def render_list(self, page: int) -> bytes:
        parts = self._templates
        if parts is None or not self.page_releases(page):
            return SyntheticSite.render_list(self, page)
        prefix, entry, last_suffix, next_suffix = parts["list"]
        entries = b"".join(
            entry.replace(_UUID.encode(), self.release_uuid(seq).encode())
            .replace(_DAY.isoformat().encode(), self.day(seq).isoformat().encode())
            .replace(_TITLE.encode(), _escape(self.title(seq)))
            for seq in self.page_releases(page)
        )
        if page < self.pages:
            suffix = next_suffix.replace(_PAGE.encode(), str(page + 1).encode())
        else:
            suffix = last_suffix
        return prefix + entries + suffix

    def render_detail(self, seq: int) -> bytes:
        parts = self._templates
        if parts is None:
            return SyntheticSite.render_detail(self, seq)
        head, tail = parts["detail"]
        body = b"".join(b"<p>" + _escape(text) + b"</p>" for text in self.paragraphs(seq))
        title = _escape(self.title(seq))
        day = self.day(seq).isoformat().encode()
        return (
            head.replace(_TITLE.encode(), title)
            + body
            + tail.replace(_TITLE.encode(), title).replace(_DAY.isoformat().encode(), day)
        )

    @cached_property
    def _templates(self) -> dict[str, tuple[bytes, ...]] | None:
        # Two list pages: the first has a "next" link; the one-page site has none.
        probe = _Probe(count=PAGE_SIZE + 1, redesigned=self.redesigned, origin=self.origin)
        with_next = probe.render_list(1)
        last = _Probe(count=1, redesigned=self.redesigned, origin=self.origin).render_list(1)
        marker = f'<a href="/folksonomy/detail/{_UUID}'.encode()
        start = with_next.find(marker)
        if start < 0:
            return None
        end = with_next.index(b"</a>", start) + len(b"</a>")
        detail = probe.render_detail(1)
        paragraph = f"<p>{_BODY}</p>".encode()
        if detail.count(paragraph) != 1 or last[:start] != with_next[:start]:
            return None
        head, tail = detail.split(paragraph)
        # Set now so the check below renders through them; the property then caches the verdict.
        self._templates = {
            "list": (with_next[:start], with_next[start:end], last[end:], with_next[end:]),
            "detail": (head, tail),
        }
        samples = {1, 2, self.count, *self.edited} & set(range(1, self.count + 1))
        pages = {1, 2, self.pages} & set(range(1, self.pages + 1))
        same = all(
            self.render_detail(seq) == SyntheticSite.render_detail(self, seq) for seq in samples
        ) and all(self.render_list(page) == SyntheticSite.render_list(self, page) for page in pages)
        return self._templates if same else None

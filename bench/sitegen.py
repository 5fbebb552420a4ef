"""A synthetic NSTC site of N releases, in the real site's markup, for tests and benchmarks.

The fixture pages of `fixtures/nstc/` are the templates (themselves derived from real NSTC
pages: see their index.json): the English home page whose menu leads to the list, the list
page's `div.news_list`, its pager form and "page X/Y" line, and the article page's title,
text and "Date:" line are refilled with generated releases. Pages are rendered on request
(for a local HTTP server) or written in the replay layout.
"""

from __future__ import annotations

import copy
import json
import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property
from html import escape as html_escape
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from lxml import etree, html

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "fixtures" / "nstc"
ORIGIN = "https://www.nstc.gov.tw"
# The list the fixtures' English home page links to (a synthetic uuid: fixtures/derive.py).
LIST_UUID = str(uuid.uuid5(uuid.NAMESPACE_URL, "stnews-synthetic:nstc-en-news-list"))
HOME_PATH = "/"
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


#: Restated real releases (title, body, hand label): the realistic bodies' text.
REALSET = ROOT / "tests" / "classify" / "realset.jsonl"
#: Median body length of realistic releases, in UTF-8 bytes, and the spread (log scale).
#: The seeds' release bodies (../shared/seeds, the only full real texts: 2.4-5.8 KB cut to
#: the body) and the harness's "typical" press release put the median near 4.5 KB; the spread
#: covers short notices (about 1.5 KB) to long releases (about 12 KB), the clip below.
REALISTIC_MEDIAN_BYTES = 4_500
REALISTIC_SIGMA = 0.45
REALISTIC_RANGE = (1_200, 12_000)
#: Share of realistic releases that announce cooperation (the real set's label).
COOPERATION_SHARE = 1 / 3


@dataclass(frozen=True)
class RealText:
    title: str
    body: str
    cooperation: bool


def _real_texts() -> tuple[list[RealText], list[RealText]]:
    """English items of the restated real set, split by their hand label."""
    cooperation: list[RealText] = []
    other: list[RealText] = []
    for line in REALSET.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("language") != "en" or not row.get("body"):
            continue
        text = RealText(row["title"], row["body"], bool(row["is_cooperation"]))
        (cooperation if text.cooperation else other).append(text)
    return cooperation, other


@dataclass
class SyntheticSite:
    """``count`` releases, newest first on the list; ``edited`` maps sequence numbers to a
    new title; ``redesigned`` renames the list container so no list selector matches.

    ``realistic``: bodies of realistic length and wording instead of eight short stock
    sentences (the default, which tests rely on). Each release's length is drawn (seeded by
    its number) from a log-normal around ``REALISTIC_MEDIAN_BYTES``; a third of the releases
    are cooperation releases. A body is restated real text (``tests/classify/realset.jsonl``,
    English items): a lead release of the chosen label gives the title and first paragraph,
    and further releases *of the same label* fill paragraphs until the length is reached, so
    a cooperation release reads as one and an ordinary release names no cooperation. The
    stitching is synthetic; every sentence is a restated real release."""

    count: int
    edited: dict[int, str] = field(default_factory=dict)
    redesigned: bool = False
    origin: str = ORIGIN
    #: Release number `seq` is dated `start + seq days`: stable when releases are added.
    start: date = FIRST_DAY
    realistic: bool = False

    # --- identity and content of release number `seq` (1 = oldest) -----------------------
    @staticmethod
    def release_uuid(seq: int) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"stnews-synthetic-release-{seq}"))

    def title(self, seq: int) -> str:
        if seq in self.edited:
            return self.edited[seq]
        if self.realistic:
            return self._realistic(seq)[0]
        return f"NSTC Announces Research Programme Number {seq}"

    def day(self, seq: int) -> date:
        return self.start + timedelta(days=seq)

    def is_cooperation(self, seq: int) -> bool:
        """Whether release ``seq`` is meant as a cooperation release (realistic bodies)."""
        return self.realistic and random.Random(f"coop-{seq}").random() < COOPERATION_SHARE

    def body_bytes(self, seq: int) -> int:
        """The length release ``seq``'s body is filled to (realistic bodies)."""
        rng = random.Random(f"length-{seq}")
        drawn = math.exp(rng.gauss(math.log(REALISTIC_MEDIAN_BYTES), REALISTIC_SIGMA))
        return int(min(max(drawn, REALISTIC_RANGE[0]), REALISTIC_RANGE[1]))

    @cached_property
    def _pools(self) -> tuple[list[RealText], list[RealText]]:
        return _real_texts()

    def _realistic(self, seq: int) -> tuple[str, list[str]]:
        cooperation, other = self._pools
        pool = cooperation if self.is_cooperation(seq) else other
        rng = random.Random(f"text-{seq}")
        order = rng.sample(range(len(pool)), len(pool))
        lead = pool[order[0]]
        # The number keeps titles (and so content fingerprints) apart, as a site's own are.
        title = f"{lead.title} ({seq})"
        paragraphs = [lead.body]
        size, want, k = len(lead.body.encode()), self.body_bytes(seq), 1
        while size < want:
            text = pool[order[k % len(pool)]].body
            paragraphs.append(text)
            size += len(text.encode()) + 2
            k += 1
        return title, paragraphs

    def paragraphs(self, seq: int) -> list[str]:
        if self.realistic:
            text = list(self._realistic(seq)[1])
            if seq in self.edited:
                text.append("This release was updated after publication.")
            return text
        day = self.day(seq).strftime("%B %d, %Y")
        picks = [SENTENCES[(seq + k) % len(SENTENCES)] for k in range(6)]
        text = [f"{self.title(seq)}. {picks[0].format(day=day)}"]
        text += [" ".join(s.format(day=day) for s in picks[i : i + 2]) for i in (1, 3)]
        if seq in self.edited:
            text.append("This release was updated after publication.")
        return text

    # --- URLs ---------------------------------------------------------------------------
    def list_url(self, page: int) -> str:
        # Later pages are what the list's pager form submits (crawler.pages.listing).
        if page == 1:
            return f"{self.origin}{LIST_PATH}?l=en"
        return (f"{self.origin}{LIST_PATH}?viewMode=listView&l=en&pageSize={PAGE_SIZE}"
                f"&pageNum={page}")  # fmt: skip

    def home_url(self) -> str:
        return f"{self.origin}{HOME_PATH}?l=en"

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

    def render_home(self) -> bytes:
        body = (TEMPLATES / "home.html").read_bytes()
        return body.replace(ORIGIN.encode(), self.origin.encode())

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
            news_list.getparent().set("id", "templateX")
        for counts in root.cssselect("span.left_1"):
            counts.text = f"Total {self.count} items, page {page}/{self.pages}, "
        for field_ in root.cssselect('input[name="pageNum"]'):
            field_.set("value", str(page))
        return etree.tostring(root, method="html", doctype="<!DOCTYPE html>", encoding="utf-8")

    def render_detail(self, seq: int) -> bytes:
        root = copy.deepcopy(self._detail_template)
        title = self.title(seq)
        page_title = f"National Science and Technology Council-Press Releases-{title}"
        root.find(".//title").text = page_title
        for node in root.cssselect('meta[property="og:title"], meta[property="og:description"]'):
            node.set("content", page_title)
        (heading,) = root.cssselect("h2.articleTitle")
        heading.text = title
        (editor,) = root.cssselect("#scroll_div")
        for child in list(editor):
            if child.get("id") != "style_area":
                editor.remove(child)
        for node in root.cssselect("ul.list_list_dow"):
            node.getparent().remove(node)
        for text in self.paragraphs(seq):
            paragraph = html.Element("p")
            paragraph.text = text
            editor.append(paragraph)
        label = html.Element("p")
        label.text = f"Date: {self.day(seq).isoformat()}"
        editor.append(label)
        return etree.tostring(root, method="html", doctype="<!DOCTYPE html>", encoding="utf-8")

    def response(self, url: str) -> tuple[int, bytes]:
        """Status and body for a URL of this site (404 for anything else)."""
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        if parts.path in (HOME_PATH, "") and query.get("l") == "en":
            return 200, self.render_home()
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
        entries = [self._write(folder, "home.html", self.home_url(), self.render_home())]
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
        return (f"{self.origin}{LIST_PATH}?viewMode=listView&l=en&pageSize={PAGE_SIZE}"
                f"&pageNum={_PAGE}")  # fmt: skip

    def page_releases(self, page: int) -> list[int]:
        return [1]


def _escape(text: str) -> bytes:
    return html_escape(text, quote=False).encode("utf-8")


@dataclass
class FastSyntheticSite(SyntheticSite):
    """The same site and bytes as :class:`SyntheticSite`, detail pages rendered by string
    substitution.

    The lxml renderer costs about 0.5 ms a page, which would make a benchmark server spend
    seconds of CPU on a 20,000-release crawl. Templates are cut from the reference renderer's
    own output for a placeholder site and checked byte for byte against it on sample pages;
    should they ever differ (a template change), every page falls back to the reference.
    """

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
        # Detail pages only: list pages are one in ten and keep the reference renderer.
        probe = _Probe(count=1, redesigned=self.redesigned, origin=self.origin)
        detail = probe.render_detail(1)
        paragraph = f"<p>{_BODY}</p>".encode()
        if detail.count(paragraph) != 1:
            return None
        head, tail = detail.split(paragraph)
        # Set now so the check below renders through them; the property then caches the verdict.
        self._templates = {"detail": (head, tail)}
        samples = {1, 2, self.count, *self.edited} & set(range(1, self.count + 1))
        same = all(
            self.render_detail(seq) == SyntheticSite.render_detail(self, seq) for seq in samples
        )
        return self._templates if same else None

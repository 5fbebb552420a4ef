"""Extraction quality on the fixture detail pages: this project's spiders versus trafilatura.

The metric is the article-extraction-benchmark's (../shared/article-extraction-benchmark):
``\\w+`` tokens, 4-token shingles counted with repeats; per page, precision = share of the
output's shingles found in the truth, recall = share of the truth's found in the output;
precision is averaged over pages with output, recall over pages with truth, F1 from the two
averages. It is reimplemented here and checked on the benchmark's own 181 pages with
trafilatura (published F1 0.958).

Ground truth:

- full: the seed texts of ``../shared/seeds`` (000, 001, 003, 004), cut to their body as a
  person would (front matter, labels, contact block and navigation removed);
- partial: every other fixture detail page, from ``fixtures/*/detail/*.expected.json``: its
  exact first and last body paragraphs. There, recall = share of those two paragraphs'
  shingles in the output,
  and precision = share of the output's shingles lying between the start of the first and the
  end of the last (the body, whatever lies between them; an output missing one of the two
  gets the benefit of the doubt at that end).

Every text (truth and both outputs) goes through the project's ``clean_text`` first, so that
repaired line-break hyphenation ("Tech-nology" in the seeds and pages) counts for neither
side: the comparison is of what each extractor selects.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bench.common import ROOT, Config, Figure, Section

SEEDS = ROOT / "tests" / "data" / "seeds"  # copies of ../shared/seeds
AEB = ROOT.parent / "shared" / "article-extraction-benchmark"
FIXTURES = ROOT / "fixtures"
PUBLISHED_TRAFILATURA_F1 = 0.958

#: Seed text → (source, fixture URL) of the detail page that carries it.
SEED_PAGES = {
    "000_9f64c050a840af00.txt": (
        "nstc",
        "https://www.nstc.gov.tw/folksonomy/detail/d82a8144-43dc-412b-9d71-4aa310c72fd6?l=en",
    ),
    "001_e400052ca11efd3e.txt": (
        "moeaidb",
        "https://www.ida.gov.tw/ctlr?PRO=news.rwdNewsView&lang=1&id=16742",
    ),
    "003_1e5617237e439169.txt": (
        "nstc",
        "https://www.nstc.gov.tw/folksonomy/detail/be2045b6-4bfd-47be-a773-5f4193a29cca?l=en",
    ),
    "004_43fa80809f63a64c.txt": (
        "msit",
        "https://www.msit.go.kr/eng/bbs/view.do?sCode=eng&mId=4&mPid=2&bbsSeqNo=42&nttSeqNo=212",
    ),
}

# --- the metric --------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+")
SHINGLE = 4


def tokens(text: str | None) -> list[str]:
    return _TOKEN.findall(text or "")


def shingles(text: str | None, n: int = SHINGLE) -> Counter[tuple[str, ...]]:
    """4-token shingles with their counts; a text shorter than 4 tokens is one shingle."""
    words = tokens(text)
    return Counter(tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1)) if words)


def matching(truth: str | None, output: str | None) -> tuple[float, float, float]:
    """(true positives, false positives, false negatives) over shingles, with repeats."""
    want, got = shingles(truth), shingles(output)
    tp = sum((want & got).values())
    return float(tp), float(sum(got.values()) - tp), float(sum(want.values()) - tp)


def page_precision(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return tp / (tp + fp) if tp + fp else 0.0


def page_recall(tp: float, fp: float, fn: float) -> float:
    if fp == fn == 0:
        return 1.0
    return tp / (tp + fn) if tp + fn else 0.0


#: One page's (precision, recall); None where the page has no output / no truth.
PageScore = tuple[float | None, float | None]


def page_score(tp: float, fp: float, fn: float) -> PageScore:
    return (
        page_precision(tp, fp, fn) if tp + fp > 0 else None,
        page_recall(tp, fp, fn) if tp + fn > 0 else None,
    )


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float
    pages: int


def aggregate(scores: Iterable[PageScore]) -> Score:
    """The benchmark's aggregation: precision averaged over pages with output, recall over
    pages with truth, F1 of the two means."""
    scores = list(scores)
    precisions = [p for p, _ in scores if p is not None]
    recalls = [r for _, r in scores if r is not None]
    precision = statistics.mean(precisions) if precisions else 0.0
    recall = statistics.mean(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision, recall, f1, len(scores))


def partial_score(first: str, last: str, output: str | None) -> PageScore:
    """A page whose body is known only by its first and last paragraphs."""
    known = shingles(first) + shingles(last)  # no shingle across the unknown middle
    got = shingles(output)
    recall = sum((known & got).values()) / sum(known.values())
    words = tokens(output)
    if not words:
        return None, recall
    start = _find(words, tokens(first), last=False)
    end = _find(words, tokens(last), last=True)
    lo = 0 if start is None else start
    hi = len(words) if end is None else end + len(tokens(last))
    if len(words) < SHINGLE:  # one short shingle
        return float(lo == 0 and hi >= len(words)), recall
    # Shingle i covers tokens i..i+3: inside the body when it starts and ends inside it.
    shingle_count = len(words) - SHINGLE + 1
    inside = sum(1 for i in range(shingle_count) if lo <= i <= hi - SHINGLE)
    return inside / shingle_count, recall


def _find(haystack: list[str], needle: list[str], last: bool) -> int | None:
    if not needle or len(needle) > len(haystack):
        return None
    starts = range(len(haystack) - len(needle), -1, -1) if last else range(len(haystack))
    first = needle[0]
    for i in starts:
        if haystack[i] == first and haystack[i : i + len(needle)] == needle:
            return i
    return None


# --- ground truth ------------------------------------------------------------------------


def seed_body(name: str) -> str:
    """The body of a seed text, cut as its README describes each page."""
    lines = (SEEDS / name).read_text(encoding="utf-8").splitlines()
    if name.startswith(("000", "003")):  # front matter, then the body, then Date:/Source:
        closing = [i for i, line in enumerate(lines) if line.strip() == "---"][1]
        end = next(i for i, line in enumerate(lines) if line.startswith("Date:"))
        body = lines[closing + 1 : end]
    elif name.startswith("001"):  # header block, body, contact block, counter, footer
        start = next(i for i, line in enumerate(lines) if "Last modified at" in line) + 1
        end = next(i for i, line in enumerate(lines) if "Contact Organization" in line)
        body = lines[start:end]
    elif name.startswith("004"):  # breadcrumb and title, body from the first "- " line
        start = next(i for i, line in enumerate(lines) if line.startswith("- "))
        end = next(i for i, line in enumerate(lines) if "Move to the top" in line)
        body = lines[start:end]
    else:
        raise ValueError(f"no body rule for seed {name}")
    return "\n\n".join(line.strip() for line in body if line.strip())


@dataclass
class Page:
    source: str
    url: str
    html: bytes
    cb_kwargs: dict[str, str]
    #: Full body text, or None when only the first/last paragraphs are known.
    truth: str | None
    first: str
    last: str


def fixture_pages() -> list[Page]:
    """Every fixture detail page with an expectation (``fixtures/<source>/detail/<id>.html``
    beside ``<id>.expected.json``: what the source's spider must extract)."""
    by_url = {url: seed for seed, (_, url) in SEED_PAGES.items()}
    pages = []
    seen_bodies: set[bytes] = set()
    for path in sorted(FIXTURES.glob("*/detail/*.expected.json")):
        page = path.with_name(path.name.removesuffix(".expected.json") + ".html")
        if not page.is_file():
            continue
        expected = json.loads(path.read_text(encoding="utf-8"))
        paragraphs = expected.get("body") or []
        if isinstance(paragraphs, str):
            paragraphs = [p for p in paragraphs.split("\n\n") if p.strip()]
        body = page.read_bytes()
        if not paragraphs or body in seen_bodies:  # the same page twice: count it once
            continue
        seen_bodies.add(body)
        url = expected["url"]
        seed = by_url.get(url)
        pages.append(
            Page(
                source=path.parent.parent.name,
                url=url,
                html=body,
                cb_kwargs=expected.get("cb_kwargs", {}),
                truth=seed_body(seed) if seed else None,
                first=paragraphs[0],
                last=paragraphs[-1],
            )
        )
    return pages


# --- the two extractors ------------------------------------------------------------------


def project_extractor() -> Callable[[Page], str]:
    from scrapy import Request
    from scrapy.http import HtmlResponse
    from scrapy.spiderloader import SpiderLoader

    from crawler.items import ReleaseItem
    from crawler.normalize import clean_text
    from crawler.project import project_settings

    # Scrapy's own spider loader: whatever module or registry defines the spiders.
    loader = SpiderLoader.from_settings(project_settings())
    spiders: dict[str, object] = {}

    def extract(page: Page) -> str:
        response = HtmlResponse(
            url=page.url, body=page.html, encoding="utf-8", request=Request(page.url)
        )
        if page.source not in spiders:
            spiders[page.source] = loader.load(page.source)()
        spider: Any = spiders[page.source]
        items = [
            out
            for out in spider.parse_detail(response, **page.cb_kwargs)
            if isinstance(out, ReleaseItem)
        ]
        return clean_text(items[0].get("body")) if items else ""

    return extract


def trafilatura_extractor() -> Callable[[Page], str]:
    import trafilatura

    def extract(page: Page) -> str:
        # The call the article-extraction-benchmark makes.
        return trafilatura.extract(page.html.decode("utf-8"), include_comments=False) or ""

    return extract


# --- the benchmark -----------------------------------------------------------------------


def score_pages(pages: list[Page], outputs: list[str]) -> tuple[Score, Score]:

    full, partial = [], []
    for page, output in zip(pages, outputs, strict=True):
        (full if page.truth is not None else partial).append(score_page(page, output))
    return aggregate(full), aggregate(partial)


def score_page(page: Page, output: str) -> PageScore:
    from crawler.normalize import clean_text

    text = clean_text(output)
    if page.truth is not None:
        return page_score(*matching(clean_text(page.truth), text))
    return partial_score(clean_text(page.first), clean_text(page.last), text)


def aeb_sanity(limit: int | None = None) -> tuple[Score, float]:
    """trafilatura on the article-extraction-benchmark pages with this metric code."""
    import trafilatura

    truth = json.loads((AEB / "ground-truth.json").read_text(encoding="utf-8"))
    ids = sorted(truth)[:limit]
    counts = []
    started = time.perf_counter()
    for key in ids:
        with gzip.open(AEB / "html" / f"{key}.html.gz", "rt", encoding="utf8") as fh:
            html = fh.read()
        output = trafilatura.extract(html, include_comments=False)
        counts.append(page_score(*matching(truth[key].get("articleBody", ""), output)))
    return aggregate(counts), (time.perf_counter() - started) / len(ids)


def run(config: Config) -> Section:
    pages = fixture_pages()
    extractors = {"stnews": project_extractor(), "trafilatura": trafilatura_extractor()}
    outputs = {name: [extract(p) for p in pages] for name, extract in extractors.items()}
    repeats = config.pick(5, 1)
    # Per pass: mean milliseconds per page over all pages; passes interleave the extractors.
    per_page: dict[str, list[float]] = {name: [] for name in extractors}
    for _ in range(repeats):
        for name, extract in extractors.items():
            started = time.perf_counter()
            for page in pages:
                extract(page)
            per_page[name].append((time.perf_counter() - started) / len(pages) * 1000)

    section = Section("extraction", "Extraction quality on the fixture detail pages")
    scores = {name: score_pages(pages, outputs[name]) for name in extractors}
    n_full = sum(p.truth is not None for p in pages)
    n_partial = len(pages) - n_full
    for name in extractors:
        full, partial = scores[name]
        section.figures += [
            Figure(f"{name}: F1, full truth ({n_full} pages)", [full.f1], digits=3),
            Figure(f"{name}: precision, full truth", [full.precision], digits=3),
            Figure(f"{name}: recall, full truth", [full.recall], digits=3),
            Figure(
                f"{name}: F1, first/last paragraphs ({n_partial} pages)", [partial.f1], digits=3
            ),
            Figure(f"{name}: time per page", per_page[name], "ms", digits=2),
        ]
    ratio = [t / s for t, s in zip(per_page["trafilatura"], per_page["stnews"], strict=True)]
    section.figures.append(Figure("time per page, trafilatura / stnews", ratio, "×", digits=1))

    table = [
        "| page | truth | stnews P / R | trafilatura P / R |",
        "|---|---|---|---|",
    ]
    for i, page in enumerate(pages):
        cells = []
        for name in extractors:
            precision, recall = score_page(page, outputs[name][i])
            cells.append(f"{_show(precision)} / {_show(recall)}")
        kind = "full (seed)" if page.truth is not None else "first/last"
        short = page.url.split("://", 1)[1][:60]
        table.append(f"| {page.source} `{short}` | {kind} | {cells[0]} | {cells[1]} |")
    section.extra.append("Per page (precision / recall):\n\n" + "\n".join(table))

    section.notes = [
        f"{len(pages)} distinct fixture detail pages (`fixtures/*/detail/*.expected.json`); "
        f"full ground truth for {n_full} of them (seeds 000, 001, 003, 004 of "
        "`../shared/seeds`: their body cut after the front matter and before `Date:` "
        "(000, 003), from the first paragraph after "
        "`Last modified at` to the contact block (001), from the first `- ` line to before "
        "`Move to the top of the page` (004)); for the other "
        f"{n_partial} only the exact first and last body paragraphs (see the module docstring "
        "for how precision and recall are taken there).",
        "stnews = the spider's `parse_detail` on the page + `crawler.normalize.clean_text` "
        "(what is stored as the body). trafilatura = `trafilatura.extract(html, "
        "include_comments=False)`, what a user would pick instead (the benchmark's own call). "
        "Both outputs and the truth go through `clean_text` before scoring, so hyphenation "
        "repair counts for neither side.",
        "Read the first/last-paragraph figures with care: those paragraphs are what "
        "the expectations require of the spiders, so stnews meets them by construction and "
        "they mostly measure trafilatura (its precision there: page chrome or metadata outside "
        "the body, such as titles, dates and contact blocks). The seed-text pages are the "
        "independent truth.",
        "Time per page: mean over the pages, one pass per run, "
        f"{repeats} run(s) per extractor, interleaved; stnews's time includes building the "
        "Scrapy response from the bytes.",
    ]
    if not config.quick:
        aeb, seconds = aeb_sanity()
        section.notes.append(
            f"Metric check: trafilatura {_version('trafilatura')} on the benchmark's "
            f"{aeb.pages} pages with this code: precision {aeb.precision:.3f}, recall "
            f"{aeb.recall:.3f}, F1 {aeb.f1:.3f} (published for trafilatura: "
            f"{PUBLISHED_TRAFILATURA_F1}), {seconds * 1000:.0f} ms per page."
        )
    return section


def _show(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)

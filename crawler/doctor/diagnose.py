"""What the doctor concludes from the pages it fetched: per source, how its list was read,
which stage filled each field of each release page, and what to change."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from scrapy.http import TextResponse

from crawler.doctor.fetch import FetchResult
from crawler.doctor.propose import Proposal, propose_detail, propose_list
from crawler.pages import DetailPage, ListPage, ReleaseFields
from crawler.pages.fields import REQUIRED
from crawler.pages.listing import find_list_url
from crawler.pages.snapshot import read_snapshot
from crawler.sources import SourceConfig


@dataclass
class PageFinding:
    url: str
    stages: dict[str, str]
    missing: list[str]


@dataclass
class SourceReport:
    source: str
    kind: str
    list_url: str | None = None
    list_found_by: str = "configuration"  # or "discovery" (the menu of [source.discover])
    list_stage: str | None = None  # "selectors" / "discovery"
    list_problem: str | None = None
    list_entries: int = 0
    next_page: str | None = None
    pages: list[PageFinding] = field(default_factory=list)
    stage_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    proposals: list[Proposal] = field(default_factory=list)
    list_proposals: list[Proposal] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Fields the source's own selectors are meant to fill (DetailPage.promised).
    promised: list[str] = field(default_factory=list)

    @property
    def needs_fallback(self) -> bool:
        """The list was discovered, or a field the selectors promise needed a fallback."""
        if self.list_stage == "discovery":
            return True
        return any(
            stage != "selectors"
            for name, counts in self.stage_counts.items()
            if name in self.promised or name == "text"
            for stage in counts
        )

    @property
    def verdict(self) -> str:
        if self.problems and not self.pages:
            return "unreachable"
        no_list = self.kind == "html" and not self.list_entries
        if no_list or any(page.missing for page in self.pages):
            return "broken"
        return "fallback" if self.needs_fallback else "ok"

    def to_dict(self) -> dict[str, Any]:
        data = dict(vars(self))
        data["proposals"] = [vars(p) for p in self.proposals]
        data["list_proposals"] = [vars(p) for p in self.list_proposals]
        data["pages"] = [vars(p) for p in self.pages]
        data["verdict"] = self.verdict
        return data


def diagnose(config: SourceConfig, fetched: FetchResult, list_page: ListPage,
             detail_page: DetailPage) -> SourceReport:  # fmt: skip
    report = SourceReport(config.name, config.kind, problems=list(fetched.problems),
                          promised=list(detail_page.promised()))  # fmt: skip
    for page in fetched.of("discovery"):
        if isinstance(page.response, TextResponse) and config.discover:
            found = find_list_url(page.response, config.discover)
            if found:
                report.notes.append(f"list found through the menu of {page.response.url}: {found}")
                if found not in config.start_url_strings:
                    report.list_found_by = "discovery"
                    report.list_url = found
            else:
                report.problems.append(
                    f"no menu link on {page.response.url} matches {config.discover.link_text}"
                )
    lists = [p for p in fetched.of("list") if isinstance(p.response, TextResponse)]
    if lists:
        first = lists[0].response
        reading = list_page.read(first)
        report.list_url = report.list_url or first.url
        report.list_stage = reading.stage
        report.list_problem = reading.problem
        report.list_entries = len(reading.entries)
        report.next_page = reading.next_pages[0] if reading.next_pages else None
        if reading.stage == "discovery":
            report.list_proposals = propose_list(first, reading.entries)
            if not report.list_proposals:
                report.notes.append("discovery found the releases, but no repeated block holds "
                                    "their links: write [source.list] by hand")  # fmt: skip
        if not reading.next_pages and reading.entries:
            report.notes.append("no next page found on the first list page: if the list has "
                                "more pages, check its pager by eye")  # fmt: skip
    read: list[tuple[TextResponse, ReleaseFields]] = []
    counts: dict[str, Counter[str]] = {}
    for page in fetched.of("detail"):
        if not isinstance(page.response, TextResponse) or page.response.status >= 400:
            continue
        fields = detail_page.read(page.response, page.entry)
        read.append((page.response, fields))
        report.pages.append(PageFinding(page.response.url, dict(fields.stages), fields.missing()))
        for name in (*REQUIRED, "summary", "image_url", "attachments", "contact_org"):
            counts.setdefault(name, Counter())[fields.stages.get(name, "-")] += 1
    for page in fetched.of("page"):
        if isinstance(page.response, TextResponse):
            snapshot = read_snapshot(page.response, config)
            report.pages.append(PageFinding(page.response.url, {"text": snapshot.stage},
                                            [] if snapshot.paragraphs else ["text"]))  # fmt: skip
            counts.setdefault("text", Counter())[snapshot.stage] += 1
    report.stage_counts = {name: dict(counter) for name, counter in counts.items()
                           if set(counter) != {"-"}}  # fmt: skip
    for name in list(report.stage_counts):
        report.stage_counts[name].pop("-", None)
    report.proposals = propose_detail(read)
    fallback_fields = {name for name, stages in report.stage_counts.items()
                       if any(stage != "selectors" for stage in stages)}  # fmt: skip
    proposed = {p.field for p in report.proposals}
    for name in sorted(fallback_fields):
        key = {"published_raw": "date"}.get(name, name)
        if key not in proposed and name in ("title", "body", "published_raw"):
            report.notes.append(
                f"{name}: filled by {', '.join(sorted(report.stage_counts[name]))}; no "
                "selector reads it on every page fetched: look at a page by eye"
            )
    return report

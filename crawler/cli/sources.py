"""`stnews sources` (list, `add`) and `stnews check`: the sources file from the command line.

``stnews check`` is the checker of configured sources (they have no Scrapy contracts): it
crawls each source from its fixtures into a throwaway SQLite database, in a child process
(Twisted's reactor cannot restart in one), counts how many stored releases have each field,
and fails when a required field falls under the source's declared coverage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import tomllib
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from crawler.cli.common import (
    add_source_column,
    err,
    new_table,
    out,
    print_legend,
    print_table,
)
from crawler.cli.crawl import PROGRESS_PREFIX

if TYPE_CHECKING:
    from crawler.sources import SourceConfig


def _sources() -> types.ModuleType:
    """crawler.sources, imported when a command runs: its pydantic models take a noticeable
    part of a second to build, which `stnews --help` need not pay."""
    import crawler.sources

    return crawler.sources

#: A child crawl of every checked source must finish within this many seconds.
CHECK_TIMEOUT = 900
_SOURCE_HEADER = re.compile(r"^\s*\[\[\s*source\s*\]\]\s*(#.*)?$")
_NAME_LINE = re.compile(r"""^(?P<key>\s*name\s*=\s*)(?P<quote>["'])(?P<name>.*?)(?P=quote)""")


def register(commands: argparse._SubParsersAction) -> None:
    sources = commands.add_parser(
        "sources",
        help="list the configured sources; `sources add NAME --from SOURCE` copies one",
        description="List the sources of the sources file ($STNEWS_SOURCES or sources.toml).",
    )
    sources.add_argument("--file", dest="sources_file", metavar="PATH", help="sources file")
    sources.add_argument("--json", action="store_true", help="print JSON for scripts")
    sources.set_defaults(handler=cmd_sources)
    actions = sources.add_subparsers(title="actions", metavar="ACTION")
    add = actions.add_parser(
        "add",
        help="append a copy of a source's entry under a new name, to edit into a new source",
        description="Append a copy of SOURCE's [[source]] table (comments and selectors "
        "included) under the name NAME, then edit it: see docs/adding-a-source.md.",
    )
    add.add_argument("name", metavar="NAME", help="name of the new source")
    add.add_argument("--from", dest="template", required=True, metavar="SOURCE")
    # SUPPRESS: without it the subcommand's default would overwrite `sources --file`.
    add.add_argument("--file", dest="sources_file", metavar="PATH", default=argparse.SUPPRESS)
    add.add_argument("--print", action="store_true", help="print the entry, change nothing")
    add.set_defaults(handler=cmd_sources_add)

    check = commands.add_parser(
        "check",
        help="crawl sources from their fixtures and report, per field, how many releases have it",
        description="Crawl each source (default: every enabled one) from DIR/<source> into a "
        "temporary database and count the releases having each field. Fails (exit 1) when "
        "a source yields nothing or a required field (health.required_fields) falls under "
        "health.min_field_coverage.",
    )
    check.add_argument("sources", nargs="*", metavar="SOURCE")
    check.add_argument(
        "--fixtures", metavar="DIR", help="fixture directory (default: ./fixtures or the repo's)"
    )
    check.add_argument("--file", dest="sources_file", metavar="PATH", help="sources file")
    check.add_argument("--json", action="store_true", help="print JSON for scripts")
    check.set_defaults(handler=cmd_check)


def _sources_file(args: argparse.Namespace) -> Path:
    given = getattr(args, "sources_file", None)
    return Path(given) if given else _sources().sources_path()


# --- stnews sources ------------------------------------------------------------------------


def read_as(source: SourceConfig) -> str:
    """How the source is read, in a few words ("feed → pages, + list check")."""
    if source.kind == "feed":
        feed = source.feed
        how = "feed → pages" if feed is None or feed.follow_links else "feed only"
        if feed is not None and feed.check_page:
            how += ", + list check"
    elif source.kind == "page":
        how = "watched pages"
    else:
        how = "list → pages"
    if source.spider:
        how += f" (code: {source.spider.rsplit(':', 1)[-1]})"
    return how


def source_row(source: SourceConfig) -> dict[str, Any]:
    return {
        "name": source.name,
        "kind": source.kind,
        "agency": source.agency,
        "agency_country": source.agency_country,
        "home": source.home_code,
        "home_note": source.home_note,
        "read_as": read_as(source),
        "language": source.language,
        "timezone": source.timezone,
        "interval": source.interval,
        "spider": source.spider,  # None: the configurable spider of its kind
        "enabled": source.enabled,
        "start_urls": source.start_url_strings,
    }


def cmd_sources(args: argparse.Namespace) -> int:
    path = _sources_file(args)
    rows = [source_row(source) for source in _sources().load_sources(path)]
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
        return 0
    publishers = {row["agency_country"] for row in rows}
    languages = {row["language"].split("-")[0] for row in rows}
    table = new_table(
        f"Sources in {path}",
        f"{len(rows)} sources, {len(publishers)} publishing countries or organisations, "
        f"{len(languages)} languages; cc: the agency's country (/ the source's home where it "
        "differs); every: crawl interval",
    )
    add_source_column(table, "name")
    table.add_column("agency")
    for column in ("cc", "lang"):
        table.add_column(column, no_wrap=True)
    table.add_column("read as")
    table.add_column("every", no_wrap=True)
    for row in rows:
        table.add_row(
            row["name"],
            escape(row["agency"]),
            row["agency_country"]
            + (f"/{row['home']}" if row["home"] != row["agency_country"] else ""),
            row["language"],
            escape(row["read_as"]),
            _duration(row["interval"]) if row["enabled"] else "[yellow]off[/yellow]",
        )
    print_table(table)
    return 0


def _duration(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


# --- stnews sources add --------------------------------------------------------------------


def entry_text(text: str, name: str) -> str:
    """The lines of the ``[[source]]`` table named ``name`` (with its sub-tables), without
    the comments and blank lines that trail it (they introduce the next entry)."""
    lines = text.splitlines()
    starts = [index for index, line in enumerate(lines) if _SOURCE_HEADER.match(line)]
    for start, end in zip(starts, [*starts[1:], len(lines)], strict=True):
        block = lines[start:end]
        try:
            tables = tomllib.loads("\n".join(block)).get("source") or [{}]
        except tomllib.TOMLDecodeError:
            continue
        if tables[0].get("name") != name:
            continue
        while block and (not block[-1].strip() or block[-1].lstrip().startswith("#")):
            block.pop()
        return "\n".join(block)
    raise KeyError(f"no [[source]] table named {name!r}")


def renamed_entry(entry: str, name: str) -> str:
    """``entry`` with its top-level ``name = ...`` (the first one: sub-tables come after the
    table's own keys) set to ``name``."""
    lines = entry.splitlines()
    for index, line in enumerate(lines):
        if match := _NAME_LINE.match(line):
            lines[index] = f'{match["key"]}"{name}"{line[match.end() :]}'
            return "\n".join(lines)
    raise ValueError("the entry has no name line to change")


def cmd_sources_add(args: argparse.Namespace) -> int:
    given = getattr(args, "sources_file", None)
    if given:
        path = Path(given)
        text = path.read_text(encoding="utf-8")
    else:
        path, text = _sources().sources_for_editing()
    names = [source.name for source in _sources().parse_sources(text, path)]
    if args.template not in names:
        raise KeyError(f"{path}: no source {args.template!r}; sources: {', '.join(names)}")
    if args.name in names:
        raise ValueError(f"{path}: there is already a source named {args.name!r}")
    entry = (
        f"# {args.name}: copied from {args.template!r} by `stnews sources add`. Change the "
        "agency, start_urls,\n# allowed_domains and selectors, then `stnews record "
        f"{args.name} fixtures` and `stnews check {args.name}`.\n"
        + renamed_entry(entry_text(text, args.template), args.name)
        + "\n"
    )
    updated = text.rstrip("\n") + "\n\n" + entry
    _sources().parse_sources(updated, path)  # the new name must be valid too
    if args.print:
        sys.stdout.write(entry)
        return 0
    path.write_text(updated, encoding="utf-8")
    out.print(
        f"Added source [bold]{args.name}[/bold] to {path} (a copy of {args.template}).\n"
        f"Next: edit it, `stnews record {args.name} fixtures`, `stnews check {args.name}`; "
        "see docs/adding-a-source.md."
    )
    return 0


# --- stnews check --------------------------------------------------------------------------


@dataclass
class SourceCheck:
    source: str
    kind: str
    releases: int = 0  # stored, or page snapshots for a `page` source
    dropped: dict[str, int] = field(default_factory=dict)
    fields: dict[str, int] = field(default_factory=dict)  # field -> releases having it
    required: list[str] = field(default_factory=list)
    min_field_coverage: float = 0.0
    generic: int = 0  # releases whose body came from generic extraction
    errors: int = 0
    health: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    @property
    def seen(self) -> int:
        """Releases the crawl produced: stored ones and those validation dropped (which
        count as lacking every field)."""
        return self.releases + sum(self.dropped.values())

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seen": self.seen, "ok": self.ok}


def default_fixtures() -> Path:
    here = Path("fixtures")
    return here if here.is_dir() else _sources().ROOT / "fixtures"


def cmd_check(args: argparse.Namespace) -> int:
    path = _sources_file(args).resolve()
    enabled = {source.name: source for source in _sources().load_sources(path) if source.enabled}
    names = list(dict.fromkeys(args.sources)) or sorted(enabled)
    unknown = [name for name in names if name not in enabled]
    if unknown:
        raise KeyError(
            f"unknown or disabled source(s): {', '.join(unknown)}; "
            f"enabled: {', '.join(sorted(enabled))}"
        )
    fixtures = Path(args.fixtures) if args.fixtures else default_fixtures()
    if not fixtures.is_dir():
        raise FileNotFoundError(f"fixture directory not found: {fixtures}")
    checks = {name: new_check(enabled[name]) for name in names}
    runnable = []
    for name in names:
        if (fixtures / name / "index.json").is_file():
            runnable.append(name)
        else:
            checks[name].failures.append(
                f"no fixtures: {fixtures / name / 'index.json'} is missing "
                f"(record them with `stnews record {name} {fixtures}`)"
            )
    if runnable:
        with (
            tempfile.TemporaryDirectory(prefix="stnews-check-") as tmp,
            _check_progress(runnable, quiet=args.json) as on_crawled,
        ):
            database_url = f"sqlite:///{Path(tmp) / 'check.db'}"
            rows, problem = _crawl(runnable, fixtures.resolve(), path, database_url, on_crawled)
            for name in runnable:
                if problem:
                    checks[name].failures.append(problem)
                    continue
                _evaluate(checks[name], enabled[name], rows.get(name), database_url)
    results = [checks[name] for name in names]
    if args.json:
        data = [check.to_dict() for check in results]
        sys.stdout.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
    else:
        _print_checks(results, fixtures)
    return 0 if all(check.ok for check in results) else 1


@contextmanager
def _check_progress(names: list[str], quiet: bool) -> Iterator[Callable[[dict], None]]:
    """Progress of the check's crawl on stderr: a bar on a terminal, else a line a source
    (nothing with --json, unless on a terminal)."""
    if err.is_terminal:
        with Progress(
            SpinnerColumn(),
            TextColumn("crawling the fixtures"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[last]}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("check", total=len(names), last="")
            yield lambda line: progress.update(task, advance=1, last=line["source"])
        return
    done = 0

    def report(line: dict) -> None:
        nonlocal done
        done += 1
        if not quiet:
            err.print(
                f"check: {line['source']} crawled, {line.get('pages', 0)} pages, "
                f"{line.get('new', 0)} releases [{done}/{len(names)}]",
                highlight=False,
            )

    yield report


def new_check(source: SourceConfig) -> SourceCheck:
    return SourceCheck(
        source=source.name,
        kind=source.kind,
        required=list(source.health.required_fields) if source.kind != "page" else ["text"],
        min_field_coverage=source.health.min_field_coverage if source.kind != "page" else 1.0,
    )


def _crawl(
    names: list[str],
    fixtures: Path,
    sources_file: Path,
    database_url: str,
    on_crawled: Callable[[dict[str, Any]], None] = lambda line: None,
) -> tuple[dict[str, dict[str, Any]], str | None]:
    """Crawl rows of a child `stnews crawl --replay --full --json`, or a problem.

    ``on_crawled`` is called with each source's counts as the child finishes it (the child's
    `--progress-lines` on stderr)."""
    root = _sources().ROOT
    env = {
        **os.environ,
        "STNEWS_SOURCES": str(sources_file),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable, "-m", "crawler.cli", "--db", database_url, "crawl", *names,
        "--replay", str(fixtures), "--full", "--json", "--progress-lines",
    ]  # fmt: skip
    stderr: list[str] = []
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=root
    ) as child:
        # stdout (the JSON summary) is read by a thread, so that neither pipe fills up while
        # the other is read.
        stdout: list[str] = []
        reader = threading.Thread(target=lambda: stdout.append(child.stdout.read()), daemon=True)
        reader.start()
        killed = threading.Event()
        timer = threading.Timer(CHECK_TIMEOUT, lambda: (killed.set(), child.kill()))
        timer.start()
        try:
            for line in child.stderr:
                if line.startswith(PROGRESS_PREFIX):
                    on_crawled(json.loads(line[len(PROGRESS_PREFIX) :]))
                else:
                    stderr.append(line)
            child.wait()
            reader.join()
        finally:
            timer.cancel()
    if killed.is_set():
        return {}, f"the crawl did not end within {CHECK_TIMEOUT} s"
    try:
        rows = json.loads("".join(stdout))
    except ValueError:
        tail = " ".join("".join(stderr).strip().splitlines()[-3:])
        return {}, f"the crawl failed (exit {child.returncode}): {tail or 'no output'}"
    return {row["source"]: row for row in rows}, None


def _evaluate(
    check: SourceCheck, source: SourceConfig, row: dict[str, Any] | None, database_url: str
) -> None:
    if row is None:
        check.failures.append("the crawl reported nothing for this source")
        return
    check.dropped = dict(row.get("dropped") or {})
    # The verdict the crawl gave, reported: a replay of fixtures records none.
    verdict = row.get("health") or {}
    check.health = {"status": verdict.get("status"), "reasons": verdict.get("reasons", [])}
    check.errors = int(row.get("errors", 0))
    if row.get("status") != "finished":
        check.failures.append(f"the crawl did not finish ({row.get('status')})")
    from storage import Database

    database = Database(database_url)
    try:
        with database.session(readonly=True) as session:
            if source.kind == "page":
                _count_pages(check, session)
            else:
                _count_releases(check, session)
    finally:
        database.dispose()
    if check.seen == 0:
        what = "page snapshot" if source.kind == "page" else "release"
        check.failures.append(
            f"no {what} from the fixtures (list selectors match nothing, or detail pages "
            "are missing from the fixtures?)"
        )
        return
    for name in check.required:
        filled = check.fields.get(name, 0)
        if filled / check.seen < check.min_field_coverage:
            check.failures.append(
                f"field {name!r} filled in {filled} of {check.seen} "
                f"({filled / check.seen:.0%}), expected at least {check.min_field_coverage:.0%}"
            )


def _count_releases(check: SourceCheck, session: Any) -> None:
    from storage import list_releases

    releases = list_releases(session, sources=[check.source])
    check.releases = len(releases)
    check.fields = {name: 0 for name in _sources().RELEASE_FIELDS}
    for release in releases:
        first = (release.body or "").split("\n\n", 1)[0]
        present = {
            "title": bool(release.title),
            "published": release.published_at is not None,
            "modified": release.modified_at is not None,
            "body": bool(release.body),
            # Normalization defaults the summary to the first paragraph: not the page's own.
            "summary": bool(release.summary) and release.summary != first,
            "image_url": bool(release.image_url),
            "attachments": bool(release.attachments),
            "contact_org": bool(release.contact_org),
            "native_id": bool(release.native_id),
        }
        for name, has in present.items():
            check.fields[name] += has
        check.generic += release.extraction == "generic"


def _count_pages(check: SourceCheck, session: Any) -> None:
    from sqlalchemy import select

    from storage import MonitoredPage

    pages = list(session.scalars(select(MonitoredPage).where(MonitoredPage.source == check.source)))
    check.releases = len(pages)
    check.fields = {
        "title": sum(bool(page.title) for page in pages),
        "text": sum(bool(page.versions and page.versions[-1].text) for page in pages),
    }


#: Field -> its heading in the check table (short, so that every field fits 80 columns).
CHECK_HEADINGS = {
    "title": "title", "published": "pub", "modified": "mod", "body": "body",
    "summary": "summ", "image_url": "img", "attachments": "att", "contact_org": "org",
    "text": "text",
}  # fmt: skip


def _print_checks(results: list[SourceCheck], fixtures: Path) -> None:
    columns = [name for name in _sources().RELEASE_FIELDS if name != "native_id"]
    if any(check.kind == "page" for check in results):
        columns.append("text")
    table = new_table(f"Sources against {fixtures}: releases having each field", gap=1)
    add_source_column(table)
    for heading in ("seen", "drop", *(CHECK_HEADINGS.get(c, c) for c in columns), "gen"):
        table.add_column(heading, justify="right")
    table.add_column("result")
    for check in results:
        cells = []
        for column in columns:
            if column not in check.fields:
                cells.append("[dim]-[/dim]")
                continue
            cell = str(check.fields[column])
            if column in check.required:
                low = check.fields[column] < check.min_field_coverage * check.seen
                cell = f"[red]{cell}[/red]" if low else f"[bold]{cell}[/bold]"
            cells.append(cell)
        table.add_row(
            check.source,
            str(check.seen),
            str(sum(check.dropped.values())),
            *cells,
            str(check.generic),
            "[green]ok[/green]" if check.ok else "[red]FAIL[/red]",
        )
    print_table(table)
    print_legend(
        "seen: releases the crawl produced, stored or dropped; then, per field, how many have "
        "it (pub: published, mod: modified, summ: the page's own summary, not the first "
        "paragraph standing in for it, img: image URL, att: attachments, org: contact "
        "organisation); bold: a required field (health.required_fields); gen: bodies from "
        "generic extraction",
    )
    for check in results:
        for failure in check.failures:
            out.print(f"[red]{check.source}:[/red] {escape(failure)}")
        for reason in check.health.get("reasons", []):
            out.print(f"[yellow]{check.source}: health:[/yellow] {escape(reason)}")
        if check.errors:
            out.print(
                f"[yellow]{check.source}:[/yellow] {check.errors} error(s) logged; "
                f"see `stnews crawl {check.source} --replay {fixtures} --full -v`"
            )

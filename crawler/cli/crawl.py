"""`stnews crawl` and `stnews record`: run spiders in this process, with progress."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from crawler.cli.common import (
    UserError,
    add_scrapy_options,
    add_source_column,
    check_crawl_settings,
    err,
    known_sources,
    name_value,
    new_table,
    open_database,
    out,
    print_legend,
    print_table,
    project_settings,
)

if TYPE_CHECKING:
    from crawler.service.runner import CrawlResult


def register(commands: argparse._SubParsersAction) -> None:
    crawl = commands.add_parser("crawl", help="crawl sources into the database")
    crawl.add_argument("sources", nargs="*", metavar="SOURCE", help="sources (default: all)")
    crawl.add_argument("--replay", metavar="DIR", help="answer requests from saved fixtures")
    add_scrapy_options(crawl)
    crawl.add_argument(
        "--full",
        action="store_true",
        help="fetch every list and detail page, even those known unchanged",
    )
    crawl.add_argument("--json", action="store_true", help="print the summary as JSON")
    crawl.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's log")
    # For `stnews check`, which runs this command in a child: one JSON line on stderr per
    # source crawled, prefixed with PROGRESS_PREFIX.
    crawl.add_argument("--progress-lines", action="store_true", help=argparse.SUPPRESS)
    crawl.set_defaults(handler=cmd_crawl)

    record = commands.add_parser("record", help="fetch a source live and save its responses")
    record.add_argument("source")
    record.add_argument("directory", metavar="DIR")
    record.add_argument("--start-url", help="start from this URL instead of the source's own")
    add_scrapy_options(record, spider_args=False)
    record.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's log")
    record.set_defaults(handler=cmd_record)


def crawl_settings(args: argparse.Namespace, **overrides: Any):
    """The project settings with the command's `-s` options, `--db` and `overrides`."""
    overrides = {**dict(name_value(text) for text in getattr(args, "settings", [])), **overrides}
    if args.db:
        overrides["DATABASE_URL"] = args.db
    if not getattr(args, "verbose", False):
        overrides.setdefault("LOG_LEVEL", "WARNING")
    return check_crawl_settings(project_settings(overrides))


def cmd_crawl(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.replay:
        replay = Path(args.replay)
        if not replay.is_dir():
            raise FileNotFoundError(f"replay directory not found: {replay}")
        overrides["REPLAY_DIR"] = str(replay.resolve())
    if args.full:
        overrides["INCREMENTAL_ENABLED"] = False
    settings = crawl_settings(args, **overrides)
    known_sources(args.sources, settings)
    spider_args = dict(name_value(text) for text in args.spider_args)
    # Opened (and migrated) before any spider starts: an unusable database is one error line.
    database = open_database(settings["DATABASE_URL"])
    # A read-only database would let every release be read and then dropped: say so at once.
    if problem := database.cannot_write():
        from sqlalchemy.engine import make_url

        shown = make_url(settings["DATABASE_URL"]).render_as_string(hide_password=True)
        raise UserError(f"cannot write to the database {shown}: {problem}; nothing was crawled")
    results = run_with_progress(
        args.sources or None, settings, spider_args, quiet=args.json, lines=args.progress_lines
    )
    from storage.releases import count_by_source

    linking = link_events(database)
    with database.session() as session:
        stored = count_by_source(session)
    rows = [result_dict(result, stored) for result in results]
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
    else:
        print_summary(rows)
        if linking:
            out.print(f"Events: {linking}", style="dim")
        out.print(f"Database: {settings['DATABASE_URL']}")
    for result in results:
        if not result.ok:  # one line each, also under --json (on stderr)
            err.print(f"{result.source}: {result.status}: {result.finish_reason}", markup=False)
    return 0 if all(r.ok for r in results) else 1


def link_events(database) -> str | None:
    """The post-crawl step: new cooperation releases join their events. A failure is logged
    and reported; it never fails the crawl (the next crawl or `stnews events link` retries)."""
    from storage.events import unlinked_cooperation

    try:
        with database.session(readonly=True) as session:
            if not unlinked_cooperation(session, 1):
                # Nothing new to link (most polls): the linker and NumPy are not loaded
                # (0.47 s of imports, issue 19).
                return None
        from crawler.service.linking import link_new

        return link_new(database).summary()
    except Exception as exc:  # linking must never undo a finished crawl
        err.print(f"[yellow]warning:[/yellow] event linking failed: {exc}")
        return None


def cmd_record(args: argparse.Namespace) -> int:
    target = Path(args.directory)
    settings = crawl_settings(
        args,
        RECORD_DIR=str(target.resolve()),
        REPLAY_DIR=None,
        # Recording saves pages; it neither reads nor writes the database: every page is
        # fetched (no incremental shortcuts) and nothing is stored or judged.
        ITEM_PIPELINES={},
        EXTENSIONS={},
        INCREMENTAL_ENABLED=False,
    )
    known_sources([args.source], settings)
    spider_args = {"start_url": args.start_url} if args.start_url else {}
    results = run_with_progress([args.source], settings, spider_args=spider_args)
    result = results[0]
    out.print(
        f"Recorded {result.counts.get('pages', 0)} responses for {args.source} under "
        f"{target / args.source}"
    )
    return 0 if result.ok else 1


#: Starts each line of `crawl --progress-lines` on stderr (the rest is JSON).
PROGRESS_PREFIX = "stnews-progress: "


def run_with_progress(
    sources, settings, spider_args=None, quiet=False, lines=False
) -> list[CrawlResult]:
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description:<10}"),
        TextColumn(
            "{task.fields[pages]:>5} pages  {task.fields[stored]:>5} releases  "
            "{task.fields[dropped]:>4} dropped"
        ),
        TimeElapsedColumn(),
        console=err,
        disable=quiet or not err.is_terminal,
        transient=False,
    ) as progress:
        tasks: dict[str, Any] = {}

        def on_progress(source: str, event: str, value: Any) -> None:
            if source not in tasks:
                tasks[source] = progress.add_task(source, total=None, pages=0, stored=0, dropped=0)
            task = tasks[source]
            fields = progress.tasks[task].fields
            if event == "page":
                progress.update(task, pages=fields["pages"] + 1)
            elif event == "stored":
                progress.update(task, stored=fields["stored"] + 1)
            elif event == "dropped":
                progress.update(task, dropped=fields["dropped"] + 1)
            elif event == "closed":
                progress.update(task, total=1, completed=1)
                if lines:
                    line = {"source": source, "status": value.status, **value.counts}
                    sys.stderr.write(PROGRESS_PREFIX + json.dumps(line) + "\n")
                    sys.stderr.flush()

        from crawler.service.runner import run_crawls

        return run_crawls(sources, settings, spider_args, on_progress)


#: (count, heading) of the crawl summary: short headings, so that 13 columns fit 80; the legend
#: printed under the table spells them out.
SUMMARY_COLUMNS = (
    ("pages", "pages"), ("not_modified", "304"), ("new", "new"), ("updated", "upd"),
    ("unchanged", "same"), ("skipped", "skip"), ("duplicates", "dup"),
    ("page_versions", "vers"),
)  # fmt: skip
SUMMARY_LEGEND = (
    "304: list pages answered Not Modified; upd: updated; same: unchanged; skip: known "
    "releases whose list entry is unchanged (--full re-fetches them); dup: duplicates; vers: "
    "page versions; drop: dropped (reasons below); err: errors logged; stored: the source's "
    "releases in the database"
)


def result_dict(result: CrawlResult, stored: dict[str, int]) -> dict[str, Any]:
    return {
        "source": result.source,
        "status": result.status,
        **result.counts,
        "dropped": result.dropped,
        "stored": stored.get(result.source, 0),
        "health": result.health,
    }


def summary_table(rows: list[dict[str, Any]]) -> Table:
    table = new_table("Crawl summary", gap=1)
    add_source_column(table)
    table.add_column("status")
    for _, heading in SUMMARY_COLUMNS:
        table.add_column(heading, justify="right")
    for heading in ("drop", "err", "stored"):
        table.add_column(heading, justify="right")
    for row in rows:
        status = row["status"] if row["status"] == "finished" else f"[red]{row['status']}[/red]"
        table.add_row(
            row["source"],
            status,
            *(str(row.get(count, 0)) for count, _ in SUMMARY_COLUMNS),
            str(sum(row["dropped"].values())),
            str(row.get("errors", 0)),
            str(row["stored"]),
        )
    return table


def print_summary(rows: list[dict[str, Any]]) -> None:
    print_table(summary_table(rows))
    for line in dropped_lines(rows):
        out.print(line, highlight=False)
    print_legend(SUMMARY_LEGEND)


def dropped_lines(rows: list[dict[str, Any]]) -> list[str]:
    """One line per source that dropped releases: how many, for which reason."""
    return [
        f"{row['source']} dropped "
        + ", ".join(f"{n} {reason}" for reason, n in sorted(row["dropped"].items()))
        for row in rows
        if row["dropped"]
    ]

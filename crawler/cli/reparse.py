"""`stnews reparse`: re-extract stored releases from their raw responses and report changes."""

from __future__ import annotations

import argparse
import json
import sys

from rich.markup import escape
from rich.progress import Progress

from crawler.cli.common import err, known_sources, open_database, out, project_settings

#: Change lines printed before "… and N more" (``--json`` lists them all).
SHOWN_CHANGES = 100


def register(commands: argparse._SubParsersAction) -> None:
    reparse = commands.add_parser(
        "reparse",
        help="re-extract stored releases from their stored pages (no fetching)",
        description="Re-run the current spiders and pipelines over the raw responses stored "
        "with each release, after a selector or extractor change, and store what changed. "
        "Nothing is fetched.",
    )
    reparse.add_argument("sources", nargs="*", metavar="SOURCE", help="sources (default: all)")
    reparse.add_argument(
        "--dry-run", action="store_true", help="report what would change without writing"
    )
    reparse.add_argument("--json", action="store_true", help="print the report as JSON")
    reparse.set_defaults(handler=cmd_reparse)


def cmd_reparse(args: argparse.Namespace) -> int:
    # Imported here so that building the parser stays cheap for the other commands.
    from crawler.service.reparse import reparse

    known_sources(args.sources)
    settings = project_settings()
    database = open_database(args)
    try:
        with Progress(console=err, disable=args.json or not err.is_terminal) as progress:
            task = progress.add_task("reparsing", total=None)
            report = reparse(
                database,
                settings,
                sources=args.sources,
                dry_run=args.dry_run,
                on_progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
    finally:
        database.dispose()
    if args.json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=1) + "\n")
        return 1 if report.failures else 0
    would = "would be " if report.dry_run else ""
    for change in report.changes[:SHOWN_CHANGES]:
        out.print(
            f"{would}{change.outcome:<9} {change.source:<8} {escape(change.url)}\n"
            f"          {escape(change.summary)}",
            highlight=False,
        )
    if len(report.changes) > SHOWN_CHANGES:
        out.print(f"… and {len(report.changes) - SHOWN_CHANGES} more (--json lists them all)")
    for failure in report.failures:
        out.print(
            f"[red]failed[/red]    {failure.source:<8} {escape(failure.url)}: "
            f"{escape(failure.reason)}",
            highlight=False,
        )
    out.print(
        f"Checked {report.checked} releases: {report.updated} {would}updated, "
        f"{report.corrected} {would}corrected, {report.unchanged} unchanged, "
        f"{report.failed} failed"
        + (f"; {report.without_raw} without a stored page" if report.without_raw else "")
        + (". Dry run: nothing written." if report.dry_run else ".")
    )
    return 1 if report.failures else 0

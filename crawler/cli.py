"""The `stnews` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from crawler.cli_options import add_scrapy_options, name_value, positive_int
from crawler.events_cli import add_command as add_events_commands
from crawler.feeds.cli import add_command as add_feed_command
from crawler.normalize import parse_date
from crawler.pages_cli import add_command as add_pages_commands
from crawler.reparse_cli import add_command as add_reparse_command
from crawler.runner import CrawlResult, project_settings, run_crawls
from crawler.schedule_cli import add_command as add_schedule_command
from crawler.server.cli import add_command as add_serve_command
from crawler.sources_cli import add_command as add_sources_command
from crawler.worker_cli import add_command as add_worker_commands
from storage.migrate import SchemaError

err = Console(stderr=True)
# Piped output still gets a table wide enough for every column.
out = Console(width=None if sys.stdout.isatty() else 160)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except (KeyError, FileNotFoundError, ValueError, SchemaError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        err.print(f"[red]error:[/red] {message}")
        return 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stnews", description="Monitor government S&T cooperation news."
    )
    parser.add_argument(
        "--db", help="SQLAlchemy database URL (default: $DATABASE_URL or sqlite:///var/stnews.db)"
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

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
    crawl.set_defaults(handler=cmd_crawl)

    record = commands.add_parser("record", help="fetch a source live and save its responses")
    record.add_argument("source")
    record.add_argument("directory", metavar="DIR")
    record.add_argument("--start-url", help="start from this URL instead of the source's own")
    add_scrapy_options(record, spider_args=False)
    record.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's log")
    record.set_defaults(handler=cmd_record)

    releases = commands.add_parser("releases", help="list stored releases")
    releases.add_argument("--source", action="append", default=[], help="repeatable")
    releases.add_argument("--since", help="published on or after this date")
    releases.add_argument("--until", help="published before this date")
    releases.add_argument(
        "--cooperation", action="store_true", help="only international cooperation announcements"
    )
    releases.add_argument("--limit", type=positive_int, default=None)
    releases.add_argument("--json", action="store_true", help="print a JSON array")
    releases.set_defaults(handler=cmd_releases)

    from crawler.classify.cli import HELP as classify_help
    from crawler.classify.cli import add_arguments as add_classify_arguments

    add_classify_arguments(commands.add_parser("classify", help=classify_help))

    reclassify = commands.add_parser(
        "reclassify", help="re-run classification over stored releases after rules change"
    )
    reclassify.add_argument("--source", action="append", default=[], help="repeatable")
    reclassify.set_defaults(handler=cmd_reclassify)

    db = commands.add_parser("db", help="database schema: upgrade, current revision")
    db_commands = db.add_subparsers(title="db commands", metavar="ACTION", required=True)
    db_commands.add_parser("upgrade", help="migrate the database to the current schema")
    db_commands.add_parser("current", help="print the database's schema revision")
    for name, action in db_commands.choices.items():
        action.set_defaults(handler=cmd_db, action=name)

    status = commands.add_parser("status", help="per source: last run, totals, health")
    status.add_argument("sources", nargs="*", metavar="SOURCE")
    status.add_argument("--json", action="store_true", help="print JSON for scripts")
    status.set_defaults(handler=cmd_status)

    add_feed_command(commands)
    add_sources_command(commands)
    add_pages_commands(commands)
    add_reparse_command(commands)
    add_serve_command(commands)
    add_schedule_command(commands)
    add_worker_commands(commands)
    add_events_commands(commands)
    return parser


# --- crawl / record ------------------------------------------------------------------------


def _settings(args: argparse.Namespace, **overrides: Any):
    overrides = {**dict(name_value(text) for text in getattr(args, "settings", [])), **overrides}
    if args.db:
        overrides["DATABASE_URL"] = args.db
    if not getattr(args, "verbose", False):
        overrides.setdefault("LOG_LEVEL", "WARNING")
    return project_settings(overrides)


def cmd_crawl(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.replay:
        replay = Path(args.replay)
        if not replay.is_dir():
            raise FileNotFoundError(f"replay directory not found: {replay}")
        overrides["REPLAY_DIR"] = str(replay.resolve())
    if args.full:
        overrides["INCREMENTAL_ENABLED"] = False
    settings = _settings(args, **overrides)
    spider_args = dict(name_value(text) for text in args.spider_args)
    results = _run_with_progress(args.sources or None, settings, spider_args, quiet=args.json)
    from storage import Database
    from storage.releases import count_by_source

    database = Database(settings["DATABASE_URL"])
    linking = _link_events(database)
    with database.session() as session:
        stored = count_by_source(session)
    rows = [_result_dict(result, stored) for result in results]
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
    else:
        out.print(_summary_table(rows))
        out.print(
            "not modified: list pages answered 304; skipped: known releases whose list entry "
            "is unchanged (use --full to re-fetch everything)",
            style="dim",
        )
        if linking:
            out.print(f"Events: {linking}", style="dim")
        out.print(f"Database: {settings['DATABASE_URL']}")
    return 0 if all(r.ok for r in results) else 1


def _link_events(database) -> str | None:
    """The post-crawl step: new cooperation releases join their events. A failure is logged
    and reported; it never fails the crawl (the next crawl or `stnews events link` retries)."""
    from crawler.event_linking import link_new

    try:
        return link_new(database).summary()
    except Exception as exc:  # linking must never undo a finished crawl
        err.print(f"[yellow]warning:[/yellow] event linking failed: {exc}")
        return None


def cmd_record(args: argparse.Namespace) -> int:
    target = Path(args.directory)
    settings = _settings(
        args,
        RECORD_DIR=str(target.resolve()),
        REPLAY_DIR=None,
        # Recording saves pages; it neither reads nor writes the database: every page is
        # fetched (no incremental shortcuts) and nothing is stored or judged.
        ITEM_PIPELINES={},
        EXTENSIONS={},
        INCREMENTAL_ENABLED=False,
    )
    spider_args = {"start_url": args.start_url} if args.start_url else {}
    results = _run_with_progress([args.source], settings, spider_args=spider_args)
    result = results[0]
    out.print(
        f"Recorded {result.counts.get('pages', 0)} responses for {args.source} under "
        f"{target / args.source}"
    )
    return 0 if result.ok else 1


def _run_with_progress(sources, settings, spider_args=None, quiet=False) -> list[CrawlResult]:
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

        return run_crawls(sources, settings, spider_args, on_progress)


SUMMARY_COLUMNS = (
    "pages", "not_modified", "new", "updated", "unchanged", "skipped", "duplicates",
    "page_versions",
)  # fmt: skip


def _result_dict(result: CrawlResult, stored: dict[str, int]) -> dict[str, Any]:
    return {
        "source": result.source,
        "status": result.status,
        **result.counts,
        "dropped": result.dropped,
        "stored": stored.get(result.source, 0),
    }


def _summary_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Crawl summary")
    table.add_column("source")
    table.add_column("status")
    for column in SUMMARY_COLUMNS:
        table.add_column(column.replace("_", " "), justify="right")
    table.add_column("dropped")
    table.add_column("errors", justify="right")
    table.add_column("stored", justify="right")
    for row in rows:
        dropped = ", ".join(f"{reason}: {n}" for reason, n in sorted(row["dropped"].items()))
        status = row["status"] if row["status"] == "finished" else f"[red]{row['status']}[/red]"
        table.add_row(
            row["source"],
            status,
            *(str(row.get(column, 0)) for column in SUMMARY_COLUMNS),
            dropped or "0",
            str(row.get("errors", 0)),
            str(row["stored"]),
        )
    return table


# --- releases ------------------------------------------------------------------------------


def _database(args: argparse.Namespace):
    from storage import Database

    return Database(args.db or project_settings()["DATABASE_URL"])


def _date_arg(text: str | None) -> datetime | None:
    if text is None:
        return None
    parsed = parse_date(text)
    if parsed is None:
        raise ValueError(f"not a date: {text!r}")
    return parsed


def release_dict(release) -> dict[str, Any]:
    """A stored release as JSON-ready data, times in the agency's own zone."""
    zone = ZoneInfo(release.source.timezone or "UTC")

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(zone).isoformat() if value else None

    return {
        "source": release.source.name,
        "native_id": release.native_id,
        "url": release.url,
        "title": release.title,
        "published": iso(release.published_at),
        "modified": iso(release.modified_at),
        "updated": iso(release.updated_at),
        "first_seen": iso(release.first_seen_at),
        "summary": release.summary,
        "body": release.body,
        "image_url": release.image_url,
        "attachments": release.attachments or [],
        "contact_org": release.contact_org,
        "extraction": release.extraction,
        "field_stages": release.field_stages or {},
        "language": release.language,
        "agency": release.agency,
        "agency_country": release.agency_country,
        "is_cooperation": release.is_cooperation,
        "confidence": release.confidence,
        "partners": release.partners or [],
        "topics": release.topics or [],
        "coop_type": release.coop_type,
        "evidence": release.evidence or [],
    }


def cmd_releases(args: argparse.Namespace) -> int:
    from storage import list_releases

    database = _database(args)
    with database.session(readonly=True) as session:
        rows = list_releases(
            session,
            sources=args.source,
            since=_date_arg(args.since),
            until=_date_arg(args.until),
            cooperation_only=args.cooperation,
            limit=args.limit,
        )
        data = [release_dict(row) for row in rows]
    if args.json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
        return 0
    table = Table(title=f"{len(data)} releases")
    for column in ("published", "source", "title", "partners"):
        table.add_column(column, overflow="fold")
    for row in data:
        table.add_row(
            (row["published"] or "")[:10], row["source"], row["title"], " ".join(row["partners"])
        )
    out.print(table)
    return 0


# --- classification ------------------------------------------------------------------------


def cmd_reclassify(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from crawler.classify import classify
    from storage import Release, Source
    from storage.releases import update_classification

    database = _database(args)
    query = select(Release.id).join(Source).order_by(Release.id)
    if args.source:
        query = query.where(Source.name.in_(args.source))
    with database.session(readonly=True) as session:
        ids = list(session.scalars(query))
    changed = 0
    batch = 500  # short transactions: a crawl or the server may be using the database
    with Progress(console=err, disable=not err.is_terminal, transient=True) as progress:
        task = progress.add_task("reclassifying", total=len(ids))
        for start in range(0, len(ids), batch):
            with database.session() as session:
                for release in session.scalars(
                    select(Release).where(Release.id.in_(ids[start : start + batch]))
                ):
                    verdict = classify(
                        release.title, release.body, release.agency_country, release.language
                    )
                    changed += update_classification(release, verdict.to_dict())
            progress.advance(task, min(batch, len(ids) - start))
    out.print(f"Reclassified {len(ids)} releases: {changed} changed labels.")
    return 0


# --- db ------------------------------------------------------------------------------------


def cmd_db(args: argparse.Namespace) -> int:
    from storage.db import make_engine
    from storage.migrate import current_revision, head_revision, upgrade

    url = args.db or project_settings()["DATABASE_URL"]
    engine = make_engine(url)
    try:
        if args.action == "upgrade":
            before = current_revision(engine)
            upgrade(engine)
            after = current_revision(engine)
            verb = "already at" if before == after else f"upgraded from {before or 'empty'} to"
            out.print(f"{_safe_url(engine)}: {verb} {after}")
        else:
            current = current_revision(engine)
            state = "current" if current == head_revision() else f"head is {head_revision()}"
            out.print(f"{_safe_url(engine)}: {current or 'empty'} ({state})")
    finally:
        engine.dispose()
    return 0


def _safe_url(engine) -> str:
    return engine.url.render_as_string(hide_password=True)


# --- status --------------------------------------------------------------------------------


def status_rows(database, names: list[str]) -> list[dict[str, Any]]:
    """Status of each source as plain data (shared by `stnews status` and the web page)."""
    from crawler.scheduler import next_runs
    from storage.status import source_statuses

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    scheduled = next_runs(database)
    with database.session(readonly=True) as session:
        statuses = source_statuses(session, names)
        return [
            {
                "source": s.source,
                "agency": s.agency,
                "health": s.health_status,
                "stale": s.stale,
                "reasons": list(s.health.reasons or []) if s.health else [],
                "health_since": iso(s.health.since) if s.health else None,
                "releases": s.releases,
                "next_run": iso(scheduled.get(s.source)),
                "last_run": None
                if s.last_run is None
                else {
                    "status": s.last_run.status,
                    "trigger": s.last_run.trigger,
                    "started": iso(s.last_run.started_at),
                    "finished": iso(s.last_run.finished_at),
                    "pages": s.last_run.pages,
                    "new": s.last_run.new,
                    "updated": s.last_run.updated,
                    "dropped": dict(s.last_run.dropped or {}),
                    "errors": s.last_run.errors,
                },
            }
            for s in statuses
        ]


def cmd_status(args: argparse.Namespace) -> int:
    from scrapy.spiderloader import SpiderLoader

    settings = project_settings()
    names = args.sources or SpiderLoader.from_settings(settings).list()
    rows = status_rows(_database(args), sorted(names))
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=1, ensure_ascii=False) + "\n")
        return 0
    table = Table(title="Sources")
    for column in (
        "source",
        "health",
        "last run",
        "outcome",
        "next run",
        "new",
        "updated",
        "releases",
        "reasons",
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        run = row["last_run"] or {}
        health = row["health"] + (" (stale)" if row["stale"] else "")
        color = {"healthy": "green", "degraded": "yellow", "broken": "red"}.get(row["health"])
        table.add_row(
            row["source"],
            f"[{color}]{health}[/{color}]" if color else health,
            (run.get("finished") or run.get("started") or "never")[:19],
            run.get("status", "-"),
            (row["next_run"] or "-")[:19],
            str(run.get("new", "-")),
            str(run.get("updated", "-")),
            str(row["releases"]),
            "; ".join(row["reasons"]),
        )
    out.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

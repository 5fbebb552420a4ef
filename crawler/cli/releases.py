"""`stnews releases`, `stnews status` and `stnews db`: read what is stored."""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.markup import escape

from crawler.cli.common import (
    UserError,
    add_json_option,
    add_source_column,
    ago,
    database_url,
    date_bound,
    known_sources,
    new_table,
    open_database,
    out,
    positive_int,
    print_table,
    write_json,
)


def register(commands: argparse._SubParsersAction) -> None:
    releases = commands.add_parser("releases", help="list stored releases")
    releases.add_argument("--source", action="append", default=[], help="repeatable")
    releases.add_argument(
        "--since", type=date_bound, help="published on or after (YYYY, YYYY-MM, YYYY-MM-DD, ISO)"
    )
    releases.add_argument("--until", type=date_bound, help="published before this date")
    releases.add_argument(
        "--cooperation", action="store_true", help="only international cooperation announcements"
    )
    releases.add_argument("--limit", type=positive_int, default=None)
    add_json_option(releases, "a JSON array")
    releases.add_argument(
        "--csv", action="store_true", help="print CSV (a header row, one release a row)"
    )
    releases.set_defaults(handler=cmd_releases)

    status = commands.add_parser("status", help="per source: last run, totals, health")
    status.add_argument("sources", nargs="*", metavar="SOURCE")
    add_json_option(status)
    status.set_defaults(handler=cmd_status)

    db = commands.add_parser("db", help="database schema: upgrade, current revision")
    db_commands = db.add_subparsers(title="db commands", metavar="ACTION", required=True)
    db_commands.add_parser("upgrade", help="migrate the database to the current schema")
    db_commands.add_parser("current", help="print the database's schema revision")
    for name, action in db_commands.choices.items():
        action.set_defaults(handler=cmd_db, action=name)


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

    known_sources(args.source)
    database = open_database(args, look_only=True)
    with database.session(readonly=True) as session:
        rows = list_releases(
            session,
            sources=args.source,
            since=args.since,
            until=args.until,
            cooperation_only=args.cooperation,
            limit=args.limit,
        )
        if args.csv:
            # The columns of the server's /api/releases.csv (crawler.feeds.export).
            import sys

            from crawler.feeds.export import release_record, to_csv

            sys.stdout.write(to_csv(release_record(row) for row in rows))
            return 0
        data = [release_dict(row) for row in rows]
    if args.json:
        write_json(data)
        return 0
    table = new_table(f"{len(data)} releases")
    table.add_column("published", no_wrap=True)
    add_source_column(table)
    table.add_column("title", overflow="fold")  # CJK titles break anywhere
    table.add_column("partners")
    for row in data:
        table.add_row(
            (row["published"] or "")[:10],
            row["source"],
            escape(row["title"] or ""),
            " ".join(row["partners"]),
        )
    print_table(table)
    return 0




def cmd_status(args: argparse.Namespace) -> int:
    from crawler.service.status import status_rows

    names = known_sources(args.sources) if args.sources else known_sources()
    database = open_database(args, look_only=True)
    rows = status_rows(database, sorted(names))
    if args.json:
        write_json(rows)
        return 0
    table = new_table("Sources")
    add_source_column(table)
    for column in ("health", "last run", "outcome", "next run"):
        table.add_column(column)
    for column in ("new", "upd", "stored"):
        table.add_column(column, justify="right")
    for row in rows:
        run = row["last_run"] or {}
        health = row["health"] + (" (stale)" if row["stale"] else "")
        color = {"healthy": "green", "degraded": "yellow", "broken": "red"}.get(row["health"])
        table.add_row(
            row["source"],
            f"[{color}]{health}[/{color}]" if color else health,
            ago(run.get("finished") or run.get("started"), "never"),
            run.get("status", "-"),
            ago(row["next_run"]),
            str(run.get("new", "-")),
            str(run.get("updated", "-")),
            str(row["releases"]),
        )
    print_table(table)
    # Reasons are sentences: under the table, where they wrap at the terminal's width.
    for row in rows:
        for reason in row["reasons"]:
            out.print(f"{row['source']}: {escape(reason)}", highlight=False)
    _print_notify_problems(database)
    return 0


def _print_notify_problems(database) -> None:
    """Alerts that failed (retrying, or given up): under the sources, for the operator."""
    from storage.notify import notify_problems

    with database.session(readonly=True) as session:
        problems = notify_problems(session)
    for line in problems:
        out.print(f"[red]notify:[/red] {line}")




def cmd_db(args: argparse.Namespace) -> int:
    from storage.migrate import current_revision, head_revision, upgrade

    # Not migrated on opening: `db current` reports the schema as it is, and creates nothing.
    url = database_url(args)
    if args.action == "current" and (missing := _missing_sqlite_file(url)):
        from crawler.database import creates_directory

        if not missing.parent.is_dir() and not creates_directory(url):
            raise UserError(f"no such directory for the SQLite database: {missing.parent}")
        out.print(f"{missing}: empty (no file yet; `stnews db upgrade` creates it)")
        return 0
    engine = open_database(args, migrate=False).engine
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


def _missing_sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names, when it does not exist (connecting would create it)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None  # open_database reports it
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def _safe_url(engine) -> str:
    return engine.url.render_as_string(hide_password=True)



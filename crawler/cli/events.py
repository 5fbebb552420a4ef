"""`stnews cluster`, `stnews events` and `stnews ledger`: events from the command line.

- ``cluster``: JSON lines on stdin → ``{"id", "event"}`` per line (no database).
- ``events rebuild``: relink every stored cooperation release, keeping event ids.
- ``events link``: link releases not yet in an event (what every crawl does at its end).
- ``ledger [--partner FR] [--json|--csv]``: the chained history of the stored events.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys

from crawler.cli.common import new_table, open_database, out, print_table


def register(commands: argparse._SubParsersAction) -> None:
    cluster = commands.add_parser(
        "cluster",
        help="link JSON lines from stdin into events (id, title, body, language, agency, "
        "agency_country, published)",
    )
    cluster.set_defaults(handler=cmd_cluster)

    events = commands.add_parser("events", help="events: rebuild or link stored releases")
    actions = events.add_subparsers(title="events commands", metavar="ACTION", required=True)
    rebuild = actions.add_parser("rebuild", help="relink every cooperation release (ids kept)")
    rebuild.add_argument("--json", action="store_true", help="print the counts as JSON")
    rebuild.set_defaults(handler=cmd_events_rebuild)
    link = actions.add_parser("link", help="link cooperation releases not yet in an event")
    link.set_defaults(handler=cmd_events_link)

    ledger = commands.add_parser("ledger", help="the cooperation ledger: events chained in time")
    ledger.add_argument("--partner", metavar="CODE", help="only pairs including this code (FR)")
    fmt = ledger.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print JSON")
    fmt.add_argument("--csv", action="store_true", help="print CSV, one row per step")
    ledger.set_defaults(handler=cmd_ledger)


def cmd_cluster(args: argparse.Namespace) -> int:
    from crawler.events.jsonl import cluster_lines

    # Every line must be read before any event is known (a later line may link two earlier
    # ones), so output follows the whole input, in input order.
    for line in cluster_lines(sys.stdin):
        sys.stdout.write(line + "\n")
    sys.stdout.flush()
    return 0


def cmd_events_rebuild(args: argparse.Namespace) -> int:
    from crawler.service.linking import rebuild_all

    database = open_database(args)
    try:
        counts = rebuild_all(database)
    finally:
        database.dispose()
    if args.json:
        sys.stdout.write(json.dumps(counts) + "\n")
    else:
        out.print(
            f"Rebuilt {counts['events']} events from {counts['releases']} releases in "
            f"{counts['seconds']} s: {counts['changed']} new or changed, "
            f"{counts['retired']} ids retired."
        )
    return 0


def cmd_events_link(args: argparse.Namespace) -> int:
    from crawler.service.linking import link_new

    database = open_database(args)
    try:
        report = link_new(database)
    finally:
        database.dispose()
    out.print(report.summary().capitalize() + ".")
    return 0


def cmd_ledger(args: argparse.Namespace) -> int:
    from crawler.events import ledger
    from storage.events import list_events

    database = open_database(args, look_only=True)
    try:
        with database.session(readonly=True) as session:
            events = list_events(session, partner=args.partner, order="occurred")
    finally:
        database.dispose()
    chains = ledger.build(events, partner=args.partner)
    if args.json:
        sys.stdout.write(json.dumps([c.as_dict() for c in chains], ensure_ascii=False, indent=1))
        sys.stdout.write("\n")
        return 0
    if args.csv:
        rows = ledger.rows(chains)
        fields = ["parties", "track", "step", "date", "type", "instrument", "ordinal", "event",
                  "publishers", "links"]  # fmt: skip
        writer = csv.DictWriter(sys.stdout, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return 0
    if not chains:
        out.print("No events" + (f" with {args.partner.upper()}." if args.partner else "."))
        return 0
    for chain in chains:
        table = new_table(f"{'-'.join(chain.parties)} · {chain.track}")
        for column in ("date", "type", "no.", "publishers"):
            table.add_column(column)
        table.add_column("first release", overflow="fold")  # a URL: it may break anywhere
        for step in chain.steps:
            table.add_row(
                step.date.isoformat() if step.date else "?",
                (step.instrument or step.kind or "").replace("-", " "),
                str(step.ordinal or ""),
                ", ".join(step.publishers),
                step.links[0]["url"] if step.links else "",
            )
        print_table(table)
    return 0

"""`stnews subscribe`, `stnews subscriptions`, `stnews unsubscribe`, `stnews notify`: alerts and
digests through Apprise (crawler.notify)."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta

from rich.markup import escape

from crawler.cli.common import (
    UserError,
    add_json_option,
    err,
    known_sources,
    new_table,
    open_database,
    out,
    positive_int,
    print_table,
    write_json,
)

_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")


def register(commands: argparse._SubParsersAction) -> None:
    subscribe = commands.add_parser(
        "subscribe",
        help="alert an Apprise URL (mailto://, json://, slack://, ...) of new cooperation releases",
        description="Store a subscription: new cooperation releases matching the filters go to "
        "URL (any Apprise URL), as one alert per `stnews notify` run, or as a daily or weekly "
        "digest. Each filter may be repeated; a release matches when it has any of the values.",
    )
    subscribe.add_argument("url", metavar="URL", help="Apprise URL, e.g. mailto://user:pass@host")
    for name, what in (
        ("partner", "partner code, e.g. FR, JP, EU"),
        ("topic", "topic, e.g. ai, quantum"),
        ("type", "cooperation type, e.g. agreement, joint-committee"),
        ("source", "source name, e.g. nstc"),
        ("language", "language tag, e.g. ko, zh, zh-Hant"),
    ):
        subscribe.add_argument(
            f"--{name}", action="append", default=[], help=f"{what} (repeatable)"
        )
    subscribe.add_argument(
        "--digest", choices=("daily", "weekly"), help="one digest per day or week instead of alerts"
    )
    subscribe.add_argument(
        "--timezone", default="UTC", help="where digest days begin (default: %(default)s)"
    )
    subscribe.set_defaults(handler=cmd_subscribe)

    listing = commands.add_parser("subscriptions", help="list subscriptions and their deliveries")
    add_json_option(listing)
    listing.set_defaults(handler=cmd_subscriptions)

    unsubscribe = commands.add_parser("unsubscribe", help="remove a subscription")
    unsubscribe.add_argument("id", type=positive_int, metavar="ID")
    unsubscribe.set_defaults(handler=cmd_unsubscribe)

    notify = commands.add_parser(
        "notify", help="send pending alerts, due digests and retries (the scheduler runs it too)"
    )
    notify.add_argument(
        "--max-age",
        type=positive_int,
        default=30,
        metavar="DAYS",
        help="only releases published this many days ago or less are news (default: %(default)s)",
    )
    add_json_option(notify)
    notify.set_defaults(handler=cmd_notify)


def _filters(args: argparse.Namespace) -> dict[str, list[str]]:
    from crawler.classify import COOP_TYPES, TOPICS, organisation_names

    partners = []
    for raw in args.partner:
        code = raw.strip().upper()
        if not _known_partner(code, organisation_names()):
            raise UserError(
                f"unknown partner {raw!r}: an ISO country code (FR, JP) or one of "
                f"{', '.join(sorted(organisation_names()))}"
            )
        partners.append(code)
    topics = [t.strip().lower() for t in args.topic]
    for topic in topics:
        if topic not in TOPICS:
            raise UserError(f"unknown topic {topic!r}; known: {', '.join(TOPICS)}")
    types = [t.strip().lower() for t in args.type]
    for kind in types:
        if kind not in COOP_TYPES:
            raise UserError(f"unknown type {kind!r}; known: {', '.join(COOP_TYPES)}")
    sources = known_sources(args.source) if args.source else []
    for language in args.language:
        if not _LANGUAGE.fullmatch(language):
            raise UserError(f"not a language tag: {language!r} (e.g. ko, zh, zh-Hant)")
    return {
        "partners": sorted(set(partners)),
        "topics": sorted(set(topics)),
        "coop_types": sorted(set(types)),
        "sources": sorted(set(sources)),
        "languages": sorted(set(args.language)),
    }


def _known_partner(code: str, organisations: dict) -> bool:
    import pycountry

    if code in organisations:
        return True
    return len(code) == 2 and code.isalpha() and pycountry.countries.get(alpha_2=code) is not None


def cmd_subscribe(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from crawler.notify.send import check_url, redacted
    from storage.notify import add_subscription

    problem = check_url(args.url)
    if problem:
        # The URL is not echoed: it may hold a password.
        raise UserError(f"cannot use the URL given: {problem}")
    try:
        ZoneInfo(args.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserError(f"unknown time zone {args.timezone!r} (e.g. UTC, Europe/Paris)") from None
    filters = _filters(args)
    database = open_database(args)
    with database.session() as session:
        row = add_subscription(
            session, args.url, digest=args.digest, timezone=args.timezone, **filters
        )
        subscription_id = row.id
    what = f"a {args.digest} digest" if args.digest else "alerts"
    out.print(f"Subscription {subscription_id}: {what} to {redacted(args.url)}")
    return 0


def cmd_subscriptions(args: argparse.Namespace) -> int:
    from crawler.notify.run import describe
    from crawler.notify.send import redacted
    from storage.notify import delivery_counts, last_errors, list_subscriptions

    database = open_database(args, look_only=True)
    with database.session(readonly=True) as session:
        rows = list_subscriptions(session)
        counts = delivery_counts(session)
        errors = last_errors(session)
        data = [
            {
                "id": row.id,
                "url": redacted(row.url),
                "digest": row.digest,
                "timezone": row.timezone,
                "partners": row.partners,
                "topics": row.topics,
                "types": row.coop_types,
                "sources": row.sources,
                "languages": row.languages,
                "created": row.created_at.isoformat(),
                "deliveries": counts.get(row.id, {}),
                "last_error": errors.get(row.id),
                "describe": describe(row),
            }
            for row in rows
        ]
    if args.json:
        write_json([{k: v for k, v in row.items() if k != "describe"} for row in data])
        return 0
    if not data:
        out.print("No subscriptions. Add one with `stnews subscribe URL`.")
        return 0
    table = new_table(f"{len(data)} subscription{'s' if len(data) != 1 else ''}")
    table.add_column("id", justify="right")
    table.add_column("to", overflow="fold")  # a URL: it may break anywhere
    table.add_column("what")
    for column in ("sent", "pending", "failed"):
        table.add_column(column, justify="right")
    table.add_column("last error", overflow="fold")
    for row in data:
        counts_ = row["deliveries"]
        table.add_row(
            str(row["id"]),
            row["url"],
            row["describe"].split("; ", 1)[1] if "; " in row["describe"] else "all cooperation",
            str(counts_.get("sent", 0)),
            str(counts_.get("pending", 0)),
            str(counts_.get("failed", 0)),
            escape(row["last_error"] or ""),
        )
    print_table(table)
    return 0


def cmd_unsubscribe(args: argparse.Namespace) -> int:
    from storage.notify import remove_subscription

    database = open_database(args)
    with database.session() as session:
        removed = remove_subscription(session, args.id)
    if not removed:
        raise UserError(f"no subscription {args.id} (see `stnews subscriptions`)")
    out.print(f"Subscription {args.id} removed.")
    return 0


def cmd_notify(args: argparse.Namespace) -> int:
    from crawler.notify import notify

    database = open_database(args)
    report = notify(database, max_age=timedelta(days=args.max_age))
    if args.json:
        write_json(
            {
                "sent": report.sent,
                "releases": report.items,
                "failed": report.failed,
                "gave_up": report.gave_up,
                "empty_digests": report.empty,
                "errors": report.errors,
            }
        )
    else:
        out.print(report.summary())
        for line in report.errors:
            err.print(f"failed: {line}")
    return 1 if report.failed else 0

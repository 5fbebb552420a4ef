"""`stnews feed`: write every feed file and print what changed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from crawler.cli.common import open_database, positive_int, project_settings
from crawler.config import default, setting
from crawler.feeds.defaults import DEFAULT_OUT_DIR


def register(commands: argparse._SubParsersAction) -> None:
    feed = commands.add_parser("feed", help="write RSS, Atom and JSON feeds and an OPML list")
    feed.add_argument(
        "--out", metavar="DIR", default=str(DEFAULT_OUT_DIR), help="default: %(default)s"
    )
    feed.add_argument(
        "--limit",
        type=positive_int,
        help=f"entries per feed (default: STNEWS_FEED_LIMIT, {default('STNEWS_FEED_LIMIT')})",
    )
    feed.add_argument(
        "--base-url",
        metavar="URL",
        help="where the files are served (default: STNEWS_FEED_BASE_URL / $STNEWS_FEED_BASE_URL)",
    )
    feed.add_argument(
        "--hub",
        metavar="URL",
        help="WebSub hub the feeds declare and that changed feeds are announced to "
        "(default: STNEWS_WEBSUB_HUB / $STNEWS_WEBSUB_HUB; none)",
    )
    feed.set_defaults(handler=cmd_feed)


def cmd_feed(args: argparse.Namespace) -> int:
    from crawler.feeds.write import write_feeds  # SQLAlchemy, feedgen: only when it runs

    settings = project_settings()
    base_url = args.base_url or setting(settings, "STNEWS_FEED_BASE_URL")
    limit = args.limit or setting(settings, "STNEWS_FEED_LIMIT")
    database = open_database(args)
    try:
        report = write_feeds(
            database,
            Path(args.out),
            base_url=base_url,
            limit=limit,
            hub_url=args.hub or setting(settings, "STNEWS_WEBSUB_HUB") or None,
        )
    finally:
        database.dispose()
    for file in report.files:
        entries = ""
        if file.entries is not None:
            entries = f"  ({file.entries} {'entry' if file.entries == 1 else 'entries'})"
        sys.stdout.write(f"{file.status:<9}  {file.path}{entries}\n")
    sys.stdout.write(report.summary() + "\n")
    return 0

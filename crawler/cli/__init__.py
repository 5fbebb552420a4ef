"""The `stnews` command line: one module per command group, registered in COMMANDS.

Adding a command: write `crawler/cli/<group>.py` with `register(commands)` (argparse
sub-parsers, each with `handler=`), then name its commands below. A run imports only the
module of the command it runs, so `stnews classify` starts without Scrapy or SQLAlchemy.

Exit status: 0 success; 1 the command ran and found a problem (a failed crawl, a broken source,
a check that did not pass); 2 a usage or setup error (bad argument, unknown source, unusable
database), reported as one line on stderr; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from crawler.cli.common import UserError, fail
from crawler.config import default

#: Command name -> the module (under crawler/cli/) that registers it, in `--help` order.
COMMANDS: dict[str, str] = {
    "crawl": "crawl",
    "record": "crawl",
    "releases": "releases",
    "status": "releases",
    "db": "releases",
    "classify": "classify",
    "reclassify": "classify",
    "feed": "feeds",
    "serve": "serve",
    "schedule": "schedule",
    "worker": "workers",
    "enqueue": "workers",
    "sources": "sources",
    "check": "sources",
    "extract": "pages",
    "expected": "pages",
    "doctor": "pages",
    "reparse": "reparse",
    "cluster": "events",
    "events": "events",
    "ledger": "events",
    "subscribe": "alerts",
    "subscriptions": "alerts",
    "unsubscribe": "alerts",
    "notify": "alerts",
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser, or (``only``) one with just the named command's group registered."""
    parser = argparse.ArgumentParser(
        prog="stnews",
        description="Monitor government S&T cooperation news.",
        epilog="Exit status: 0 ok, 1 the command found a problem, 2 usage or setup error.",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        help="SQLAlchemy database URL (default: $DATABASE_URL or "
        f"{default('EMBEDDED_DATABASE_URL')})",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    groups = [COMMANDS[only]] if only in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for group in groups:
        importlib.import_module(f"crawler.cli.{group}").register(commands)
    return parser


def _command_of(argv: Sequence[str]) -> str | None:
    """The command word in ``argv``: the first word not an option or the --db value."""
    words = iter(argv)
    for word in words:
        if word == "--db":
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_of(argv)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return args.handler(args)
    except UserError as exc:
        return fail(str(exc))
    except (KeyError, FileNotFoundError, ValueError) as exc:
        # Raised by the libraries for what the user typed (an unknown spider, a missing file,
        # a malformed value): still one line, not a traceback.
        return fail(str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc))
    except KeyboardInterrupt:
        return fail("interrupted") + 128


def run() -> None:
    """The console script."""
    sys.exit(main())

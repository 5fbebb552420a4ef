"""What every `stnews` command shares: the consoles, the one user-error type, the database URL,
and the argument types. Imports stay light: `stnews classify` loads this and nothing heavier."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console

if TYPE_CHECKING:
    from scrapy.settings import Settings

#: Messages, warnings and progress go to stderr, so stdout stays clean for pipes and --json.
err = Console(stderr=True, highlight=False)
#: Tables and reports. Piped output gets a table wide enough for every column.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


class UserError(Exception):
    """A problem the user can fix (a bad argument, an unknown source, an unreachable database):
    `stnews` prints the message as one line and exits with status 2."""


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    from crawler.project import project_settings as load

    return load(overrides)


def database_url(args: argparse.Namespace | None = None) -> str:
    """The database every command uses: `--db`, else the DATABASE_URL setting (and the
    environment variable it reads)."""
    url = getattr(args, "db", None)
    return url or project_settings()["DATABASE_URL"]


def open_database(url: str | argparse.Namespace | None = None, migrate: bool = True):
    """The user's database (a URL, or the command's arguments), checked before use: a bad URL,
    a missing driver or an unreachable server is a UserError, not a traceback."""
    from storage.db import DatabaseUnusable, open_checked

    if not isinstance(url, str):
        url = database_url(url)
    try:
        return open_checked(url, migrate=migrate)
    except DatabaseUnusable as exc:
        raise UserError(str(exc)) from None


def known_sources(names: list[str] | None = None) -> list[str]:
    """Every source's name, or ``names`` once each is known; an unknown name is a UserError
    that lists the known ones."""
    from scrapy.spiderloader import get_spider_loader

    known = sorted(get_spider_loader(project_settings()).list())
    unknown = [name for name in names or () if name not in known]
    if unknown:
        raise UserError(
            f"unknown source{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} "
            f"(known: {', '.join(known)})"
        )
    return list(names) if names else known


# --- Options shared by several commands ------------------------------------------------------


def add_scrapy_options(parser: argparse.ArgumentParser, spider_args: bool = True) -> None:
    """`-a NAME=VALUE` (spider arguments) and `-s NAME=VALUE` (settings), as `scrapy crawl`."""
    if spider_args:
        parser.add_argument(
            "-a",
            dest="spider_args",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="spider argument, as with `scrapy crawl -a`",
        )
    parser.add_argument(
        "-s",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="Scrapy setting, as with `scrapy crawl -s`",
    )


def add_json_option(parser: argparse.ArgumentParser, what: str = "JSON") -> None:
    parser.add_argument("--json", action="store_true", help=f"print {what} for scripts")


def name_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise UserError(f"expected NAME=VALUE, got {text!r}")
    return name, value


# --- argparse types: a bad value is reported as `argument --x: must be more than 0, got -1` ---


def _number(text: str, kind: type[int] | type[float], what: str) -> float:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None


def positive_int(text: str) -> int:
    value = int(_number(text, int, "a whole number"))
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_seconds(text: str) -> float:
    value = _number(text, float, "a number of seconds")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value


def seconds_or_zero(text: str) -> float:
    value = _number(text, float, "a number of seconds")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


_YEAR = re.compile(r"\d{4}")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
DATE_FORMS = "YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 time"


def date_bound(text: str) -> datetime:
    """`--since` / `--until`: a year, a month, a day or an ISO 8601 time; a bare date means its
    first moment in UTC. Anything else is refused rather than guessed (a free-form parser reads
    `2024` as this day of 2024 and `2024-13-01` as 13 January)."""
    value = text.strip()
    try:
        if _YEAR.fullmatch(value):
            parsed = datetime(int(value), 1, 1)
        elif match := _MONTH.fullmatch(value):
            parsed = datetime(int(match[1]), int(match[2]), 1)
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date ({DATE_FORMS}): {text!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def fail(message: str) -> int:
    """Print one error line; the exit status for a user error."""
    from rich.markup import escape

    err.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return 2


def write_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")

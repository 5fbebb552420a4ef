"""What every `stnews` command shares: the consoles, the one user-error type, the database URL,
and the argument types. Imports stay light: `stnews classify` loads this and nothing heavier."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from scrapy.settings import Settings

    #: Messages, warnings and progress go to stderr, so stdout stays clean for pipes and --json.
    err: Console
    #: Tables and reports, as wide as the terminal (or $COLUMNS; 80 when piped). Tables are
    #: laid out to fit 80 columns; `--json` is the form for scripts. Piped, a line of text is
    #: not broken (soft wrap) so that grep finds it whole; tables and legends still wrap.
    out: Console


def __getattr__(name: str) -> Console:
    """``err`` and ``out`` (see above), made on first use: Rich takes about 50 ms to import,
    a tenth of what `stnews classify` needs for a few hundred lines, and it prints nothing."""
    if name not in ("err", "out"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from rich.console import Console

    if name == "err":
        console = Console(stderr=True, highlight=False)
    else:
        console = Console(highlight=False, soft_wrap=not sys.stdout.isatty())
    globals()[name] = console
    return console


def _console(name: str) -> Console:
    # Inside this module a bare ``out`` would not go through the module's ``__getattr__``.
    return globals().get(name) or __getattr__(name)


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


def open_database(
    url: str | argparse.Namespace | None = None, migrate: bool = True, look_only: bool = False
):
    """The user's database (a URL, or the command's arguments), checked before use: a bad URL,
    a missing driver or an unreachable server is a UserError, not a traceback.

    ``look_only``: for commands that only read. The database must exist at the current
    schema; nothing is created or migrated (the error says how to create or upgrade it)."""
    from crawler.database import creates_directory
    from storage.db import DatabaseUnusable, open_checked

    if not isinstance(url, str):
        url = database_url(url)
    try:
        return open_checked(
            url, migrate=migrate, existing=look_only, create_directory=creates_directory(url)
        )
    except DatabaseUnusable as exc:
        raise UserError(str(exc)) from None


def check_crawl_settings(settings: Settings) -> Settings:
    """Settings a crawl can start with. A bad TLS_CA_BUNDLE would otherwise surface inside
    Twisted as a traceback and a crawl that never started: here it is one error line."""
    from crawler.tls import TLSConfigurationError, trust_root

    try:
        trust_root(settings)
    except TLSConfigurationError as exc:
        raise UserError(str(exc)) from None
    return settings


def known_sources(names: list[str] | None = None, settings: Settings | None = None) -> list[str]:
    """Every source's name, or ``names`` once each is known; an unknown name is a UserError
    that lists the known ones. ``settings`` are the command's own when it takes `-s` (its
    SPIDER_MODULES may name other spiders)."""
    from scrapy.spiderloader import get_spider_loader

    known = sorted(get_spider_loader(settings or project_settings()).list())
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


# --- Tables that fit a terminal --------------------------------------------------------------


def new_table(title: str | None = None, caption: str | None = None, gap: int = 2) -> Table:
    """A table for an 80-column terminal: a rule under the header, no frame, ``gap`` spaces
    between columns (a frame and cell padding cost 3 columns a column)."""
    from rich import box
    from rich.table import Table

    return Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 0, 0, gap - 1),  # the box adds one space between columns
        title_justify="left",
        caption_justify="left",
        title_style="bold",
        caption_style="dim",
    )


def add_source_column(table: Table, header: str = "source") -> None:
    """The column of source names: never wrapped, never cut (`print_table` widens the table
    rather than shorten a name)."""
    table.add_column(header, no_wrap=True)


#: What a folding column (URLs, CJK text: words that may break anywhere) needs at least.
FOLD_MINIMUM = 16


def print_table(table: Table) -> None:
    """Print a `new_table` at the console's width, or wider when its columns cannot fit in it.

    Hand-written layout: when a table is too wide, Rich narrows its widest columns whatever
    their longest word, so a column of words may wrap letter by letter, or a name end in "…",
    while another column has room to spare. Here a column narrows (by wrapping) only down
    to its longest word; a folding column (`overflow="fold"`) to ``FOLD_MINIMUM``. When even
    that does not fit, the table is printed wider and the terminal wraps its lines."""
    from rich.console import Console
    from rich.measure import Measurement

    out = _console("out")
    options = out.options.update_width(10_000)
    shortest, longest = [], []
    for column in table.columns:
        sizes = [Measurement.get(out, options, cell) for cell in [column.header, *column.cells]]
        low, high = max(m.minimum for m in sizes), max(m.maximum for m in sizes)
        if column.no_wrap:
            low = high
        elif column.overflow == "fold":
            low = min(low, max(FOLD_MINIMUM, Measurement.get(out, options, column.header).maximum))
        shortest.append(low)
        longest.append(high)
    gaps = (len(table.columns) - 1) * (table.padding[3] + 1)  # left padding + the box's space
    widths = list(longest)
    excess = sum(widths) + gaps - out.width
    while excess > 0:
        narrowable = [i for i, width in enumerate(widths) if width > shortest[i]]
        if not narrowable:
            break
        widest = max(narrowable, key=lambda i: widths[i] - shortest[i] / 2)
        widths[widest] -= 1
        excess -= 1
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    if sum(widths) + gaps <= out.width:
        out.print(table, soft_wrap=False)
        return
    wider = Console(  # out.print(width=...) cannot go over the console's width
        file=out.file,
        width=sum(widths) + gaps,
        highlight=False,
        color_system=out.color_system,  # type: ignore[arg-type]
        force_terminal=out.is_terminal,
        no_color=out.no_color,
    )
    wider.print(table, soft_wrap=False)


def print_legend(text: str) -> None:
    """The dim note under a table, wrapped at words like the table."""
    _console("out").print(text, style="dim", soft_wrap=False)


def ago(iso: str | None, missing: str = "-", now: datetime | None = None) -> str:
    """An ISO time as its distance from now: `5 min ago`, `in 2 h` (--json has the time)."""
    if not iso:
        return missing
    seconds = ((now or datetime.now(UTC)) - datetime.fromisoformat(iso)).total_seconds()
    size = abs(seconds)
    unit, length = next(
        (unit, length)
        for unit, length, limit in (
            ("s", 1, 120),
            ("min", 60, 7200),
            ("h", 3600, 172800),
            ("d", 86400, None),
        )
        if limit is None or size < limit
    )
    amount = f"{round(size / length)} {unit}"
    return f"{amount} ago" if seconds >= 0 else f"in {amount}"


def fail(message: str) -> int:
    """Print one error line; the exit status for a user error."""
    from rich.markup import escape

    _console("err").print(f"[red]error:[/red] {escape(message)}", soft_wrap=True)
    return 2


def write_json(data: Any) -> None:
    import json

    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")

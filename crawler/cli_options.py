"""Command-line options and argument types shared by the `stnews` commands."""

import argparse


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


def name_value(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    return name, value


# argparse types: a bad value is reported as `argument --x: must be more than 0, got -1`.


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

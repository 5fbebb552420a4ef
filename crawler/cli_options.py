"""Command-line options shared by the commands that run Scrapy (crawl, record, worker)."""

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

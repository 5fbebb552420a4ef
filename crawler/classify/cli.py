"""The ``stnews classify`` command: a filter in pipelines, so it imports only the classifier.

``crawler.entry`` sends ``stnews classify ...`` here without importing the rest of the
command line (Scrapy, SQLAlchemy, the server), which costs over a second; ``crawler.cli``
registers the same arguments so that ``stnews --help`` lists the command.
"""

from __future__ import annotations

import argparse
import sys

HELP = "classify JSON lines from stdin (title, body, agency_country, language)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--explain",
        action="store_true",
        help="explain one release (the first JSON line on stdin, or --title/--body): "
        "which signals fired and why the kind was chosen",
    )
    parser.add_argument("--json", action="store_true", help="with --explain: print JSON")
    parser.add_argument("--title", help="with --explain: the release title")
    parser.add_argument("--body", default="", help="with --explain: the release body")
    parser.add_argument("--country", default="", help="with --explain: the publisher's country")
    parser.add_argument("--language", default="", help="with --explain: the release language")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.explain:
        from .explain import explain_command

        return explain_command(args, sys.stdin, sys.stdout)
    from .jsonl import classify_lines
    from .tables import save

    # One output line per input line, flushed as it goes so a pipe sees results at once.
    for number, line in enumerate(classify_lines(sys.stdin)):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        if number == 0:
            save()  # the tables are built now: cache them for the next run
    save()
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="stnews classify", description=HELP)
    add_arguments(parser)
    args = parser.parse_args(argv)
    return args.handler(args)

"""`stnews` commands called in this process, as `crawler.cli.main(argv)`.

For commands that run no crawl in this process (listing, checking arguments, reading the
database, `check`, whose crawl is its own child): they need no fresh interpreter, and a
test reads like the code it tests. Crawls still run in children (tests/crawl_support.py):
Twisted's reactor cannot restart in one process."""

from __future__ import annotations

import io
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout

from crawler.cli import main


def call(*argv: str, input: str = "") -> subprocess.CompletedProcess[str]:
    """Run `stnews argv` with ``input`` on its stdin; its exit status and output, as
    `subprocess.run` would give them."""
    stdout, stderr = io.StringIO(), io.StringIO()
    stdin, sys.stdin = sys.stdin, io.StringIO(input)
    try:
        with redirect_stdout(stdout), redirect_stderr(stderr):
            status = main(list(argv))
    except SystemExit as exited:  # argparse's own errors and --help
        status = exited.code if isinstance(exited.code, int) else 2
    finally:
        sys.stdin = stdin
    return subprocess.CompletedProcess(
        ["stnews", *argv], status, stdout.getvalue(), stderr.getvalue()
    )


def run_in_process(
    *args: str, db: str, check: bool = True, input: str = ""
) -> subprocess.CompletedProcess[str]:
    """`stnews --db DB args` in this process: tests/crawl_support.run_cli's twin for commands
    that crawl nothing."""
    result = call("--db", db, *args, input=input)
    if check and result.returncode != 0:
        raise AssertionError(f"stnews {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result

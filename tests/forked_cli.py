"""`stnews` commands in forked children of one pre-loaded interpreter.

Each command still runs in a process of its own, as a user runs it: Twisted's reactor
cannot be restarted in one process, and a command must not share state with the test.
But a fresh ``python -m crawler.cli`` spends well over a second importing Scrapy,
SQLAlchemy, Alembic, dateparser and the rest before it does anything, and the suite runs
hundreds of commands. multiprocessing's forkserver imports all that once per test worker
and forks each command from there in milliseconds.

This module imports only the standard library: the forkserver imports it to find ``_child``.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

# What `python -m crawler.cli` imports anyway, and what its commands import on first use.
# Nothing here may read the environment at import time or install a Twisted reactor: each
# command sets its own environment after the fork.
PRELOAD = [
    "tests.forked_cli",
    "crawler.cli",
    "crawler.cli.crawl",
    "crawler.service.runner",
    "crawler.extensions",
    "crawler.replay",
    "storage.migrate",
    "alembic.command",
    "scrapy.crawler",
    "scrapy.core.engine",
    "scrapy.core.downloader.handlers.http11",
    "trafilatura",
    "htmldate",
    "feedparser",
]
# Modules that read the environment at import time: imported afresh by each command.
ENVIRONMENT_MODULES = ("crawler.settings",)

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path | str,
    timeout: float,
    input: str = "",
    offline_but: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``stnews argv`` as ``subprocess.run(..., capture_output=True, text=True)`` would.

    ``input`` is the command's standard input. With ``offline_but`` (a host name, may be
    empty), every Python-level connection and every name lookup but that host's fails.
    """
    with tempfile.TemporaryDirectory(prefix="stnews-cli-") as folder:
        files = {name: Path(folder, name) for name in ("stdin", "stdout", "stderr")}
        files["stdin"].write_text(input, encoding="utf-8")
        for name in ("stdout", "stderr"):
            files[name].touch()
        paths = {name: str(path) for name, path in files.items()}
        child = _context.Process(
            target=_child, args=(list(argv), dict(env), str(cwd), paths, offline_but)
        )
        child.start()
        child.join(timeout)
        if child.is_alive():
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired(["stnews", *argv], timeout)
        return subprocess.CompletedProcess(
            ["stnews", *argv],
            child.exitcode if child.exitcode is not None else -1,
            files["stdout"].read_text(encoding="utf-8", errors="replace"),
            files["stderr"].read_text(encoding="utf-8", errors="replace"),
        )


def _refuse_network_but(host: str) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"network access attempted: {args!r}")

    lookup = socket.getaddrinfo

    def guarded_lookup(name: str, *args: object, **kwargs: object) -> object:
        if name != host:
            refuse(name, *args)
        return lookup(name, *args, **kwargs)  # type: ignore[arg-type]

    socket.socket.connect = socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = guarded_lookup  # type: ignore[assignment]


def _child(
    argv: list[str], env: dict[str, str], cwd: str, paths: dict[str, str], offline_but: str | None
) -> None:
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    for fd, name, mode in (
        (0, "stdin", os.O_RDONLY),
        (1, "stdout", os.O_WRONLY),
        (2, "stderr", os.O_WRONLY),
    ):
        file = os.open(paths[name], mode)
        os.dup2(file, fd)
        os.close(file)
    if offline_but is not None:
        _refuse_network_but(offline_but)
    sys.stdin = io.TextIOWrapper(os.fdopen(0, "rb", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(os.fdopen(1, "wb", closefd=False), encoding="utf-8")
    sys.stderr = io.TextIOWrapper(
        os.fdopen(2, "wb", closefd=False), encoding="utf-8", line_buffering=True
    )
    sys.argv = ["stnews", *argv]
    for name in ENVIRONMENT_MODULES:
        sys.modules.pop(name, None)
    code: int | str | None
    try:
        from crawler.cli import main

        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    except BaseException:
        traceback.print_exc()
        code = 1
    if isinstance(code, str):
        print(code, file=sys.stderr)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # No interpreter shutdown: the forkserver's atexit hooks and finalizers are not ours.
    os._exit(code or 0)

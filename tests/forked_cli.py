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

import contextlib
import io
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

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
    # What a crawl loads on top (about half a second of CPU per forked crawl). Not
    # spiders.registry: it reads the sources file, which a command may choose by STNEWS_SOURCES.
    "crawler.pages",
    "crawler.middlewares",
    "crawler.pipelines",
    "crawler.service.linking",
    "storage.writer",
    "spiders.configured",
    "spiders.feed_source",
    "tldextract",
    "scrapy.downloadermiddlewares.cookies",
    "scrapy.downloadermiddlewares.robotstxt",
    "scrapy.extensions.telnet",
    "scrapy.pqueues",
    # The worker and the scheduler.
    "crawler.distributed",
    "crawler.cli.workers",
    "crawler.cli.schedule",
    "crawler.service.scheduled_run",
]
# Modules that read the environment at import time: imported afresh by each command.
ENVIRONMENT_MODULES = ("crawler.settings",)

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


class Forked:
    """A ``stnews`` command running in a forked child: the part of ``subprocess.Popen`` the
    tests use (``pid``, ``poll``, ``wait``, ``send_signal``, ``kill``, ``communicate``).

    The child is a real process of its own, so signals, kills and ``/proc`` behave as they
    do for ``python -m crawler.cli``; only the interpreter start-up (about 2.5 s of CPU) is
    skipped. Its output goes to files: ``stdout``/``stderr`` name files to write (the
    scheduler tests' logs; ``stderr=STDOUT`` joins them), else ``communicate`` returns it.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | str,
        stdout: Path | None = None,
        stderr: Path | int | None = None,
        text: bool = True,
    ) -> None:
        self.args = ["stnews", *argv]
        self.text = text
        self._folder = tempfile.TemporaryDirectory(prefix="stnews-cli-")
        folder = Path(self._folder.name)
        stdin = folder / "stdin"
        stdin.touch()
        self._stdout = stdout or folder / "stdout"
        self._stderr = self._stdout if stderr == subprocess.STDOUT else stderr or folder / "stderr"
        self._captured = (stdout is None, stderr is None)
        for path in {self._stdout, self._stderr}:
            Path(path).write_bytes(b"")
        self._status = folder / "status"
        paths = {
            "stdin": str(stdin),
            "stdout": str(self._stdout),
            "stderr": str(self._stderr),
            "status": str(self._status),
        }
        self._process = _context.Process(
            target=_child, args=(list(argv), dict(env), str(cwd), paths, None)
        )
        self._process.start()
        self.pid: int = self._process.pid  # type: ignore[assignment]
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = _exit_code(self._process.exitcode, self._status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self.poll() is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def communicate(self, timeout: float | None = None) -> tuple[Any, Any]:
        self.wait(timeout)
        outputs = []
        for captured, path in zip(self._captured, (self._stdout, self._stderr), strict=True):
            data = Path(path).read_bytes() if captured else None
            outputs.append(
                data.decode("utf-8", "replace") if data is not None and self.text else data
            )
        self._folder.cleanup()
        return outputs[0], outputs[1]

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.poll() is None:
            self.kill()
            self._process.join()
        self._folder.cleanup()


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
        paths["status"] = str(Path(folder, "status"))
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
            _exit_code(child.exitcode, Path(paths["status"])) if child.exitcode is not None else -1,
            files["stdout"].read_text(encoding="utf-8", errors="replace"),
            files["stderr"].read_text(encoding="utf-8", errors="replace"),
        )


def _exit_code(reported: int | None, status: Path) -> int | None:
    """The child's exit code: the one it wrote down, when multiprocessing reports 255.

    ``popen_forkserver.Popen.poll`` reports 255 when it cannot read the status the forkserver
    sends (EOF), which happens under load for children that exited normally (CPython
    gh-140867; once here, the soak's `stnews feed` "exited 255" with empty stderr). The child
    writes its code to ``status`` just before ``os._exit``; a child killed by a signal writes
    nothing, and its negative code stands.
    """
    if reported == 255 and status.exists():
        with contextlib.suppress(ValueError):
            return int(status.read_text())
    return reported


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
        (1, "stdout", os.O_WRONLY | os.O_APPEND),
        (2, "stderr", os.O_WRONLY | os.O_APPEND),
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
    Path(paths["status"]).write_text(str((code or 0) & 0xFF))  # as the OS reports it
    # No interpreter shutdown: the forkserver's atexit hooks and finalizers are not ours.
    os._exit(code or 0)

"""Helpers of the safety tests: whole crawls with their full stats, and local test sites.

Crawls run `python -m crawler.cli crawl` in a child process (Twisted's reactor cannot
restart); ``JsonStatsCollector`` writes each spider's stats to a JSON file so that a test
can check every counter (``safety/refused/*``, ``retry/*``, ``httperror/*``), not only the
summary the CLI prints.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from scrapy.statscollectors import MemoryStatsCollector
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crawler.project import project_settings
from crawler.replay import INDEX_NAME
from storage import Database
from storage.models import Release
from tests import forked_cli
from tests.support import ROOT

CORPUS = ROOT / "fixtures" / "bad"
SAFETY_MIDDLEWARES = {
    "crawler.safety.NetworkSafetyMiddleware": 40,
    "crawler.safety.ResponseSanityMiddleware": 575,
}


#: The sources the corpus is read with (its NSTC pages are in markup of their own).
CORPUS_SOURCES = CORPUS / "sources.toml"


def copy_corpus(target: Path, *folders: str) -> Path:
    """Folders of fixtures/bad as a replay directory (their `responses.json` as `index.json`:
    under fixtures/ they are kept out of every replay of the real fixtures)."""
    for folder in folders:
        shutil.copytree(CORPUS / folder, target / folder)
        (target / folder / "responses.json").rename(target / folder / INDEX_NAME)
    return target


class JsonStatsCollector(MemoryStatsCollector):
    """Stats collector that also writes each spider's stats to ``STNEWS_TEST_STATS_DIR``."""

    def _persist_stats(self, stats: dict[str, Any]) -> None:
        super()._persist_stats(stats)
        folder = self._crawler.settings.get("STNEWS_TEST_STATS_DIR")
        if folder and self._crawler.spider:
            path = Path(folder) / f"{self._crawler.spider.name}.json"
            path.write_text(json.dumps(stats, default=str, indent=1), encoding="utf-8")


def safety_settings() -> list[str]:
    """``-s`` arguments enabling the safety middlewares if the project settings do not yet.

    A dict given with ``-s`` replaces the project's dict, so it is given in full.
    """
    configured = project_settings().getdict("DOWNLOADER_MIDDLEWARES")
    if all(name in configured for name in SAFETY_MIDDLEWARES):
        return []
    return ["-s", f"DOWNLOADER_MIDDLEWARES={json.dumps({**configured, **SAFETY_MIDDLEWARES})}"]


@dataclass
class Crawl:
    returncode: int
    summary: dict[str, dict[str, Any]]  # the CLI's --json rows, by source
    stats: dict[str, dict[str, Any]]  # every Scrapy stat, by source
    stderr: str

    def stat(self, source: str, name: str) -> int:
        return int(self.stats[source].get(name, 0))

    def stats_with(self, source: str, prefix: str) -> dict[str, int]:
        return {
            name[len(prefix) :]: value
            for name, value in self.stats[source].items()
            if name.startswith(prefix)
        }


def crawl(
    db: str,
    workdir: Path,
    *args: str,
    replay: Path | None = None,
    settings: Mapping[str, str] | None = None,
    spider_modules: str | None = None,
    sources: Path | None = None,
    timeout: float = 120,
) -> Crawl:
    """``stnews crawl --json ARGS`` with the safety middlewares on and stats collected."""
    stats_dir = workdir / f"stats-{time.monotonic_ns()}"
    stats_dir.mkdir(parents=True)
    command = ["--db", db, "crawl", "--json", *args]
    if replay is not None:
        command += ["--replay", str(replay)]
    every = {
        "STATS_CLASS": "tests.safety_support.JsonStatsCollector",
        "STNEWS_TEST_STATS_DIR": str(stats_dir),
        "TELNETCONSOLE_ENABLED": "False",
        **({"SPIDER_MODULES": spider_modules} if spider_modules else {}),
        **(settings or {}),
    }
    for name, value in every.items():
        command += ["-s", f"{name}={value}"]
    command += safety_settings()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    if sources is not None:
        env["STNEWS_SOURCES"] = str(sources)
    result = forked_cli.run(command, env=env, cwd=ROOT, timeout=timeout)
    try:
        rows = json.loads(result.stdout)
    except ValueError as exc:
        raise AssertionError(
            f"crawl printed no summary:\n{result.stdout}\n{result.stderr}"
        ) from exc
    stats = {
        path.stem: json.loads(path.read_text(encoding="utf-8")) for path in stats_dir.glob("*.json")
    }
    return Crawl(result.returncode, {row["source"]: row for row in rows}, stats, result.stderr)


def stored_releases(db: str) -> dict[str, dict[str, Any]]:
    database = Database(db)
    try:
        with database.session(readonly=True) as session:
            rows = session.scalars(select(Release).options(selectinload(Release.raw))).all()
            return {
                row.native_id or row.url: {
                    "title": row.title,
                    "body": row.body,
                    "summary": row.summary,
                    "image_url": row.image_url,
                    "published": row.published_at.date().isoformat(),
                    "url": row.url,
                    "raw": row.raw is not None,
                }
                for row in rows
            }
    finally:
        database.dispose()


# --- a local site ------------------------------------------------------------------------------

#: What a route answers: status, headers, body. With "Connection: close" and no
#: Content-Length, the body ends when the connection closes.
Reply = tuple[int, dict[str, str], bytes]
Route = Callable[[int], Reply]  # called with the number of the hit (1 for the first)


@dataclass
class LocalSite:
    """An HTTP server on 127.0.0.1 answering from a route table; counts hits per path."""

    routes: dict[str, Route]
    hits: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    origin: str = ""

    def hit(self, path: str) -> int:
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
            return self.hits[path]


def page(body: str | bytes, status: int = 200, **headers: str) -> Route:
    data = body.encode("utf-8") if isinstance(body, str) else body
    answer = {"Content-Type": "text/html; charset=utf-8", **headers}
    return lambda _hit: (status, answer, data)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (a size limit, a timeout) is what some tests play out.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serve(routes: dict[str, Route]) -> Iterator[LocalSite]:
    site = LocalSite(routes)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            count = site.hit(self.path)
            route = site.routes.get(self.path)
            status, headers, body = route(count) if route else (404, {}, b"not found")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if "Content-Length" not in headers and headers.get("Connection") != "close":
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = _QuietServer(("127.0.0.1", 0), Handler)
    site.origin = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()

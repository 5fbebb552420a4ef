"""A fast local HTTP server for a synthetic NSTC site, so crawls measure the crawler.

    .venv/bin/python -m bench.server --count 2000 [--start 2020-01-01] [--port 0] [--realistic]

Serves :class:`bench.sitegen.FastSyntheticSite` on 127.0.0.1 only, from a child process of
the harness (its CPU is then not the crawler's, and its own use is measurable). Prints its
base URL on the first line of stdout, then serves until SIGTERM or SIGINT.

- asyncio protocol, HTTP/1.1 keep-alive (Scrapy reuses connections), Content-Length bodies.
- Every page is rendered once (string templates, about 20 µs) and kept as ready response
  bytes, with an ETag computed from the body; ``If-None-Match`` with that ETag gets a 304, as
  the replay middleware answers, so incremental polls behave as against the real site.
- ``GET /__bench/stats`` answers JSON: requests served (by status) and the process's CPU
  seconds, so the harness can show how busy the server was during a crawl.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from bench.sitegen import FIRST_DAY, LIST_PATH, FastSyntheticSite, SyntheticSite

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # never anything else
STATS_PATH = "/__bench/stats"
START_TIMEOUT = 60.0
#: No proxy from the environment between the harness and 127.0.0.1.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
REASONS = {200: "OK", 304: "Not Modified", 404: "Not Found", 400: "Bad Request"}


class SitePages:
    """Ready HTTP responses for the pages of one site, built on first request."""

    def __init__(self, site: SyntheticSite) -> None:
        self.site = site
        self.cache: dict[str, tuple[bytes, bytes | None, str | None]] = {}
        self.counts: Counter[int] = Counter()

    def answer(self, target: str, if_none_match: str | None, keep_alive: bool) -> bytes:
        if target == STATS_PATH:
            return _response(200, _stats_body(self.counts), None, keep_alive, "application/json")
        found = self.cache.get(target)
        if found is None:
            status, body = self.site.response(self.site.origin + target)
            etag = f'"{hashlib.sha1(body).hexdigest()[:20]}"' if status == 200 else None
            ok = _response(status, body, etag, True, "text/html; charset=utf-8")
            not_modified = _response(304, b"", etag, True, None) if etag else None
            found = self.cache[target] = (ok, not_modified, etag)
        ok, not_modified, etag = found
        if not_modified is not None and if_none_match and etag in if_none_match:
            self.counts[304] += 1
            reply = not_modified
        else:
            self.counts[int(ok[9:12])] += 1
            reply = ok
        # Cached replies say keep-alive; the rare client asking to close gets it said.
        return reply if keep_alive else reply.replace(b"keep-alive", b"close", 1)


def _stats_body(counts: Counter[int]) -> bytes:
    return json.dumps(
        {
            "requests": sum(counts.values()),
            "by_status": {str(k): v for k, v in sorted(counts.items())},
            "cpu_seconds": time.process_time(),
        }
    ).encode()


def _response(
    status: int, body: bytes, etag: str | None, keep_alive: bool, content_type: str | None
) -> bytes:
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'OK')}"]
    if content_type:
        lines.append(f"Content-Type: {content_type}")
    if etag:
        lines.append(f"ETag: {etag}")
    lines.append(f"Content-Length: {len(body)}")
    lines.append(f"Connection: {'keep-alive' if keep_alive else 'close'}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Connection(asyncio.Protocol):
    def __init__(self, pages: SitePages) -> None:
        self.pages = pages
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in header_lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            parts = request_line.split()
            if len(parts) != 3:
                self.transport.write(_response(400, b"", None, False, None))
                self.transport.close()
                return
            method, target, version = parts
            connection = headers.get("connection", "").lower()
            keep_alive = connection != "close" and (
                version == "HTTP/1.1" or connection == "keep-alive"
            )
            # GET only in practice; a request body (none expected) is skipped, not parsed.
            skip = int(headers.get("content-length", "0") or 0)
            self.buffer = self.buffer[skip:]
            reply = self.pages.answer(target, headers.get("if-none-match"), keep_alive)
            self.transport.write(reply if method != "HEAD" else reply.split(b"\r\n\r\n")[0])
            if not keep_alive:
                self.transport.close()
                return


async def serve(site: SyntheticSite, port: int = 0) -> None:
    """Serve ``site`` on 127.0.0.1 until SIGTERM/SIGINT; print the base URL first."""
    loop = asyncio.get_running_loop()
    pages = SitePages(site)
    server = await loop.create_server(lambda: _Connection(pages), HOST, port, backlog=1024)
    bound = server.sockets[0].getsockname()[1]
    print(f"http://{HOST}:{bound}", flush=True)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


# --- the harness side: a server in a child process ------------------------------------------


class SiteServer:
    """``with SiteServer(count=N, start=...) as server:`` runs the server in a child process."""

    def __init__(self, count: int, start: date | None = None, realistic: bool = False) -> None:
        self.count = count
        self.start = start
        self.realistic = realistic
        self.child: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> SiteServer:
        command = [sys.executable, "-m", "bench.server", "--count", str(self.count)]
        if self.start:
            command += ["--start", self.start.isoformat()]
        if self.realistic:
            command.append("--realistic")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.child = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
        assert self.child.stdout is not None
        line = self.child.stdout.readline().strip()  # blocks until it listens (or dies)
        if not line.startswith(f"http://{HOST}:"):
            self.stop()
            raise RuntimeError(f"the site server did not start (said {line!r})")
        self.base_url = line
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.child is None or self.child.poll() is not None:
            return
        self.child.terminate()
        try:
            self.child.wait(10)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    @property
    def start_url(self) -> str:
        return f"{self.base_url}{LIST_PATH}?l=en"

    def stats(self) -> dict[str, Any]:
        with DIRECT.open(self.base_url + STATS_PATH, timeout=10) as reply:
            return json.loads(reply.read())


# --- its own figure: pages per second to a simple client ------------------------------------


async def _client(port: int, requests: list[bytes], stop_at: float, offset: int) -> int:
    from bench.bench_server import read_reply

    reader, writer = await asyncio.open_connection(HOST, port)
    done = 0
    try:
        while time.perf_counter() < stop_at:
            writer.write(requests[(offset + done) % len(requests)])
            reply = await read_reply(reader)
            if reply.status != 200:
                raise RuntimeError(f"site server answered {reply.status}")
            done += 1
    finally:
        writer.close()
        await writer.wait_closed()
    return done


async def _load(port: int, paths: list[str], clients: int, duration: float) -> float:
    from bench.bench_server import request_bytes

    requests = [request_bytes(path, {}) for path in paths]
    started = time.perf_counter()
    counts = await asyncio.gather(
        *(
            _client(port, requests, started + duration, i * len(requests) // clients)
            for i in range(clients)
        )
    )
    return sum(counts) / (time.perf_counter() - started)


def pages_per_second(server: SiteServer, clients: int = 16, duration: float = 2.0) -> float:
    """Detail and list pages per second the server sends ``clients`` keep-alive clients."""
    site = SyntheticSite(server.count, start=server.start or FIRST_DAY, realistic=server.realistic)
    paths = [site.detail_url(seq).removeprefix(site.origin) for seq in range(1, site.count + 1)]
    paths += [site.list_url(page).removeprefix(site.origin) for page in range(1, site.pages + 1)]
    return asyncio.run(_load(server.port, paths, clients, duration))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, required=True, help="releases on the site")
    parser.add_argument("--start", type=date.fromisoformat, help="date of release number 0")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument(
        "--realistic", action="store_true", help="bodies of realistic length and wording"
    )
    args = parser.parse_args(argv)
    site = FastSyntheticSite(args.count, start=args.start or FIRST_DAY, realistic=args.realistic)
    if site._templates is None:
        print("warning: templates differ from the reference renderer; using it", file=sys.stderr)
    asyncio.run(serve(site, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())

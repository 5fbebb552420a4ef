"""Feed server throughput on loopback: a cached feed, and conditional GETs answered 304.

    .venv/bin/python bench/bench_server.py [--duration 5] [--runs 3] [--clients 50]

Fills a temporary SQLite database with 2,000 synthetic releases (bench_feed's generator),
starts `stnews serve` (uvicorn) in a child process on 127.0.0.1 with a free port, then drives
it with 50 concurrent keep-alive HTTP/1.1 connections (asyncio, raw sockets: the client must
cost less than the server) for `--duration` seconds per run:

    cached feed        GET /feeds/cooperation.atom                    -> 200, full body
    cached feed, gzip  the same with Accept-Encoding: gzip            -> 200, precompressed
    conditional GET    the same with If-None-Match: <its ETag>         -> 304, no body

Each scenario gets one warm-up request (so the feed is rendered and cached), then `--runs`
runs; the table shows the median, min and max responses per second. The target is at least
1,000 responses/s for the 304s; exits 1 when it is missed. Every request goes to 127.0.0.1
only, and every load is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"  # never anything else: this is a load generator
RELEASES = 2_000
FEED_PATH = "/feeds/cooperation.atom"
TARGET_304_PER_S = 1_000
START_TIMEOUT = 20.0


@dataclass(frozen=True)
class Scenario:
    name: str
    headers: dict[str, str]
    status: int


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


# --- the server, in a child process ------------------------------------------------------------


def serve(database_url: str) -> None:
    """Child process: run the server on a free port and print its URL on the first line."""
    from crawler.server import ServerHandle, run_server

    def started(url: str) -> None:
        print(url, flush=True)

    run_server(database_url, HOST, 0, handle=ServerHandle(on_started=started))


def start_child(database_url: str) -> tuple[subprocess.Popen[str], int]:
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", database_url],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert child.stdout is not None
    line = child.stdout.readline().strip()  # blocks until the server listens (or dies)
    if not line.startswith(f"http://{HOST}:"):
        child.kill()
        raise SystemExit(f"the server did not start (said {line!r})")
    return child, int(line.rstrip("/").rsplit(":", 1)[1])


def stop_child(child: subprocess.Popen[str]) -> None:
    child.terminate()  # SIGTERM: uvicorn shuts down cleanly
    try:
        child.wait(10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


# --- the clients -------------------------------------------------------------------------------


def request_bytes(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def read_reply(reader: asyncio.StreamReader) -> Reply:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", ""):
        raise RuntimeError("chunked response: this client reads Content-Length bodies only")
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Reply(int(status_line.split()[1]), headers, body)


async def fetch_once(port: int, path: str, headers: dict[str, str]) -> Reply:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(request_bytes(path, headers))
        return await read_reply(reader)
    finally:
        writer.close()
        await writer.wait_closed()


async def one_client(port: int, request: bytes, status: int, stop_at: float) -> int:
    reader, writer = await asyncio.open_connection(HOST, port)
    done = 0
    try:
        while time.perf_counter() < stop_at:
            writer.write(request)
            reply = await read_reply(reader)
            if reply.status != status:
                raise RuntimeError(f"expected {status}, got {reply.status}")
            done += 1
    finally:
        writer.close()
        await writer.wait_closed()
    return done


async def load(port: int, request: bytes, status: int, clients: int, duration: float) -> float:
    """Responses per second over `duration` seconds with `clients` keep-alive connections."""
    started = time.perf_counter()
    counts = await asyncio.gather(
        *(one_client(port, request, status, started + duration) for _ in range(clients))
    )
    # The clock stops when the last in-flight response has arrived, not at the deadline.
    return sum(counts) / (time.perf_counter() - started)


async def bench(
    port: int, clients: int, duration: float, runs: int
) -> tuple[dict[str, list[float]], str]:
    cold_started = time.perf_counter()
    warm = await fetch_once(port, FEED_PATH, {})
    cold_ms = (time.perf_counter() - cold_started) * 1000
    if warm.status != 200:
        raise SystemExit(f"GET {FEED_PATH} answered {warm.status}")
    entries = warm.body.count(b"<entry")
    feed = (
        f"{FEED_PATH}: {len(warm.body):,} bytes, {entries} entries; "
        f"first (uncached) response {cold_ms:.0f} ms"
    )
    scenarios = [
        Scenario("cached feed (200)", {}, 200),
        Scenario("cached feed, gzip (200)", {"Accept-Encoding": "gzip"}, 200),
        Scenario("conditional GET (304)", {"If-None-Match": warm.headers["etag"]}, 304),
    ]
    results: dict[str, list[float]] = {}
    for scenario in scenarios:
        check = await fetch_once(port, FEED_PATH, scenario.headers)
        if check.status != scenario.status:
            raise SystemExit(f"{scenario.name}: answered {check.status}")
        request = request_bytes(FEED_PATH, scenario.headers)
        results[scenario.name] = [
            await load(port, request, scenario.status, clients, duration) for _ in range(runs)
        ]
    return results, feed


# --- main --------------------------------------------------------------------------------------


def measure(
    clients: int = 50, duration: float = 5.0, runs: int = 3, releases: int = RELEASES
) -> tuple[dict[str, list[float]], str]:
    """Responses per second per scenario and run, and a line describing the feed served."""
    from bench.bench_feed import fill
    from storage import Database

    with tempfile.TemporaryDirectory(prefix="stnews-bench-server-") as tmp:
        database_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        database = Database(database_url)
        fill(database, releases)
        database.dispose()
        child, port = start_child(database_url)
        try:
            return asyncio.run(bench(port, clients, duration, runs))
        finally:
            stop_child(child)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--serve", metavar="DATABASE_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return 0

    started = time.perf_counter()
    results, feed = measure(args.clients, args.duration, args.runs)
    print(feed)
    print(f"(filled {RELEASES:,} releases and ran in {time.perf_counter() - started:.1f} s)")
    print(
        f"\n{args.clients} concurrent keep-alive clients on {HOST}, {args.runs} runs of "
        f"{args.duration:g} s each; responses per second:"
    )
    print(f"{'scenario':<26}{'median':>10}{'min':>10}{'max':>10}")
    for name, rates in results.items():
        print(
            f"{name:<26}{statistics.median(rates):>10,.0f}{min(rates):>10,.0f}{max(rates):>10,.0f}"
        )
    rate_304 = statistics.median(results["conditional GET (304)"])
    met = rate_304 >= TARGET_304_PER_S
    verdict = "met" if met else "MISSED"
    print(f"\n304 target >= {TARGET_304_PER_S:,}/s: {verdict} (median {rate_304:,.0f}/s)")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())

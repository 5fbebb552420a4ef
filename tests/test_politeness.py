"""Polite retries (backoff, Retry-After) and verified TLS, against servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from twisted.internet.error import ConnectionRefusedError

from crawler.middlewares import (
    BACKOFF_JITTER,
    BackoffRetryMiddleware,
    backoff_delay,
    parse_retry_after,
)
from crawler.tls import TLSConfigurationError, TLSSettingsAddon, read_certificates
from tests.support import ROOT

SPIDER = ROOT / "tests" / "politeness_spider.py"


# --- Servers ------------------------------------------------------------------------------


class RecordingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SiteHandler)
        self.hits: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]


class SiteHandler(BaseHTTPRequestHandler):
    """/flaky: 503 + Retry-After 2, then 200. /busy: 429 + Retry-After 9999. /backoff: 503.
    /chain/N: a slow page pointing at /chain/N+1 (up to 3). Anything else: 200."""

    server: RecordingServer

    def do_GET(self) -> None:
        with self.server.lock:
            hits = self.server.hits.setdefault(self.path, [])
            hits.append(time.monotonic())
            count = len(hits)
        headers: dict[str, str] = {}
        status = 200
        if self.path == "/flaky" and count == 1:
            # 2 s: room for the chain's four slow pages (0.6 s) to finish within the wait,
            # also on a loaded machine.
            status, headers = 503, {"Retry-After": "2"}
        elif self.path == "/busy":
            status, headers = 429, {"Retry-After": "9999"}
        elif self.path == "/backoff":
            status = 503
        elif self.path.startswith("/chain/"):
            time.sleep(0.15)
            step = int(self.path.rsplit("/", 1)[1])
            if step < 3:
                headers["X-Next"] = f"/chain/{step + 1}"
        body = b"ok"
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def serve(server: RecordingServer) -> Iterator[RecordingServer]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def site() -> Iterator[RecordingServer]:
    yield from serve(RecordingServer())


def crawl(
    tmp_path: Path, urls: list[str], *settings: str
) -> tuple[subprocess.CompletedProcess, dict]:
    """Run tests/politeness_spider.py in a child process; its report (empty if none)."""
    report = tmp_path / f"report-{time.monotonic_ns()}.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SCRAPY_SETTINGS_MODULE", None)  # only the spider's own settings apply
    args = [arg for setting in settings for arg in ("-s", setting)]
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "runspider", str(SPIDER),
         "-a", f"urls={','.join(urls)}", "-a", f"report={report}", *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    return result, json.loads(report.read_text()) if report.exists() else {}


# --- Retries ------------------------------------------------------------------------------


def test_parse_retry_after() -> None:
    now = dt.datetime(2025, 1, 1, 12, 0, tzinfo=dt.UTC)
    assert parse_retry_after(b"120") == 120.0
    assert parse_retry_after("0") == 0.0
    assert (
        parse_retry_after(format_datetime(now + dt.timedelta(seconds=30), usegmt=True), now) == 30
    )
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now) == 0.0  # already past
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:05 -0000", now) == 5.0
    assert parse_retry_after(b"soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after("2.5") is None  # delta-seconds are whole
    assert parse_retry_after(None) is None


def test_backoff_delay_doubles_up_to_the_cap() -> None:
    assert [backoff_delay(n, 1.0, 60.0) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff_delay(3, 0.5, 60.0, jitter=0.25) == 2.5
    assert backoff_delay(7, 1.0, 60.0, jitter=0.25) == 60.0  # the cap holds with jitter too


@pytest.fixture
def crawler() -> Crawler:
    crawler = get_crawler(settings_dict={"RETRY_TIMES": 2, "RETRY_BACKOFF_BASE": 0.5})
    crawler.spider = Spider.from_crawler(crawler, name="unit")
    crawler.engine = SimpleNamespace(running=True)  # type: ignore[assignment]
    return crawler


def middleware(crawler: Crawler) -> tuple[BackoffRetryMiddleware, list[float]]:
    mw = BackoffRetryMiddleware.from_crawler(crawler)
    mw.random = random.Random(7)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    mw.sleep = sleep
    return mw, waits


def response(request: Request, status: int, **headers: str) -> Response:
    return Response(request.url, status=status, headers=headers, request=request)


def test_retryable_response_waits_for_the_backoff(crawler: Crawler) -> None:
    mw, waits = middleware(crawler)
    request = Request("https://example.org/list")
    retry = asyncio.run(mw.process_response(request, response(request, 503)))
    assert isinstance(retry, Request) and retry.meta["retry_times"] == 1
    expected = backoff_delay(1, 0.5, 60.0, random.Random(7).uniform(0, BACKOFF_JITTER))
    assert sum(waits) == pytest.approx(expected)

    again = asyncio.run(mw.process_response(retry, response(retry, 503)))
    assert isinstance(again, Request) and again.meta["retry_times"] == 2
    assert 1.0 <= sum(waits) - expected <= 1.0 * (1 + BACKOFF_JITTER)

    waits.clear()
    last = response(again, 503)
    assert asyncio.run(mw.process_response(again, last)) is last  # RETRY_TIMES reached
    assert waits == []
    assert crawler.stats.get_value("retry/max_reached") == 1


def test_retry_after_is_slept_in_slices(crawler: Crawler) -> None:
    mw, waits = middleware(crawler)
    request = Request("https://example.org/list")
    busy = response(request, 429, **{"Retry-After": "3"})
    assert isinstance(asyncio.run(mw.process_response(request, busy)), Request)
    assert waits == [1.0, 1.0, 1.0]


def test_too_long_retry_after_gives_up(crawler: Crawler) -> None:
    mw, waits = middleware(crawler)
    request = Request("https://example.org/list")
    busy = response(request, 429, **{"Retry-After": "301"})
    assert asyncio.run(mw.process_response(request, busy)) is busy
    assert waits == []
    assert crawler.stats.get_value("retry/retry_after_too_long") == 1
    assert crawler.stats.get_value("retry/count") is None


def test_stopping_crawl_interrupts_the_wait(crawler: Crawler) -> None:
    mw, waits = middleware(crawler)

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        crawler.engine.running = False  # e.g. Ctrl-C during the wait

    mw.sleep = sleep
    request = Request("https://example.org/list")
    unavailable = response(request, 503, **{"Retry-After": "60"})
    assert asyncio.run(mw.process_response(request, unavailable)) is unavailable
    assert waits == [1.0]


def test_no_wait_for_replayed_or_unretried_responses(crawler: Crawler) -> None:
    mw, waits = middleware(crawler)
    request = Request("https://example.org/list")
    replayed = Response(request.url, status=503, request=request, flags=["replay"])
    assert isinstance(asyncio.run(mw.process_response(request, replayed)), Request)
    ok = response(request, 200)
    assert asyncio.run(mw.process_response(request, ok)) is ok
    opted_out = Request(request.url, meta={"dont_retry": True})
    unavailable = response(opted_out, 503)
    assert asyncio.run(mw.process_response(opted_out, unavailable)) is unavailable
    assert waits == []


def test_exceptions_are_retried_with_backoff(crawler: Crawler) -> None:
    mw, waits = middleware(crawler)
    request = Request("https://example.org/list")
    retry = asyncio.run(mw.process_exception(request, ConnectionRefusedError()))
    assert isinstance(retry, Request) and retry.meta["retry_times"] == 1
    assert 0.5 <= sum(waits) <= 0.5 * (1 + BACKOFF_JITTER)
    assert asyncio.run(mw.process_exception(request, ValueError("a bug"))) is None
    exhausted = Request(request.url, meta={"retry_times": 2})
    assert asyncio.run(mw.process_exception(exhausted, ConnectionRefusedError())) is None


def test_crawl_honours_retry_after_without_stalling(site: RecordingServer, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{site.port}"
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    urls = [f"{base}/flaky", f"{base}/busy", f"{base}/chain/0", f"{base}/backoff", refused]
    result, report = crawl(
        tmp_path, urls, "RETRY_TIMES=2", "RETRY_BACKOFF_BASE=0.2", "RETRY_BACKOFF_MAX=5"
    )
    assert report, result.stderr
    statuses = {r["url"].removeprefix(base): r["status"] for r in report["responses"]}
    stats = report["stats"]

    flaky = site.hits["/flaky"]
    assert len(flaky) == 2 and flaky[1] - flaky[0] >= 2.0  # Retry-After: 2
    assert statuses["/flaky"] == 200

    assert len(site.hits["/busy"]) == 1 and statuses["/busy"] == 429
    assert stats["retry/retry_after_too_long"] == 1
    assert "Retry-After 9999 s exceeds RETRY_AFTER_MAX" in result.stderr

    # The chain went on while /flaky waited: the wait does not block the reactor.
    chain = [hit for n in range(4) for hit in site.hits[f"/chain/{n}"]]
    assert len(chain) == 4 and max(chain) < flaky[1]

    backoff = site.hits["/backoff"]
    assert len(backoff) == 3
    first, second = backoff[1] - backoff[0], backoff[2] - backoff[1]
    assert 0.2 <= first < 0.2 * (1 + BACKOFF_JITTER) + 0.5
    assert 0.4 <= second < 0.4 * (1 + BACKOFF_JITTER) + 0.5
    assert stats["retry/reason_count/503 Service Unavailable"] == 3

    # Exceptions keep Scrapy's retries, with the same backoff.
    assert stats["retry/reason_count/scrapy.exceptions.DownloadConnectionRefusedError"] == 2
    assert [e["url"] for e in report["errors"]] == [refused]
    assert stats["retry/max_reached"] == 2


# --- TLS ----------------------------------------------------------------------------------


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer.subject if issuer else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    if ca:
        usage = dict.fromkeys(
            ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement"),
            False,
        )
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False, **usage,
            ),
            critical=True,
        )  # fmt: skip
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(*certificates: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certificates)


@pytest.fixture
def https_site(tmp_path: Path) -> Iterator[tuple[RecordingServer, Path]]:
    """A server for `localhost` only (not 127.0.0.1), signed by a throw-away intermediate CA,
    sending no intermediate: an incomplete chain, as some government sites send."""
    root_key, mid_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root = _certificate("Test Root CA", root_key, None, root_key, ca=True)
    intermediate = _certificate("Test Intermediate CA", mid_key, root, root_key, ca=True)
    leaf = _certificate("localhost", leaf_key, intermediate, mid_key, ca=False)
    bundle = tmp_path / "ca-bundle.pem"
    bundle.write_bytes(_pem(root, intermediate))
    (tmp_path / "leaf.pem").write_bytes(_pem(leaf))
    (tmp_path / "leaf.key").write_bytes(
        leaf_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "leaf.pem", tmp_path / "leaf.key")
    server = RecordingServer()
    server.socket = context.wrap_socket(server.socket, server_side=True)
    yield from ((s, bundle) for s in serve(server))


def test_tls_needs_the_ca_bundle(https_site: tuple[RecordingServer, Path], tmp_path: Path) -> None:
    server, bundle = https_site
    by_name, by_ip = f"https://localhost:{server.port}/", f"https://127.0.0.1:{server.port}/"

    # Without the bundle the chain cannot be verified; 127.0.0.1 is opted out.
    result, report = crawl(
        tmp_path, [by_name, by_ip], "RETRY_ENABLED=False", "TLS_UNVERIFIED_HOSTS=127.0.0.1"
    )
    assert report, result.stderr
    assert [r["url"] for r in report["responses"]] == [by_ip]
    [error] = report["errors"]
    assert error["url"] == by_name and "certificate verify failed" in error["error"]
    assert "not verifying 127.0.0.1" in result.stderr

    # With it, localhost verifies; 127.0.0.1 is not a name the certificate holds.
    result, report = crawl(
        tmp_path, [by_name, by_ip], "RETRY_ENABLED=False", f"TLS_CA_BUNDLE={bundle}"
    )
    assert report, result.stderr
    assert report["responses"] == [{"url": by_name, "status": 200}]
    [error] = report["errors"]
    assert error["url"] == by_ip


def test_missing_ca_bundle_stops_the_crawl(site: RecordingServer, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-bundle.pem"
    url = f"http://127.0.0.1:{site.port}/"
    result, report = crawl(tmp_path, [url], f"TLS_CA_BUNDLE={missing}")
    assert f"TLS_CA_BUNDLE={missing}: cannot read the CA bundle" in result.stderr
    assert report == {} and site.hits == {}


def test_ca_bundle_errors_name_the_setting(tmp_path: Path) -> None:
    missing = tmp_path / "missing.pem"
    with pytest.raises(TLSConfigurationError, match=f"TLS_CA_BUNDLE={missing}: cannot read"):
        TLSSettingsAddon().update_settings(Settings({"TLS_CA_BUNDLE": str(missing)}))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(TLSConfigurationError, match="no PEM certificate"):
        read_certificates(garbage, "TLS_CA_BUNDLE")
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(TLSConfigurationError, match="unreadable certificate"):
        read_certificates(broken, "TLS_CA_BUNDLE")

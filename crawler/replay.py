"""Replay saved responses instead of the network, and record live ones in the same layout.

A fixture directory holds one folder per source, each with plain files and an
``index.json`` that maps URLs to them::

    fixtures/nstc/index.json
    fixtures/nstc/list/page-1.html
    fixtures/nstc/detail/9f64c050.html

    {"responses": [
        {"url": "https://...", "status": 200, "file": "list/page-1.html",
         "headers": {"Content-Type": "text/html; charset=UTF-8"}},
        {"url": "https://old-host/...", "status": 301,
         "headers": {"Location": "https://new-host/..."}}
    ]}

Both stay reviewable in a diff; nothing is pickled.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.settings import BaseSettings
from scrapy.statscollectors import StatsCollector
from w3lib.url import canonicalize_url

from crawler.config import setting
from crawler.urls import strip_session

logger = logging.getLogger(__name__)

INDEX_NAME = "index.json"
# Response headers worth keeping: those that change how a body is read or what it means.
RECORDED_HEADERS = (
    "Content-Type",
    "Content-Disposition",
    "Content-Language",
    "Location",
    "Last-Modified",
    "ETag",
    "Retry-After",
)


def _key(url: str, method: str = "GET", body: bytes | str = b"") -> str:
    """The lookup key of a request: its canonical URL, and for a POST (a form download)
    also its method and sorted form fields, so two downloads from one URL stay apart."""
    if method.upper() in ("GET", "HEAD"):
        return canonicalize_url(url)
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    form = urlencode(sorted(parse_qsl(text, keep_blank_values=True)))
    return f"{method.upper()} {canonicalize_url(url)} {form}"


@dataclass
class SavedResponse:
    url: str
    status: int
    headers: dict[str, str]
    path: Path | None  # None for bodiless responses such as redirects

    def body(self) -> bytes:
        return self.path.read_bytes() if self.path else b""


@dataclass
class FixtureStore:
    """Read-only view of every ``index.json`` below a directory."""

    root: Path
    by_key: dict[str, SavedResponse] = field(default_factory=dict)
    by_sessionless_key: dict[str, SavedResponse] = field(default_factory=dict)

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> FixtureStore:
        store = cls(Path(root))
        if not store.root.is_dir():
            raise FileNotFoundError(f"replay directory not found: {store.root}")
        # One folder per source (`<root>/<source>/index.json`); deeper folders are other
        # fixture sets (`fixtures/bad/...`) replayed on their own, never mixed in.
        for index in sorted([*store.root.glob(INDEX_NAME), *store.root.glob(f"*/{INDEX_NAME}")]):
            folder = index.parent
            try:
                entries = json.loads(index.read_text(encoding="utf-8"))["responses"]
            except (ValueError, KeyError) as exc:
                raise ValueError(f"{index}: not a fixture index ({exc})") from exc
            for entry in entries:
                saved = SavedResponse(
                    url=entry["url"],
                    status=int(entry.get("status", 200)),
                    headers=dict(entry.get("headers", {})),
                    path=folder / entry["file"] if entry.get("file") else None,
                )
                method, body = entry.get("method", "GET"), entry.get("body", "")
                store.by_key[_key(saved.url, method, body)] = saved
                store.by_sessionless_key.setdefault(
                    _key(strip_session(saved.url), method, body), saved
                )
        return store

    def find(self, url: str, method: str = "GET", body: bytes = b"") -> SavedResponse | None:
        # A real server ignores a session token it does not know, so the replay does too.
        return self.by_key.get(_key(url, method, body)) or self.by_sessionless_key.get(
            _key(strip_session(url), method, body)
        )


class ReplayMiddleware:
    """Downloader middleware answering every request from a fixture directory.

    Enabled by the ``REPLAY_DIR`` setting. A URL with no saved response gets a 404 and a
    warning naming it, as a live site would answer a page that is gone.
    """

    def __init__(self, store: FixtureStore, stats: StatsCollector | None = None) -> None:
        self.store = store
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayMiddleware:
        replay_dir = setting(crawler.settings, "REPLAY_DIR")
        if not replay_dir:
            raise NotConfigured
        return cls(FixtureStore.load(replay_dir), crawler.stats)

    def process_request(self, request: Request) -> Response:
        saved = self.store.find(request.url, request.method, request.body)
        crawler_stats = self.stats
        if saved is None:
            if urlsplit(request.url).path != "/robots.txt":
                logger.warning("replay: no saved response for %s, answering 404", request.url)
                if crawler_stats:
                    crawler_stats.inc_value("replay/missing")
            return Response(url=request.url, status=404, request=request, body=b"")
        body = saved.body()
        headers = dict(saved.headers)
        if saved.status == 200 and not any(k.lower() == "etag" for k in headers):
            # Like a static file server: an ETag from the content, so a changed fixture is
            # a changed page to conditional requests.
            headers["ETag"] = f'W/"{hashlib.sha1(body).hexdigest()[:16]}"'
        if _not_modified(request, headers):
            if crawler_stats:
                crawler_stats.inc_value("replay/not_modified")
            return Response(url=request.url, status=304, headers=headers, request=request)
        # Headers(), not a plain dict: responsetypes looks Content-Type up by bytes key.
        response_class = responsetypes.from_args(
            headers=Headers(headers), url=saved.url, body=body[:4096]
        )
        if crawler_stats:
            crawler_stats.inc_value("replay/hit")
        return response_class(
            url=request.url,
            status=saved.status,
            headers=headers,
            body=body,
            request=request,
            flags=["replay"],
        )


def _not_modified(request: Request, headers: dict[str, str]) -> bool:
    """Whether a server would answer this conditional request with 304."""
    saved = {name.lower(): value for name, value in headers.items()}
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and saved.get("etag"):
        return saved["etag"] in if_none_match.decode("latin-1")
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since and saved.get("last-modified"):
        return saved["last-modified"] == if_modified_since.decode("latin-1")
    return False


class RecordMiddleware:
    """Downloader middleware saving every final response under ``RECORD_DIR/<spider>/``.

    Sits after redirect handling, so it sees final responses and rebuilds each redirect
    hop from ``redirect_urls``/``redirect_reasons``; the replay answers those hops with the
    same statuses and Location headers.
    """

    def __init__(self, root: Path, crawler: Crawler | None = None) -> None:
        self.root = root
        self.crawler = crawler
        self.entries: dict[str, dict[str, dict[str, Any]]] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RecordMiddleware:
        record_dir = setting(crawler.settings, "RECORD_DIR")
        if not record_dir:
            raise NotConfigured
        middleware = cls(Path(record_dir), crawler)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def process_response(self, request: Request, response: Response) -> Response:
        spider = self.crawler.spider if self.crawler else None
        name = spider.name if spider else "default"
        folder = self.root / name
        entries = self._entries(name, folder)
        chain = [*request.meta.get("redirect_urls", []), response.url]
        reasons = request.meta.get("redirect_reasons", [])
        for hop, target, reason in zip(chain, chain[1:], reasons, strict=False):
            status = reason if isinstance(reason, int) else 302
            entries[_key(hop)] = {"url": hop, "status": status, "headers": {"Location": target}}
        headers = {
            name_: response.headers.get(name_).decode("latin-1")
            for name_ in RECORDED_HEADERS
            if response.headers.get(name_)
        }
        entry: dict[str, Any] = {"url": response.url, "status": response.status}
        entry["provenance"] = {
            "kind": "real",
            "source": f"recorded live by stnews on {datetime.now(UTC):%Y-%m-%d}",
        }
        if request.method not in ("GET", "HEAD"):
            entry["method"] = request.method
            entry["body"] = request.body.decode("utf-8", "replace")
        if response.body:
            key = _key(response.url, request.method, request.body)
            digest = hashlib.sha1(key.encode()).hexdigest()[:16]
            relative = f"pages/{digest}{_suffix(headers.get('Content-Type', ''))}"
            _atomic_write(folder / relative, response.body)
            entry["file"] = relative
        entry["headers"] = headers
        entries[_key(response.url, request.method, request.body)] = entry
        self._flush(folder, entries)
        return response

    def spider_closed(self, spider: Spider) -> None:
        logger.info(
            "record: saved %d responses under %s",
            len(self.entries.get(spider.name, {})),
            self.root / spider.name,
        )

    def _entries(self, name: str, folder: Path) -> dict[str, dict[str, Any]]:
        if name not in self.entries:
            existing: dict[str, dict[str, Any]] = {}
            index = folder / INDEX_NAME
            if index.exists():  # refresh an existing fixture set in place
                for entry in json.loads(index.read_text(encoding="utf-8"))["responses"]:
                    key = _key(entry["url"], entry.get("method", "GET"), entry.get("body", ""))
                    existing[key] = entry
            self.entries[name] = existing
        return self.entries[name]

    def _flush(self, folder: Path, entries: dict[str, dict[str, Any]]) -> None:
        ordered = sorted(entries.values(), key=lambda entry: entry["url"])
        text = json.dumps({"responses": ordered}, indent=1, ensure_ascii=False) + "\n"
        _atomic_write(folder / INDEX_NAME, text.encode("utf-8"))


def _suffix(content_type: str) -> str:
    kind = content_type.split(";")[0].strip().lower()
    return {
        "text/html": ".html",
        "application/xhtml+xml": ".html",
        "application/rss+xml": ".xml",
        "application/atom+xml": ".xml",
        "application/xml": ".xml",
        "text/xml": ".xml",
        "application/pdf": ".pdf",
        "application/json": ".json",
        "text/plain": ".txt",
    }.get(kind, ".bin")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class ReplayAddon:
    """Scrapy add-on that switches replay or record on from ``REPLAY_DIR``/``RECORD_DIR``.

    Replaying local files needs no politeness delays, so it also turns them off; the
    add-on runs after command-line settings (`-s REPLAY_DIR=fixtures`) are applied.
    """

    def update_settings(self, settings: BaseSettings) -> None:
        replay, record = setting(settings, "REPLAY_DIR"), setting(settings, "RECORD_DIR")
        if replay and record:
            raise ValueError("REPLAY_DIR and RECORD_DIR cannot both be set")
        if replay:
            for name, value in {
                "AUTOTHROTTLE_ENABLED": False,
                "DOWNLOAD_DELAY": 0,
                "DOWNLOAD_DELAY_JITTER": 0,
                "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
            }.items():
                settings.set(name, value, priority="addon")

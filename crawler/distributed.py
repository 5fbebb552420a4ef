"""Distributed crawling: worker processes on any number of machines share crawls through Redis.

scrapy-redis supplies the shared pieces: a scheduler whose request queue lives in Redis and a
duplicate filter whose fingerprints live there too, so a page that one worker discovers is
fetched by exactly one worker. A crawl round of a source starts when
``crawler.service.workers.enqueue()`` (the scheduler, or ``stnews enqueue``) pushes the
source's start URLs; an idle worker picks each one up and turns it into the request the
spider's own ``start()`` would make. Everything else (pipelines, the incremental middleware,
crawl-run records) works as in a local crawl against the shared database. This module holds the
Scrapy components; ``crawler.service.workers`` enqueues and runs them.

Redis keys, per source (``STNEWS_REDIS_PREFIX``, default ``stnews``, isolates deployments):

- ``<prefix>:<source>:start_urls``: list of JSON messages ``{"url": ...}`` (plain URLs too);
- ``<prefix>:<source>:requests``: the scheduler's queue (sorted set of JSON requests);
- ``<prefix>:<source>:dupefilter``: fingerprints of the requests of the current round.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import warnings
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, ScrapyDeprecationWarning
from scrapy.settings import BaseSettings
from scrapy_redis.spiders import RedisMixin
from scrapy_redis.utils import bytes_to_str

from crawler.config import default, setting
from crawler.health import HealthMonitor
from crawler.project import project_settings
from crawler.release_spider import LIST_PAGE, ReleaseSpider

logger = logging.getLogger(__name__)

# scrapy-redis 0.9 still passes `spider=` to the stats collector: one warning per request kind
# in every worker's log, about code that is not ours.
warnings.filterwarnings(
    "ignore",
    message="Passing a 'spider' argument to StatsCollector",
    category=ScrapyDeprecationWarning,
    module=r"scrapy_redis\.",
)

#: Crawl-run records of workers say so (``crawl_runs.trigger``).
WORKER_TRIGGER = "worker"
CONDITIONAL_MIDDLEWARE = "crawler.incremental.ConditionalListMiddleware"
HEALTH_MONITOR = "crawler.health.HealthMonitor"


def resolve_redis_url(settings: BaseSettings | None = None) -> str:
    """The Redis URL: setting ``REDIS_URL``, else environment ``REDIS_URL`` (read now, not
    when the settings were loaded), else the default of crawler/settings.py."""
    configured = settings.get("REDIS_URL") if settings is not None else None
    return configured or os.environ.get("REDIS_URL") or default("REDIS_URL")


def resolve_prefix(settings: BaseSettings | None = None, prefix: str | None = None) -> str:
    """The key prefix: ``prefix``, else setting, else environment ``STNEWS_REDIS_PREFIX``,
    else the default of crawler/settings.py."""
    configured = settings.get("STNEWS_REDIS_PREFIX") if settings is not None else None
    prefix = prefix or configured or os.environ.get("STNEWS_REDIS_PREFIX")
    prefix = prefix or default("STNEWS_REDIS_PREFIX")
    if any(c.isspace() for c in prefix):
        raise ValueError(f"invalid Redis key prefix: {prefix!r}")
    return prefix


@dataclass(frozen=True)
class RedisKeys:
    """The Redis keys of one source under one prefix."""

    start_urls: str
    requests: str
    dupefilter: str

    @classmethod
    def of(cls, prefix: str, source: str) -> RedisKeys:
        return cls(
            start_urls=f"{prefix}:{source}:start_urls",
            requests=f"{prefix}:{source}:requests",
            dupefilter=f"{prefix}:{source}:dupefilter",
        )


def distributed_settings(
    redis_url: str | None = None,
    prefix: str | None = None,
    *,
    max_idle: float = 0,
    allowed_domains: Sequence[str] = (),
    base: BaseSettings | None = None,
) -> dict[str, Any]:
    """Setting overrides that turn a crawl process into a Redis-fed worker.

    Component dicts are given in full, ``base``'s (default: the project's) plus the changes:
    a dict override replaces the project's dict rather than merging into it.
    """
    base = base if base is not None else project_settings()
    prefix = resolve_prefix(prefix=prefix)
    # scrapy-redis formats its key settings with %-interpolation: escape the prefix.
    escaped = prefix.replace("%", "%%")
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        # A worker that stops must leave the shared queue and fingerprints to the others.
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_FLUSH_ON_START": False,
        # JSON, not scrapy-redis's default pickle: nothing read from Redis can run code.
        "SCHEDULER_SERIALIZER": JsonRequestSerializer,
        "REDIS_URL": redis_url or resolve_redis_url(),
        "STNEWS_REDIS_PREFIX": prefix,
        "SCHEDULER_QUEUE_KEY": f"{escaped}:%(spider)s:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{escaped}:%(spider)s:dupefilter",
        "REDIS_START_URLS_KEY": f"{escaped}:%(name)s:start_urls",
        "STNEWS_WORKER_MAX_IDLE": float(max_idle),
        "STNEWS_WORKER_POLL_INTERVAL": setting(base, "STNEWS_WORKER_POLL_INTERVAL"),
        "STNEWS_EXTRA_ALLOWED_DOMAINS": list(allowed_domains),
        "STNEWS_TRIGGER": WORKER_TRIGGER,
        "DOWNLOADER_MIDDLEWARES": {
            **base.getdict("DOWNLOADER_MIDDLEWARES"),
            # List-page validators are saved when a crawl finishes, on the premise that every
            # release it listed was stored. A worker finishing says nothing about requests
            # another worker lost by crashing, so a 304 could hide those for good: off.
            CONDITIONAL_MIDDLEWARE: None,
        },
        "EXTENSIONS": _worker_extensions(base.getdict("EXTENSIONS")),
    }


def _worker_extensions(extensions: dict[str, Any]) -> dict[str, Any]:
    # A worker sees part of a crawl: only the one that fetched the first list page judges.
    order = extensions.get(HEALTH_MONITOR)
    if order is None:
        return extensions
    return {**extensions, HEALTH_MONITOR: None, f"{__name__}.WorkerHealthMonitor": order}


# --- serialization of queued requests ---------------------------------------------------------


class JsonRequestSerializer:
    """scrapy-redis serializer (``loads``/``dumps``) for ``Request.to_dict()`` data, as JSON.

    Bytes (headers, bodies) and dicts with non-string keys (headers) are tagged; anything
    else JSON cannot hold fails loudly when the request is queued.
    """

    @staticmethod
    def dumps(obj: Any) -> bytes:
        return json.dumps(_tag(obj), separators=(",", ":")).encode("utf-8")

    @staticmethod
    def loads(data: bytes | str) -> Any:
        return json.loads(data, object_hook=_untag)


def _tag(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Mapping):
        if all(isinstance(key, str) for key in value):
            return {key: _tag(item) for key, item in value.items()}
        return {"__items__": [[_tag(key), _tag(item)] for key, item in value.items()]}
    if isinstance(value, list | tuple):
        return [_tag(item) for item in value]
    return value


def _untag(obj: dict[str, Any]) -> Any:
    if obj.keys() == {"__bytes__"}:
        return base64.b64decode(obj["__bytes__"])
    if obj.keys() == {"__items__"}:
        return {key: item for key, item in obj["__items__"]}
    return obj


# --- Redis-fed spiders ------------------------------------------------------------------------


def start_request(spider: Spider, url: str) -> Request:
    """The request the spider's own ``start()`` makes for a start URL."""
    if hasattr(spider, "start_request_for"):  # a list, a feed, or a discovery page
        return spider.start_request_for(url)
    if isinstance(spider, ReleaseSpider):
        return Request(url, dont_filter=True, meta=dict(LIST_PAGE))
    return Request(url, dont_filter=True)


def host_allowed(url: str, allowed_domains: Sequence[str]) -> bool:
    """Whether ``url`` is on one of the domains (or their subdomains); any URL if none."""
    if not allowed_domains:
        return True
    host = urlsplit(url).hostname or ""
    return any(host == domain or host.endswith(f".{domain}") for domain in allowed_domains)


def parse_message(data: bytes | str, encoding: str = "utf-8") -> str | None:
    """The URL of a start message: JSON ``{"url": ...}`` or a plain URL; None if neither."""
    text = bytes_to_str(data, encoding).strip()
    if text.startswith("{"):
        try:
            url = json.loads(text).get("url")
        except (ValueError, AttributeError):
            return None
        return url.strip() if isinstance(url, str) and url.strip() else None
    return text or None


class RedisFedMixin(RedisMixin):
    """Reads start URLs from Redis instead of ``start_urls`` and idles waiting for more.

    scrapy-redis's own idle timeout (``MAX_IDLE_TIME_BEFORE_CLOSE``) counts from when the
    class was imported and resets only while start URLs are waiting, so a worker that has
    been busy for longer than the timeout closes the moment it runs dry; this one counts
    from the worker's last response or scheduled request (``STNEWS_WORKER_MAX_IDLE``).
    """

    worker_max_idle: float = 0.0
    _last_active: float = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Any:
        spider = super().from_crawler(crawler, *args, **kwargs)
        extra = setting(crawler.settings, "STNEWS_EXTRA_ALLOWED_DOMAINS")
        # Every worker may receive requests for a mirror's host, not only the one that read
        # its start URL: the host must be allowed in all of them (``--allow-domain``).
        if extra and getattr(spider, "allowed_domains", None):
            spider.allowed_domains = [*spider.allowed_domains, *extra]
        spider.max_idle_time = 0  # scrapy-redis's timer; see the class docstring
        spider.worker_max_idle = setting(crawler.settings, "STNEWS_WORKER_MAX_IDLE")
        spider._last_active = time.monotonic()
        spider.setup_redis(crawler)
        crawler.signals.connect(spider._touch, signal=signals.response_received)
        crawler.signals.connect(spider._touch, signal=signals.request_scheduled)
        return spider

    async def start(self) -> AsyncIterator[Request]:
        # Logged once the engine runs: from here on SIGTERM/SIGINT closes the spider cleanly.
        self.logger.info("waiting for start URLs on %s", self.redis_key)
        for request in self.next_requests():
            yield request

    def make_request_from_data(self, data: bytes | str) -> list[Request]:
        url = parse_message(data, self.redis_encoding or "utf-8")
        if url is None:
            self.logger.warning("ignoring start message without a URL: %r", data)
            return []
        # Start requests bypass the offsite filter, and every later request of another host
        # would be dropped by it: refuse here, saying why.
        if not host_allowed(url, getattr(self, "allowed_domains", None) or []):
            self.logger.error(
                "ignoring start URL %s: its host is not allowed for %s "
                "(run the workers with --allow-domain %s)",
                url,
                self.name,
                urlsplit(url).hostname,
            )
            return []
        return [start_request(self, url)]

    def spider_idle(self) -> None:
        if self.count_size(self.redis_key) > 0:
            self._touch()
        self.schedule_next_requests()
        if self.worker_max_idle and time.monotonic() - self._last_active >= self.worker_max_idle:
            self.logger.info("idle for %.0f s with nothing queued: closing", self.worker_max_idle)
            return
        raise DontCloseSpider

    def _touch(self, **_: Any) -> None:
        self._last_active = time.monotonic()


@cache
def redis_spider_class(spider_cls: type[Spider]) -> type[Spider]:
    """``spider_cls`` as a Redis-fed worker: same name, same parsing, start URLs from Redis."""
    return type(
        f"Redis{spider_cls.__name__}",
        (RedisFedMixin, spider_cls),
        {"__module__": __name__, "__doc__": spider_cls.__doc__},
    )


class WorkerHealthMonitor(HealthMonitor):
    """Judges a source's health only in the worker that fetched its first list page.

    Another worker may have fetched only detail pages; judged alone, its share of the crawl
    would read as "no list page could be fetched".
    """

    def spider_closed(self, spider: Any, reason: str) -> None:
        if self.crawler.stats.get_value("health/first_page_items") is None:
            return
        super().spider_closed(spider, reason)

"""Distributed crawling: worker processes on any number of machines share crawls through Redis.

scrapy-redis supplies the shared pieces: a scheduler whose request queue lives in Redis and a
duplicate filter whose fingerprints live there too, so a page that one worker discovers is
fetched by exactly one worker. A crawl round of a source starts when ``enqueue()`` (the
scheduler, or ``stnews enqueue``) pushes the source's start URLs; an idle worker picks each one
up and turns it into the request the spider's own ``start()`` would make. Everything else
(pipelines, the incremental middleware, crawl-run records) works as in a local crawl against
the shared database.

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
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import redis
from scrapy import Request, Spider, signals
from scrapy.core.engine import ExecutionEngine
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, ScrapyDeprecationWarning
from scrapy.settings import BaseSettings, Settings
from scrapy.spiderloader import get_spider_loader
from scrapy_redis.spiders import RedisMixin
from scrapy_redis.utils import bytes_to_str

from crawler.health import HealthMonitor
from crawler.release_spider import LIST_PAGE, ReleaseSpider
from crawler.runner import CrawlResult, ProgressHook, project_settings, run_crawls

logger = logging.getLogger(__name__)

# scrapy-redis 0.9 still passes `spider=` to the stats collector: one warning per request kind
# in every worker's log, about code that is not ours.
warnings.filterwarnings(
    "ignore",
    message="Passing a 'spider' argument to StatsCollector",
    category=ScrapyDeprecationWarning,
    module=r"scrapy_redis\.",
)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_PREFIX = "stnews"
#: Crawl-run records of workers say so (``crawl_runs.trigger``).
WORKER_TRIGGER = "worker"
CONDITIONAL_MIDDLEWARE = "crawler.incremental.ConditionalListMiddleware"
HEALTH_MONITOR = "crawler.health.HealthMonitor"


def resolve_redis_url(settings: BaseSettings | None = None) -> str:
    """The Redis URL: setting ``REDIS_URL``, else environment ``REDIS_URL``, else local."""
    configured = settings.get("REDIS_URL") if settings is not None else None
    return configured or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def resolve_prefix(settings: BaseSettings | None = None, prefix: str | None = None) -> str:
    """The key prefix: ``prefix``, else setting, else environment ``STNEWS_REDIS_PREFIX``,
    else ``stnews``."""
    configured = settings.get("STNEWS_REDIS_PREFIX") if settings is not None else None
    prefix = prefix or configured or os.environ.get("STNEWS_REDIS_PREFIX") or DEFAULT_PREFIX
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
        "STNEWS_WORKER_POLL_INTERVAL": base.getfloat("STNEWS_WORKER_POLL_INTERVAL", 0.5),
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
        extra = crawler.settings.getlist("STNEWS_EXTRA_ALLOWED_DOMAINS")
        # Every worker may receive requests for a mirror's host, not only the one that read
        # its start URL: the host must be allowed in all of them (``--allow-domain``).
        if extra and getattr(spider, "allowed_domains", None):
            spider.allowed_domains = [*spider.allowed_domains, *extra]
        spider.max_idle_time = 0  # scrapy-redis's timer; see the class docstring
        spider.worker_max_idle = crawler.settings.getfloat("STNEWS_WORKER_MAX_IDLE", 0)
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


# --- enqueueing and running -------------------------------------------------------------------


@dataclass(frozen=True)
class Enqueued:
    source: str
    key: str
    urls: tuple[str, ...]
    #: True when no request of an earlier round was queued and its fingerprints were cleared.
    new_round: bool
    #: Start URL hosts the spider does not allow: workers need ``--allow-domain`` for them.
    foreign_hosts: tuple[str, ...] = ()
    #: False when ``if_idle`` found the previous round still in Redis and pushed nothing.
    pushed: bool = True
    #: What of an earlier round was in Redis: start messages no worker took yet, and
    #: queued requests.
    waiting: int = 0
    queued: int = 0


def connect(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=30)


def display_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo = f"{parts.username or ''}:***"
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = f"{userinfo}@{host}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def enqueue(
    source: str,
    redis_url: str | None = None,
    prefix: str | None = None,
    start_urls: Sequence[str] | None = None,
    *,
    settings: Settings | None = None,
    client: redis.Redis | None = None,
    if_idle: bool = False,
) -> Enqueued:
    """Start a crawl round of ``source``: push its start URLs (or ``start_urls``) to Redis.

    If no request of an earlier round is still queued, that round's fingerprints are cleared
    first, so the new round fetches every page again (the incremental middleware still skips
    releases already stored). Queued requests mean a round is under way: it goes on and its
    fingerprints keep guarding against fetching a page twice.

    With ``if_idle`` nothing is pushed while an earlier round is still in Redis (start
    messages not yet taken, or queued requests); the result says so (``pushed`` False).
    """
    settings = settings or project_settings()
    spider_cls = get_spider_loader(settings).load(source)
    spider = spider_cls()
    points = getattr(spider, "start_points", None)
    urls = list(start_urls) if start_urls else list(points() if points else spider.start_urls)
    if not urls:
        raise ValueError(f"{source} has no start URLs")
    allowed = list(getattr(spider, "allowed_domains", None) or [])
    foreign = tuple(
        sorted({urlsplit(url).hostname or "" for url in urls if not host_allowed(url, allowed)})
    )
    keys = RedisKeys.of(resolve_prefix(settings, prefix), spider_cls.name)
    server = client or connect(redis_url or resolve_redis_url(settings))
    messages = [json.dumps({"url": url}) for url in urls]
    with server.pipeline() as pipe:
        # Check and push in one transaction: a worker taking a start message or pushing
        # requests in between aborts it.
        while True:
            try:
                pipe.watch(keys.start_urls, keys.requests)
                waiting = int(pipe.llen(keys.start_urls))
                queued = _queue_size(pipe, keys.requests)
                new_round = queued == 0
                if if_idle and (waiting or queued):
                    pipe.unwatch()
                    logger.debug(
                        "not enqueueing %s: its last round is still queued on %s "
                        "(%d start message(s), %d request(s))",
                        source,
                        keys.start_urls,
                        waiting,
                        queued,
                    )
                    return Enqueued(
                        source,
                        keys.start_urls,
                        tuple(urls),
                        new_round=False,
                        foreign_hosts=foreign,
                        pushed=False,
                        waiting=waiting,
                        queued=queued,
                    )
                pipe.multi()
                if new_round:
                    pipe.delete(keys.dupefilter)
                pipe.rpush(keys.start_urls, *messages)
                pipe.execute()
                break
            except redis.WatchError:
                continue
    logger.info("enqueued %d start URL(s) of %s on %s", len(urls), source, keys.start_urls)
    return Enqueued(
        source,
        keys.start_urls,
        tuple(urls),
        new_round,
        foreign_hosts=foreign,
        waiting=waiting,
        queued=queued,
    )


def _queue_size(client: Any, key: str) -> int:
    """Requests queued under ``key``: a sorted set (scrapy-redis's default priority queue)
    or a list (its FIFO and LIFO queues)."""
    kind = bytes_to_str(client.type(key))
    if kind == "zset":
        return int(client.zcard(key))
    if kind == "list":
        return int(client.llen(key))
    return 0


def run_workers(
    sources: Iterable[str] | None,
    settings: Settings,
    spider_args: Mapping[str, Any] | None = None,
    on_progress: ProgressHook | None = None,
) -> list[CrawlResult]:
    """Run the named sources (all when None) as Redis-fed spiders in this process.

    ``settings`` must hold ``distributed_settings()``. Returns when every spider closed: it
    stayed idle for ``STNEWS_WORKER_MAX_IDLE`` seconds, or SIGTERM/SIGINT stopped the process
    (in-flight pages are finished and their new requests queued; a second signal forces).
    """
    _poll_idle_engines_every(settings.getfloat("STNEWS_WORKER_POLL_INTERVAL", 0.5))
    # The same progress and results as `stnews crawl`, with each spider Redis-fed.
    return run_crawls(sources, settings, spider_args, on_progress, adapt=redis_spider_class)


def _poll_idle_engines_every(seconds: float) -> None:
    """How often an idle worker looks at the shared queue again.

    Scrapy's engine asks its scheduler for requests after each response and otherwise on a
    5-second heartbeat, a class attribute with no setting. In a local crawl nothing else
    fills the queue; here other workers do, and an idle worker would leave their requests
    waiting up to 5 s. A worker is a process of its own, so the class attribute is set here.
    """
    if hasattr(ExecutionEngine, "_SLOT_HEARTBEAT_INTERVAL") and seconds > 0:
        ExecutionEngine._SLOT_HEARTBEAT_INTERVAL = seconds
    else:
        logger.warning("cannot shorten Scrapy's idle poll: idle workers poll every 5 s")


def prepare_database(url: str) -> None:
    """Bring the schema up to date before any crawler starts, so that a database problem
    stops the worker at once rather than in the middle of opening its spiders."""
    from storage import Database

    Database(url).dispose()

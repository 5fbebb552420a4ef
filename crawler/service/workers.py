"""Distributed crawling, the running side: `enqueue` starts a round of a source on the shared
Redis queue and `run_workers` runs Redis-fed spiders in this process until they go idle. The
Scrapy components they plug in (scheduler settings, the Redis-fed spider mixin, the request
serializer) are in ``crawler.distributed``; Redis keys are described there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
from scrapy.settings import Settings
from scrapy.spiderloader import get_spider_loader
from scrapy_redis.utils import bytes_to_str

from crawler.config import setting
from crawler.distributed import (
    RedisKeys,
    host_allowed,
    redis_spider_class,
    resolve_prefix,
    resolve_redis_url,
)
from crawler.project import project_settings
from crawler.scrapy_private import set_engine_heartbeat
from crawler.service.runner import CrawlResult, ProgressHook, run_crawls

logger = logging.getLogger(__name__)




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
    _poll_idle_engines_every(setting(settings, "STNEWS_WORKER_POLL_INTERVAL"))
    # The same progress and results as `stnews crawl`, with each spider Redis-fed.
    return run_crawls(sources, settings, spider_args, on_progress, adapt=redis_spider_class)


def _poll_idle_engines_every(seconds: float) -> None:
    """How often an idle worker looks at the shared queue again.

    Scrapy's engine asks its scheduler for requests after each response and otherwise on a
    5-second heartbeat, a class attribute with no setting. In a local crawl nothing else
    fills the queue; here other workers do, and an idle worker would leave their requests
    waiting up to 5 s. A worker is a process of its own, so the class attribute is set here.
    """
    if not (seconds > 0 and set_engine_heartbeat(seconds)):
        logger.warning("cannot shorten Scrapy's idle poll: idle workers poll every 5 s")


def prepare_database(url: str) -> None:
    """Bring the schema up to date before any crawler starts, so that a database problem
    stops the worker at once rather than in the middle of opening its spiders."""
    from storage import Database

    Database(url).dispose()

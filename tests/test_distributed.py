"""Distributed crawling: workers sharing a Redis queue fetch every page once and store every
release once. Needs Redis at 127.0.0.1:6379 (skipped without it, except in CI)."""

import asyncio
import contextlib
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import redis
from scrapy import Request
from scrapy.utils.test import get_crawler
from scrapy_redis.queue import PriorityQueue
from sqlalchemy import select

from bench.sitegen import LIST_PATH, SyntheticSite
from crawler.distributed import (
    JsonRequestSerializer,
    RedisKeys,
    distributed_settings,
    parse_message,
    redis_spider_class,
    resolve_prefix,
    resolve_redis_url,
)
from crawler.release_spider import listing
from crawler.service.workers import enqueue
from crawler.source_registry import spider_classes
from storage import CrawlRun, Database, Release, Source
from tests import forked_cli
from tests.crawl_support import run_cli
from tests.databases import REDIS_URL, new_database_url
from tests.support import ROOT

RELEASES = 60
# Each page takes this long to serve and a worker takes 2 requests at a time, so that one
# worker alone cannot drain the queue before the other polls it (idle workers poll every 0.5 s).
PAGE_DELAY = 0.05

#: The nstc source's spider class, as the registry builds it from sources.toml.
NstcSpider = spider_classes()["nstc"]


# --- settings and key prefixes ----------------------------------------------------------------


def test_every_redis_key_is_prefixed() -> None:
    settings = distributed_settings(REDIS_URL, "deploy-a")
    keys = RedisKeys.of("deploy-a", "nstc")
    assert settings["SCHEDULER_QUEUE_KEY"] % {"spider": "nstc"} == keys.requests
    assert settings["SCHEDULER_DUPEFILTER_KEY"] % {"spider": "nstc"} == keys.dupefilter
    assert settings["REDIS_START_URLS_KEY"] % {"name": "nstc"} == keys.start_urls
    assert keys == RedisKeys(
        "deploy-a:nstc:start_urls", "deploy-a:nstc:requests", "deploy-a:nstc:dupefilter"
    )
    assert settings["SCHEDULER"] == "scrapy_redis.scheduler.Scheduler"
    assert settings["DUPEFILTER_CLASS"] == "scrapy_redis.dupefilter.RFPDupeFilter"
    assert settings["SCHEDULER_PERSIST"] is True
    assert settings["REDIS_URL"] == REDIS_URL
    # scrapy-redis %-formats the key settings: a "%" in the prefix must survive that.
    odd = distributed_settings(REDIS_URL, "50%off")
    assert odd["SCHEDULER_QUEUE_KEY"] % {"spider": "nstc"} == "50%off:nstc:requests"


def test_redis_url_and_prefix_default_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("STNEWS_REDIS_PREFIX", raising=False)
    assert resolve_redis_url() == "redis://127.0.0.1:6379/0"
    assert resolve_prefix() == "stnews"
    monkeypatch.setenv("REDIS_URL", "redis://10.0.0.5:6379/2")
    monkeypatch.setenv("STNEWS_REDIS_PREFIX", "staging")
    assert resolve_redis_url() == "redis://10.0.0.5:6379/2"
    assert resolve_prefix() == "staging"
    assert resolve_prefix(prefix="mine") == "mine"
    with pytest.raises(ValueError):
        resolve_prefix(prefix="two words")


# --- start messages ---------------------------------------------------------------------------


def test_enqueue_pushes_json_start_messages(redis_client: redis.Redis, prefix: str) -> None:
    done = enqueue("nstc", REDIS_URL, prefix)
    # NSTC's list is discovered: a round starts at the page whose menu links to it.
    own = NstcSpider().start_points()
    assert own == ["https://www.nstc.gov.tw/?l=en"]
    assert done.key == f"{prefix}:nstc:start_urls"
    assert done.urls == tuple(own)
    assert done.new_round
    assert done.foreign_hosts == ()
    messages = [json.loads(m) for m in redis_client.lrange(done.key, 0, -1)]
    assert messages == [{"url": url} for url in own]

    mirror = "http://127.0.0.1:9/folksonomy/list/x?l=en"
    done = enqueue("nstc", REDIS_URL, prefix, [mirror])
    assert done.foreign_hosts == ("127.0.0.1",)
    assert json.loads(redis_client.lrange(done.key, -1, -1)[0]) == {"url": mirror}


def test_enqueue_clears_fingerprints_only_between_rounds(
    redis_client: redis.Redis, prefix: str
) -> None:
    keys = RedisKeys.of(prefix, "nstc")
    redis_client.sadd(keys.dupefilter, "fingerprint-of-the-last-round")
    assert enqueue("nstc", REDIS_URL, prefix).new_round
    assert not redis_client.exists(keys.dupefilter)

    # Requests still queued: a round is under way and its fingerprints must stay.
    redis_client.sadd(keys.dupefilter, "fingerprint-of-this-round")
    redis_client.zadd(keys.requests, {"a queued request": 0})
    assert not enqueue("nstc", REDIS_URL, prefix).new_round
    assert redis_client.sismember(keys.dupefilter, "fingerprint-of-this-round")


def test_parse_message() -> None:
    assert parse_message(b'{"url": "https://a.example/list"}') == "https://a.example/list"
    assert parse_message(b"https://a.example/list\n") == "https://a.example/list"
    assert parse_message(b'{"meta": {}}') is None
    assert parse_message(b"{not json") is None
    assert parse_message(b"  ") is None


def _worker_spider(prefix: str, allowed_domains: tuple[str, ...] = ()) -> NstcSpider:
    cls = redis_spider_class(NstcSpider)
    settings = distributed_settings(REDIS_URL, prefix, allowed_domains=allowed_domains)
    return cls.from_crawler(get_crawler(cls, settings))


def test_start_message_makes_the_spiders_own_start_request(prefix: str) -> None:
    spider = _worker_spider(prefix)
    assert spider.name == "nstc"
    assert spider.redis_key == f"{prefix}:nstc:start_urls"

    async def own_start() -> list[Request]:
        return [request async for request in NstcSpider().start()]

    (expected,) = asyncio.run(own_start())
    for message in (json.dumps({"url": expected.url}).encode(), expected.url.encode()):
        (request,) = spider.make_request_from_data(message)
        assert type(request) is Request
        assert (request.url, request.method) == (expected.url, "GET")
        assert request.callback == spider.parse_discovery  # the discovery page, as start()
        assert expected.callback.__name__ == "parse_discovery"
        assert request.meta == expected.meta
        assert request.dont_filter and expected.dont_filter
    assert spider.make_request_from_data(b'{"no": "url"}') == []


def test_start_urls_of_other_hosts_need_allowing(prefix: str) -> None:
    mirror = json.dumps({"url": "http://127.0.0.1:8000/folksonomy/list/x?l=en"}).encode()
    assert _worker_spider(prefix).make_request_from_data(mirror) == []
    (request,) = _worker_spider(prefix, ("127.0.0.1",)).make_request_from_data(mirror)
    assert request.url == "http://127.0.0.1:8000/folksonomy/list/x?l=en"


def test_queued_requests_keep_callback_meta_and_kwargs_as_json(
    redis_client: redis.Redis, prefix: str
) -> None:
    spider = _worker_spider(prefix)
    queue = PriorityQueue(
        redis_client, spider, f"{prefix}:%(spider)s:requests", serializer=JsonRequestSerializer
    )
    detail = Request(
        "https://www.nstc.gov.tw/folksonomy/detail/d82a8144-43dc-412b-9d71-4aa310c72fd6?l=en",
        callback=spider.parse_detail,
        cb_kwargs={"list_title": "Taiwan–France call", "list_date": "2024-05-01"},
        meta={**listing("d82a8144", "Taiwan–France call", "2024-05-01"), "depth": 1},
        headers={"If-None-Match": '"abc"'},
        priority=3,
    )
    queue.push(detail)
    (raw,) = redis_client.zrange(f"{prefix}:nstc:requests", 0, -1)
    assert json.loads(raw)["callback"] == "parse_detail"  # JSON, never pickle

    popped = queue.pop()
    assert popped.url == detail.url
    assert popped.callback == spider.parse_detail
    assert popped.cb_kwargs == detail.cb_kwargs
    assert popped.meta == detail.meta
    assert popped.headers.get("If-None-Match") == b'"abc"'
    assert popped.priority == 3


# --- two workers, one crawl -------------------------------------------------------------------


class CountingSite:
    """A synthetic NSTC site on 127.0.0.1 that counts the requests for each path."""

    def __init__(self, count: int) -> None:
        self.site = SyntheticSite(count)
        self.hits: Counter[str] = Counter()
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with owner._lock:
                    owner.hits[self.path] += 1
                time.sleep(PAGE_DELAY)
                status, body = owner.site.response(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"

    def expected_paths(self) -> set[str]:
        site = self.site
        urls = [site.list_url(page) for page in range(1, site.pages + 1)]
        urls += [site.detail_url(seq) for seq in range(1, site.count + 1)]
        return {url.removeprefix(site.origin) for url in urls}


@pytest.fixture
def counting_site() -> Iterator[CountingSite]:
    site = CountingSite(RELEASES)
    thread = threading.Thread(target=site.server.serve_forever, daemon=True)
    thread.start()
    yield site
    site.server.shutdown()
    site.server.server_close()


def _worker(db: str, prefix: str, *args: str, stderr: Path | None = None) -> forked_cli.Forked:
    """`stnews worker` in a process of its own; its stderr to a file if given."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "STNEWS_LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL", None)
    return forked_cli.Forked(
        ["--db", db, "worker", "nstc", "--redis", REDIS_URL, "--prefix", prefix,
         "--allow-domain", "127.0.0.1", "--json",
         "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=False",
         "-s", "ALLOW_PRIVATE_ADDRESSES=127.0.0.1",
         "-s", "ROBOTSTXT_OBEY=False", "-s", "CONCURRENT_REQUESTS=2", *args],
        env=env, cwd=ROOT, stderr=stderr,
    )  # fmt: skip


@pytest.mark.slow
def test_two_workers_fetch_every_page_once_and_store_every_release_once(
    prefix: str,
    counting_site: CountingSite,
    tmp_path: Path,
    record_property,
) -> None:
    db = new_database_url(tmp_path, "distributed.db")  # each leg of the suite: its backend
    start = f"{counting_site.origin}{LIST_PATH}?l=en"
    run_cli(
        "enqueue", "nstc", "--redis", REDIS_URL, "--prefix", prefix, "--start-url", start, db=db
    )

    workers = [_worker(db, prefix, "--max-idle", "1.5") for _ in range(2)]
    summaries = []
    with contextlib.ExitStack() as running:  # each killed on the way out if still running
        for worker in workers:
            running.enter_context(worker)
        for worker in workers:
            stdout, stderr = worker.communicate(timeout=90)
            assert worker.returncode == 0, f"worker failed:\n{stdout}\n{stderr}"
            (summary,) = json.loads(stdout)
            assert summary["status"] == "finished", stderr
            assert summary["errors"] == 0, stderr
            summaries.append(summary)

    # Every list and detail page fetched exactly once, across both workers.
    expected_paths = counting_site.expected_paths()
    assert len(expected_paths) == RELEASES + SyntheticSite(RELEASES).pages
    assert set(counting_site.hits) == expected_paths
    assert {path: n for path, n in counting_site.hits.items() if n != 1} == {}
    assert sum(s["pages"] for s in summaries) == len(expected_paths)
    assert sum(s["new"] for s in summaries) == RELEASES

    # Every release stored exactly once.
    database = Database(db)
    try:
        with database.session(readonly=True) as session:
            ids = session.scalars(
                select(Release.native_id).join(Source).where(Source.name == "nstc")
            ).all()
            runs = session.scalars(select(CrawlRun).where(CrawlRun.source == "nstc")).all()
            run_states = sorted((run.trigger, run.status) for run in runs)
    finally:
        database.dispose()
    assert len(ids) == RELEASES
    assert set(ids) == {SyntheticSite.release_uuid(seq) for seq in range(1, RELEASES + 1)}
    assert run_states == [("worker", "finished")] * 2

    # How the work was shared depends on timing; report it rather than assert it.
    split = [s["pages"] for s in summaries]
    record_property("pages_per_worker", split)
    print(f"pages per worker {split}")


@pytest.mark.slow
def test_worker_stopped_mid_crawl_leaves_its_work_to_the_others(
    prefix: str, counting_site: CountingSite, tmp_path: Path
) -> None:
    db = new_database_url(tmp_path, "distributed.db")
    start = f"{counting_site.origin}{LIST_PATH}?l=en"
    run_cli(
        "enqueue", "nstc", "--redis", REDIS_URL, "--prefix", prefix, "--start-url", start, db=db
    )
    with _worker(db, prefix) as first:  # killed on the way out if still running
        deadline = time.monotonic() + 60
        while counting_site.hits.total() < 5:
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the worker fetched nothing"
            time.sleep(0.1)
        first.send_signal(signal.SIGTERM)
        stdout, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stderr
    (stopped,) = json.loads(stdout)
    assert stopped["status"] == "interrupted"
    assert 0 < stopped["pages"] < len(counting_site.expected_paths())

    # What the stopped worker had taken it finished; what it found is queued for the next.
    rest = _worker(db, prefix, "--max-idle", "1.5")
    stdout, stderr = rest.communicate(timeout=90)
    assert rest.returncode == 0, stderr
    (finished,) = json.loads(stdout)
    assert finished["stored"] == RELEASES
    assert stopped["new"] + finished["new"] == RELEASES
    assert set(counting_site.hits) == counting_site.expected_paths()
    assert {path: n for path, n in counting_site.hits.items() if n != 1} == {}


@pytest.mark.slow
def test_idle_worker_stops_cleanly_on_sigint(prefix: str, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    db = new_database_url(tmp_path, "worker.db")
    with _worker(db, prefix, "-v", "-s", "LOG_LEVEL=INFO", stderr=log) as worker:
        deadline = time.monotonic() + 30
        while "waiting for start URLs" not in log.read_text():
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.2)
        worker.send_signal(signal.SIGINT)
        stdout, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, log.read_text()
    (summary,) = json.loads(stdout)
    assert summary["status"] == "interrupted"

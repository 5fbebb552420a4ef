"""`stnews worker` and `stnews enqueue`: distributed crawling through Redis
(crawler/distributed.py, crawler/service/workers.py)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crawler.cli.common import (
    UserError,
    add_scrapy_options,
    check_crawl_settings,
    err,
    known_sources,
    name_value,
    open_database,
    out,
    project_settings,
    seconds_or_zero,
)


def register(commands: argparse._SubParsersAction) -> None:
    worker = commands.add_parser(
        "worker", help="crawl requests from the shared Redis queue until stopped"
    )
    worker.add_argument("sources", nargs="*", metavar="SOURCE", help="sources (default: all)")
    redis_arguments(worker)
    worker.add_argument(
        "--max-idle",
        type=seconds_or_zero,
        default=0.0,
        metavar="SECONDS",
        help="exit after this long with nothing to do (default: run until SIGTERM/SIGINT)",
    )
    worker.add_argument(
        "--allow-domain",
        dest="allowed_domains",
        action="append",
        default=[],
        metavar="HOST",
        help="also crawl this host (a mirror or test copy of a site enqueued with --start-url)",
    )
    add_scrapy_options(worker)
    worker.add_argument("--json", action="store_true", help="print the summary as JSON")
    worker.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's log")
    worker.set_defaults(handler=cmd_worker)

    enqueue = commands.add_parser(
        "enqueue", help="start a crawl of sources by the workers: queue their start URLs"
    )
    enqueue.add_argument("sources", nargs="*", metavar="SOURCE", help="sources (default: all)")
    redis_arguments(enqueue)
    enqueue.add_argument(
        "--start-url", metavar="URL", help="queue this URL instead of the source's own"
    )
    enqueue.set_defaults(handler=cmd_enqueue)


def redis_arguments(parser: argparse.ArgumentParser) -> None:
    """`--redis URL` and `--prefix PREFIX`: shared by worker, enqueue and `schedule --enqueue`."""
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="Redis URL (default: REDIS_URL / $REDIS_URL or redis://127.0.0.1:6379/0)",
    )
    parser.add_argument(
        "--prefix",
        help="prefix of every Redis key (default: STNEWS_REDIS_PREFIX / $STNEWS_REDIS_PREFIX "
        "or stnews); workers and whatever enqueues must agree",
    )


def cmd_worker(args: argparse.Namespace) -> int:
    # Imported here so that building the parser stays cheap for the other commands.
    from crawler.cli.crawl import link_events, print_summary, result_dict
    from crawler.distributed import distributed_settings, resolve_prefix, resolve_redis_url
    from crawler.service.workers import display_url, run_workers

    base = project_settings()
    redis_url = args.redis or resolve_redis_url(base)
    check_redis(redis_url)
    overrides: dict[str, Any] = distributed_settings(
        redis_url,
        resolve_prefix(base, args.prefix),
        max_idle=args.max_idle,
        allowed_domains=args.allowed_domains,
        base=base,
    )
    overrides.update(name_value(text) for text in args.settings)
    if args.db:
        overrides["DATABASE_URL"] = args.db
    if not args.verbose:
        overrides.setdefault("LOG_LEVEL", "WARNING")
    settings = check_crawl_settings(project_settings(overrides))
    known_sources(args.sources, settings)
    # Opened (and migrated) before any spider starts: an unusable database is one error line.
    database = open_database(settings["DATABASE_URL"])
    spider_args = dict(name_value(text) for text in args.spider_args)
    if not args.json:
        err.print(
            f"worker: {', '.join(args.sources) or 'all sources'} from {display_url(redis_url)} "
            f"(prefix {settings['STNEWS_REDIS_PREFIX']})"
        )
    results = run_workers(args.sources or None, settings, spider_args)

    from storage.releases import count_by_source

    try:
        link_events(database)  # as after `stnews crawl`: new releases join their events
        with database.session(readonly=True) as session:
            stored = count_by_source(session)
    finally:
        database.dispose()
    rows = [result_dict(result, stored) for result in results]
    if args.json:
        sys.stdout.write(json.dumps(rows, indent=1) + "\n")
    else:
        print_summary(rows)
    # Stopped by a signal is a clean stop for a worker; anything else is a failure.
    return 0 if all(r.finish_reason in ("finished", "shutdown") for r in results) else 1


def cmd_enqueue(args: argparse.Namespace) -> int:
    from crawler.distributed import resolve_redis_url
    from crawler.service.workers import enqueue

    settings = project_settings()
    names = known_sources(args.sources)
    if args.start_url and len(names) != 1:
        raise UserError("--start-url needs exactly one source")
    redis_url = args.redis or resolve_redis_url(settings)
    check_redis(redis_url)
    for name in names:
        start_urls = [args.start_url] if args.start_url else None
        done = enqueue(name, redis_url, args.prefix, start_urls, settings=settings)
        round_note = "new round" if done.new_round else "joins the round under way"
        out.print(f"{name}: {len(done.urls)} start URL(s) on {done.key} ({round_note})")
        for host in done.foreign_hosts:
            out.print(f"  note: workers must run with --allow-domain {host}", style="yellow")
    return 0


def check_redis(url: str) -> None:
    """Fail at start, with a clear message, when Redis does not answer (UserError)."""
    import redis

    from crawler.service.workers import connect, display_url

    client = connect(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise UserError(f"Redis not reachable at {display_url(url)}: {exc}") from None
    finally:
        client.close()

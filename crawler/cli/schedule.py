"""`stnews schedule`: run the crawls on a schedule (and, with `--serve`, the feed server).

Registered in `crawler/cli.py` with `add_command(commands)`; `python -m crawler.schedule_cli
[--db URL] schedule ...` runs the same command on its own.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from crawler.cli.common import (
    check_crawl_settings,
    known_sources,
    open_database,
    positive_seconds,
    project_settings,
    seconds_or_zero,
)
from crawler.cli.workers import check_redis, redis_arguments

logger = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    schedule = commands.add_parser(
        "schedule",
        help="crawl every source on its interval and rebuild the feeds after news",
        description=(
            "Crawl each source on its own interval (`interval` in sources.toml),"
            " each run a child `stnews crawl` with a time limit, and rebuild the feed files after"
            " every run that stored something new or changed. The schedule is kept in the"
            " database: a restart resumes it. One scheduler per database runs jobs; others wait"
            " as standbys. SIGTERM or SIGINT stops it cleanly. With --enqueue, a run crawls"
            " nothing here: it puts the source's start URLs on the shared Redis queue for"
            " `stnews worker` processes, and the feed files are rebuilt when the workers have"
            " stored something."
        ),
    )
    schedule.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="SOURCE",
        help="schedule this source (repeatable; default: every source)",
    )
    schedule.add_argument(
        "--interval", type=positive_seconds, metavar="SECONDS", help="one interval for every source"
    )
    schedule.add_argument(
        "--jitter",
        type=seconds_or_zero,
        metavar="SECONDS",
        help="random delay of each run, at most (default: SCHEDULE_JITTER)",
    )
    schedule.add_argument(
        "--time-limit",
        type=positive_seconds,
        metavar="SECONDS",
        help="stop a crawl running longer (default: CRAWL_TIME_LIMIT)",
    )
    schedule.add_argument(
        "--lease-seconds",
        type=positive_seconds,
        metavar="SECONDS",
        help="leader lease length; a standby takes over this long after the leader dies "
        "(default: SCHEDULE_LEASE_SECONDS)",
    )
    schedule.add_argument(
        "--enqueue",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="put each source's start URLs on the shared Redis queue for `stnews worker` "
        "instead of crawling here (default: SCHEDULE_ENQUEUE, off)",
    )
    redis_arguments(schedule)
    schedule.add_argument(
        "--feed-check",
        type=positive_seconds,
        metavar="SECONDS",
        help="with --enqueue: how often to look for what the workers stored and rebuild the "
        "feeds (default: SCHEDULE_FEED_CHECK)",
    )
    schedule.add_argument("--replay", metavar="DIR", help="crawl saved fixtures, not the network")
    schedule.add_argument(
        "--feeds-dir", metavar="DIR", help="where the feed files are written (default: var/feeds)"
    )
    schedule.add_argument(
        "--serve", action="store_true", help="also serve the feeds over HTTP in this process"
    )
    schedule.add_argument("--host", default="127.0.0.1", help="with --serve (default: %(default)s)")
    schedule.add_argument(
        "--port", type=int, default=8080, help="with --serve (default: %(default)s)"
    )
    schedule.add_argument(
        "--once", action="store_true", help="run every source once and exit (for cron)"
    )
    schedule.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    schedule.set_defaults(handler=cmd_schedule)


def cmd_schedule(args: argparse.Namespace) -> int:
    # Imported here so that building the parser stays cheap for the other commands.
    from crawler.config import setting
    from crawler.feeds.write import DEFAULT_OUT_DIR
    from crawler.service.daemon import ScheduleService
    from crawler.service.scheduled_run import EnqueueTarget, Runtime, schedule_config

    if args.once and args.serve:
        raise ValueError("--serve runs a server until stopped; it cannot go with --once")
    settings = check_crawl_settings(project_settings())
    enqueue = args.enqueue if args.enqueue is not None else setting(settings, "SCHEDULE_ENQUEUE")
    _check_mode(args, enqueue)
    _configure_logging(args.verbose)
    sources = known_sources(list(dict.fromkeys(args.source)))
    replay = None
    if args.replay:
        replay = Path(args.replay).resolve()
        if not replay.is_dir():
            raise FileNotFoundError(f"replay directory not found: {replay}")

    target = None
    if enqueue:
        from crawler.distributed import resolve_prefix, resolve_redis_url


        redis_url = args.redis or resolve_redis_url(settings)
        check_redis(redis_url)  # a clear error at start, as `stnews worker` gives
        target = EnqueueTarget(redis_url, resolve_prefix(settings, args.prefix), settings)

    database_url = open_database(args).url  # a clear error now, not in every run
    runtime = Runtime(
        database_url,
        feeds_dir=Path(args.feeds_dir) if args.feeds_dir else DEFAULT_OUT_DIR,
        replay_dir=replay,
        base_url=setting(settings, "STNEWS_FEED_BASE_URL"),
        feed_limit=setting(settings, "STNEWS_FEED_LIMIT"),
        hub_url=setting(settings, "STNEWS_WEBSUB_HUB") or None,
        time_limit=args.time_limit or setting(settings, "CRAWL_TIME_LIMIT"),
        enqueue=target,
    )
    config = schedule_config(
        settings,
        sources,
        interval=args.interval,
        jitter=args.jitter,
        lease_seconds=args.lease_seconds,
        feed_check=args.feed_check,
    )
    service = ScheduleService(runtime, config)
    if args.serve:
        try:
            server = start_feed_server(database_url, args.host, args.port)
        except RuntimeError as exc:  # e.g. the port is taken: fail, so a supervisor sees it
            logger.error("%s", exc)
            runtime.database.dispose()
            return 1
        service.on_stop.append(server.stop)
    service.install_signal_handlers()
    if args.once:
        return service.run_once()
    return service.run_forever()


def _check_mode(args: argparse.Namespace, enqueue: bool) -> None:
    """Options of the other mode are mistakes, not silently ignored."""
    if enqueue:
        local = {"--replay": args.replay, "--time-limit": args.time_limit}
        flag = next((flag for flag, value in local.items() if value is not None), None)
        if flag:
            raise ValueError(
                f"{flag} is for crawls run here; with --enqueue the workers crawl"
                " (give them -s REPLAY_DIR=DIR to replay fixtures)"
            )
    else:
        remote = {"--redis": args.redis, "--prefix": args.prefix, "--feed-check": args.feed_check}
        flag = next((flag for flag, value in remote.items() if value is not None), None)
        if flag:
            raise ValueError(f"{flag} goes with --enqueue (or SCHEDULE_ENQUEUE = True)")


def start_feed_server(database_url: str, host: str, port: int) -> Any:
    """The feed server in a thread of this process; returns its handle (`.stop()`).

    The scheduler owns SIGTERM/SIGINT: the server thread leaves the handlers alone and is
    stopped after the crawls on shutdown. Raises RuntimeError if it cannot listen.
    """
    try:
        from crawler.server import start_server  # the web stack loads only with --serve
    except ImportError as exc:
        raise ValueError(f"--serve needs the feed server (crawler.server): {exc}") from exc
    handle = start_server(database_url, host, port)
    logger.info("serving feeds at %sfeeds/", handle.url)
    return handle


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not verbose:  # "Added job", "Running job": our own lines say what matters
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        # Alembic's plug-in set-up, on every open of the database: noise, and before a
        # one-line error it would hide the error.
        logging.getLogger("alembic").setLevel(logging.WARNING)

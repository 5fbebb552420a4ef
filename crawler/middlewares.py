"""Downloader middlewares: retries that back off and honour the server's ``Retry-After``."""

from __future__ import annotations

import email.utils
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.asyncio import sleep as reactor_sleep
from scrapy.utils.response import response_status_message

from crawler.config import setting
from crawler.scrapy_private import forget_parsed_page

logger = logging.getLogger(__name__)

#: Up to this fraction is added at random to each backoff delay, so that requests which
#: failed together do not all come back at the same instant.
BACKOFF_JITTER = 0.25
#: A long wait is slept in slices this long, so that a stopping crawl is not held up by it.
WAKE_INTERVAL = 1.0


def parse_retry_after(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date).

    None when the header is absent or malformed; a date in the past means no wait.
    """
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC by RFC 5322
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(attempt: int, base: float, cap: float, jitter: float = 0.0) -> float:
    """``base * 2**(attempt - 1)`` stretched by ``jitter`` (a fraction), never above ``cap``.

    ``attempt`` is the number of the retry about to be made: 1 for the first.
    """
    return min(cap, base * 2 ** (attempt - 1) * (1 + jitter))


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry middleware, waiting before each retry instead of retrying at once.

    The wait is the server's ``Retry-After`` when a retryable response carries one, else an
    exponential backoff (``RETRY_BACKOFF_BASE``, capped by ``RETRY_BACKOFF_MAX``). A
    ``Retry-After`` above ``RETRY_AFTER_MAX`` gives the request up: stalling a crawl for
    longer is worse than missing one page until the next run. The wait is an await on the
    event loop, so other requests go on meanwhile. Replayed responses are retried at once.
    """

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.backoff_base = setting(settings, "RETRY_BACKOFF_BASE")
        self.backoff_max = setting(settings, "RETRY_BACKOFF_MAX")
        self.retry_after_max = setting(settings, "RETRY_AFTER_MAX")
        self.random = random.Random()
        # Replaced in unit tests, which have no reactor.
        self.sleep: Callable[[float], Awaitable[None]] = reactor_sleep

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None and retry_after > self.retry_after_max:
            self._give_up_on_retry_after(request, retry_after)
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:  # retries exhausted; get_retry_request logged and counted it
            return response
        if "replay" in response.flags:  # a saved response: nothing to be polite to
            return retry
        delay = retry_after if retry_after is not None else self.backoff_for(retry)
        return retry if await self._wait(request, delay) else response

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        if request.meta.get("dont_retry", False) or not isinstance(
            exception, self.exceptions_to_retry
        ):
            return None
        retry = self._retry(request, exception)
        if retry is None:
            return None
        return retry if await self._wait(request, self.backoff_for(retry)) else None

    def backoff_for(self, retry: Request) -> float:
        jitter = self.random.uniform(0, BACKOFF_JITTER)
        return backoff_delay(retry.meta["retry_times"], self.backoff_base, self.backoff_max, jitter)

    async def _wait(self, request: Request, delay: float) -> bool:
        """Sleep ``delay`` seconds; False if the crawl began stopping meanwhile."""
        logger.debug("Waiting %.1f s before retrying %s", delay, request)
        remaining = delay
        while remaining > 0:
            step = min(remaining, WAKE_INTERVAL)
            await self.sleep(step)
            remaining -= step
            if not self.crawler.engine.running:
                logger.debug("Crawl stopping: not retrying %s", request)
                return False
        return True

    def _give_up_on_retry_after(self, request: Request, retry_after: float) -> None:
        self.crawler.stats.inc_value("retry/retry_after_too_long")
        level = request.meta.get("give_up_log_level", self.give_up_log_level)
        if isinstance(level, str):
            level = logging.getLevelName(level)
        logger.log(
            level,
            "Gave up retrying %(request)s: Retry-After %(wait).0f s exceeds "
            "RETRY_AFTER_MAX (%(max).0f s)",
            {"request": request, "wait": retry_after, "max": self.retry_after_max},
            extra={"spider": self.crawler.spider},
        )


class ForgetParsedPageMiddleware:
    """Spider middleware: once a callback's output is all out, drop the response's parsed page.

    Scrapy keeps a response until every item it yielded has left the item pipelines, which
    with the release writer's batches is a second or more, and a parsed 200 KB page is a few
    megabytes of lxml tree. Worse, the cached Selector and its response form a reference
    cycle, so without this the tree lives until Python's cyclic collector runs
    (``crawler.scrapy_private.forget_parsed_page``). It sits nearest the engine, so every
    other middleware is done with the output when it runs.
    """

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterable[Any]:
        try:
            yield from result
        finally:
            forget_parsed_page(response)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        try:
            async for output in result:
                yield output
        finally:
            forget_parsed_page(response)

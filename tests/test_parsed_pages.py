"""ForgetParsedPageMiddleware: a response's parsed page is freed as soon as its callback's
output is all out, not when Python's cyclic collector gets round to it (issue 19, memory)."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy.http import HtmlResponse
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from crawler import settings as project_settings
from crawler.middlewares import ForgetParsedPageMiddleware
from crawler.scrapy_private import CACHED_SELECTOR


def parsed_response() -> HtmlResponse:
    response = HtmlResponse(
        "https://example.org/list",
        body=b"<a href='/1'>one</a><a href='/2'>two</a>",
        encoding="utf-8",
    )
    assert response.css("a")  # the callback parsed it
    return response


def test_the_page_is_kept_while_the_callback_yields_and_dropped_after() -> None:
    response = parsed_response()
    selector = weakref.ref(getattr(response, CACHED_SELECTOR))
    seen_during: list[bool] = []

    def callback() -> Iterator[str]:
        for href in response.css("a::attr(href)").getall():
            seen_during.append(selector() is not None)
            yield href

    middleware = ForgetParsedPageMiddleware()
    assert list(middleware.process_spider_output(response, callback())) == ["/1", "/2"]
    assert seen_during == [True, True]
    gc.disable()  # freed by refcounting alone
    try:
        assert getattr(response, CACHED_SELECTOR) is None
        assert selector() is None
        assert response.css("a::text").getall() == ["one", "two"]  # parsed again on demand
    finally:
        gc.enable()


def test_the_async_path_drops_it_too_even_when_the_callback_fails() -> None:
    middleware = ForgetParsedPageMiddleware()

    async def outputs(response: HtmlResponse, fail: bool) -> AsyncIterator[Any]:
        yield response.css("a::text").get()
        if fail:
            raise ValueError("callback failed")

    async def run(fail: bool) -> tuple[list[Any], HtmlResponse, BaseException | None]:
        response = parsed_response()
        got: list[Any] = []
        error = None
        try:
            async for output in middleware.process_spider_output_async(
                response, outputs(response, fail)
            ):
                got.append(output)
        except ValueError as exc:
            error = exc
        return got, response, error

    got, response, error = asyncio.run(run(fail=False))
    assert got == ["one"] and error is None
    assert getattr(response, CACHED_SELECTOR) is None
    got, response, error = asyncio.run(run(fail=True))
    assert got == ["one"] and isinstance(error, ValueError)
    assert getattr(response, CACHED_SELECTOR) is None


def test_it_is_the_spider_middleware_nearest_the_engine() -> None:
    # Lowest order: its process_spider_output runs last, after every other middleware (the
    # project's and Scrapy's own) is done with the callback's output.
    crawler = get_crawler(settings_dict={"SPIDER_MIDDLEWARES": project_settings.SPIDER_MIDDLEWARES})
    orders = {
        **crawler.settings.getdict("SPIDER_MIDDLEWARES_BASE"),
        **project_settings.SPIDER_MIDDLEWARES,
    }
    ours = "crawler.middlewares.ForgetParsedPageMiddleware"
    assert orders[ours] == min(order for order in orders.values() if order is not None)
    assert isinstance(
        build_from_crawler(ForgetParsedPageMiddleware, crawler), ForgetParsedPageMiddleware
    )

"""A spider for tests/test_politeness.py, run in a child process with `scrapy runspider`.

It fetches the comma-separated ``urls``, follows ``next`` links of a chain page, and on
closing writes what happened to the JSON file ``report``: statuses, errors and stats.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from scrapy import Request, Spider
from scrapy.http import Response
from twisted.python.failure import Failure


class PolitenessSpider(Spider):
    name = "politeness"
    custom_settings = {
        "ADDONS": {"crawler.tls.TLSSettingsAddon": 0},
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawler.middlewares.BackoffRetryMiddleware": 550,
        },
        "DOWNLOADER_CLIENTCONTEXTFACTORY": "crawler.tls.VerifyingContextFactory",
        "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
        "ROBOTSTXT_OBEY": False,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "HTTPERROR_ALLOW_ALL": True,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO",
    }

    def __init__(self, urls: str = "", report: str = "report.json", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = [url for url in urls.split(",") if url]
        self.report = Path(report)
        self.responses: list[dict[str, Any]] = []
        self.errors: list[dict[str, str]] = []

    async def start(self) -> AsyncIterator[Request]:
        for url in self.urls:
            yield Request(url, errback=self.failed, dont_filter=True)

    def parse(self, response: Response) -> Any:
        self.responses.append({"url": response.url, "status": response.status})
        if next_url := response.headers.get("X-Next"):
            yield response.follow(next_url.decode(), errback=self.failed)

    def failed(self, failure: Failure) -> None:
        self.errors.append({"url": failure.request.url, "error": repr(failure.value)})

    def closed(self, reason: str) -> None:
        report = {
            "reason": reason,
            "responses": self.responses,
            "errors": self.errors,
            "stats": self.crawler.stats.get_stats(),
        }
        self.report.write_text(json.dumps(report, default=str, indent=1), encoding="utf-8")

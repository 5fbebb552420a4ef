"""A spider for tests/test_attachments.py, run in a child process with `scrapy runspider`.

It reads the pages of ``fixtures/attachments/``: stub releases whose text is in an attached
PDF (a plain link) or HWPX (MSIT's `fn_download(...)`, downloaded with a form POST), one
whose attachment is gone, and a full release with an attachment. Items are built here in
full, so the test depends on the pipelines and the middleware only. On closing it writes the
crawl's stats to the JSON file ``report``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from scrapy import Request, Spider
from scrapy.http import Response
from w3lib.url import url_query_parameter

from crawler.extract import paragraphs
from crawler.items import ReleaseItem
from spiders.msit import download_request

DOWNLOAD_CALL = re.compile(r"fn_download\(\s*'([^']+)'\s*,\s*'([^']+)'")


class AttachmentTestSpider(Spider):
    name = "attachment_test"
    start_urls = ["https://press.example.org/releases/"]
    # MSIT's download form, as the MSIT spiders ask for it (crawler.attachments' hook).
    attachment_request = staticmethod(download_request)

    def __init__(self, report: str = "report.json", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = Path(report)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Request]:
        for href in response.css("ul.releases a::attr(href)").getall():
            yield response.follow(href, callback=self.parse_detail)

    def parse_detail(self, response: Response, **kwargs: Any) -> Iterator[ReleaseItem]:
        korean = "msit.go.kr" in response.url
        content = response.css(".view_cont")
        yield ReleaseItem(
            source=self.name,
            native_id=url_query_parameter(response.url, "nttSeqNo")
            or response.url.rsplit("/", 1)[-1].removesuffix(".html"),
            url=response.url,
            title=response.css(".view_head h2::text").get(),
            published_raw=response.css(".view_head .date::text").get(),
            body="\n\n".join(paragraphs(content[0])) if content else "",
            attachments=self._attachments(response),
            language="ko" if korean else "en",
            agency="Ministry of Science and ICT" if korean else "Example Research Council",
            agency_country="KR" if korean else "TW",
            timezone="Asia/Seoul" if korean else "Asia/Taipei",
            extraction="selectors",
            raw_body=response.body,
            raw_encoding=response.encoding,
            final_url=response.url,
            http_status=response.status,
            fetched_at=datetime.now(UTC),
            extractor_version=f"{self.name}/1",
        )

    def _attachments(self, response: Response) -> list[dict[str, str]]:
        found = []
        for link in response.css(".view_file a"):
            name = " ".join(link.css("::text").getall()).strip()
            if not name:
                continue
            call = DOWNLOAD_CALL.search(link.attrib.get("onclick", ""))
            if call:  # MSIT: the download is a POST of these fields (see spiders/msit.py)
                query = urlencode({"atchFileNo": call[1], "fileOrd": call[2], "fileBtn": "A"})
                url = response.urljoin(f"/ssm/file/fileDown.do?{query}")
            else:
                url = response.urljoin(link.attrib["href"])
            found.append({"name": name, "url": url})
        return found

    def closed(self, reason: str) -> None:
        report = {"reason": reason, "stats": self.crawler.stats.get_stats()}
        self.report.write_text(json.dumps(report, default=str, indent=1), encoding="utf-8")

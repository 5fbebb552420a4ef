"""The bare-Scrapy baseline: the project's spider and parse code under Scrapy's own defaults.

    .venv/bin/python -m bench.bare nstc START_URL [-s NAME=VALUE ...]

Same spider class (``spiders``' registry: the same list and detail page objects), same site,
but none of the project's settings: no project downloader or spider middlewares, extensions,
item pipelines or add-ons (``crawler/settings.py`` is not loaded at all), only Scrapy's
defaults plus what a local site needs (no delay, concurrency 16, no robots.txt) and the
asyncio reactor the project uses. Items are counted by Scrapy (``item_scraped_count``) and
thrown away. The harness compares the full crawl with this to see what the project's
machinery costs on top of Scrapy itself.
"""

from __future__ import annotations

import argparse
import sys

from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.spiderloader import SpiderLoader

#: Scrapy's defaults, with only what a local benchmark site needs changed (as FAST_LOCAL).
BARE = {
    "SPIDER_MODULES": ["spiders"],
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "ROBOTSTXT_OBEY": False,
    "TELNETCONSOLE_ENABLED": False,
    "LOG_LEVEL": "INFO",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spider")
    parser.add_argument("start_url")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    settings = Settings()
    settings.setdict(BARE, priority="project")
    for pair in args.settings:
        name, _, value = pair.partition("=")
        settings.set(name, value, priority="cmdline")
    spider = SpiderLoader.from_settings(settings).load(args.spider)
    process = CrawlerProcess(settings, install_root_handler=True)
    crawler = process.create_crawler(spider)
    process.crawl(crawler, start_url=args.start_url)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    return 0 if stats.get("finish_reason") == "finished" else 1


if __name__ == "__main__":
    sys.exit(main())

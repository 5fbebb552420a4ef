"""`scrapy check` against a throwaway database, never the user's.

Scrapy's check runs each spider's contracts as real crawls. Scrapy turns the item pipelines
off for them, but stnews's extensions still open the database: without this command a check
wrote crawl runs into the user's database, judged sources broken from a handful of contract
pages and raised false alarms in the monitor feed. Here the check crawls into a SQLite file
in a temporary directory, removed when the command ends, whatever `DATABASE_URL` or `-s` say.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from scrapy.commands.check import Command as ScrapyCheck

#: Above every priority Scrapy knows (the command line's is 40): nothing sets it back.
PRIORITY = 100


class Command(ScrapyCheck):
    def short_desc(self) -> str:
        return super().short_desc() + " (into a throwaway database)"

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        self._scratch = tempfile.TemporaryDirectory(prefix="stnews-scrapy-check-")
        url = f"sqlite:///{Path(self._scratch.name) / 'check.db'}"
        self.settings.set("DATABASE_URL", url, priority=PRIORITY)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        try:
            super().run(args, opts)
        finally:
            self._scratch.cleanup()

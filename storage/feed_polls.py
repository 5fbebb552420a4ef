"""Polls of feed sources: how many crawls of a source have finished.

A feed source reads its HTML list page only on every Nth poll (``check_every``); the poll
number is the count of its finished crawl runs, so it survives restarts and needs no table
of its own.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import CrawlRun


def finished_runs(session: Session, source: str) -> int:
    """Crawls of ``source`` that finished (failed and interrupted ones are not polls)."""
    count = session.scalar(
        select(func.count())
        .select_from(CrawlRun)
        .where(CrawlRun.source == source, CrawlRun.status == "finished")
    )
    return int(count or 0)

"""The database: SQLAlchemy models, engine setup and the functions that read and write them.

Nothing here knows about Scrapy; callers hand in plain records.
"""

from storage.db import Database
from storage.health import MonitorEvent, SourceHealth
from storage.models import Base, CrawlRun, RawResponse, Release, ReleaseTag, Source
from storage.pages import MonitoredPage, PageVersion, latest_changes, record_snapshot
from storage.releases import (
    ReleaseRecord,
    SaveOutcome,
    list_releases,
    save_release,
    save_releases,
)
from storage.runs import finish_run, start_run
from storage.scheduling import CrawlLock, SchedulerLease
from storage.writer import ReleaseWriter, WriterDied

__all__ = [
    "Base",
    "CrawlLock",
    "CrawlRun",
    "Database",
    "MonitorEvent",
    "MonitoredPage",
    "PageVersion",
    "RawResponse",
    "Release",
    "ReleaseRecord",
    "ReleaseTag",
    "ReleaseWriter",
    "SaveOutcome",
    "SchedulerLease",
    "Source",
    "SourceHealth",
    "WriterDied",
    "finish_run",
    "latest_changes",
    "list_releases",
    "record_snapshot",
    "save_release",
    "save_releases",
    "start_run",
]

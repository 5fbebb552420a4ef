"""The database: SQLAlchemy models, engine setup and the functions that read and write them.

Nothing here knows about Scrapy; callers hand in plain records.

The names below are loaded on first use (PEP 562), so that ``storage.links``, the pure rule of
what a stored link may be, can be imported by page objects without loading SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it.
_EXPORTS = {
    "Database": "storage.db",
    "MonitorEvent": "storage.health",
    "SourceHealth": "storage.health",
    "Base": "storage.models",
    "CrawlRun": "storage.models",
    "RawResponse": "storage.models",
    "Release": "storage.models",
    "ReleaseTag": "storage.models",
    "Source": "storage.models",
    "MonitoredPage": "storage.pages",
    "PageVersion": "storage.pages",
    "latest_changes": "storage.pages",
    "record_snapshot": "storage.pages",
    "ReleaseRecord": "storage.releases",
    "SaveOutcome": "storage.releases",
    "list_releases": "storage.releases",
    "save_release": "storage.releases",
    "save_releases": "storage.releases",
    "finish_run": "storage.runs",
    "start_run": "storage.runs",
    "CrawlLock": "storage.scheduling",
    "SchedulerLease": "storage.scheduling",
}

__all__ = [  # the names of _EXPORTS (a test holds the two equal)
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
    "SaveOutcome",
    "SchedulerLease",
    "Source",
    "SourceHealth",
    "finish_run",
    "latest_changes",
    "list_releases",
    "record_snapshot",
    "save_release",
    "save_releases",
    "start_run",
]

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'storage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once loaded, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

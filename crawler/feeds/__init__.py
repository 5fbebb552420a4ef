"""Feeds of stored releases: RSS 2.0, Atom 1.0 and JSON Feed 1.1 files plus an OPML list.

`build` turns releases into feed documents (no database access), `write` queries the
database through `storage.queries` and writes the files, `cli` is the `stnews feed` command.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawler.feeds.build import FeedItem, FeedMeta, item_from_release, release_entry_id
    from crawler.feeds.write import FeedFile, FeedReport, FileStatus, write_feeds

# Imported on first use (PEP 562): `crawler.feeds.defaults` and the command line's help must
# not pull in SQLAlchemy and feedgen through this package.
_WHERE = {
    "FeedItem": "build",
    "FeedMeta": "build",
    "item_from_release": "build",
    "release_entry_id": "build",
    "FeedFile": "write",
    "FeedReport": "write",
    "FileStatus": "write",
    "write_feeds": "write",
}

__all__ = [
    "FeedFile",
    "FeedItem",
    "FeedMeta",
    "FeedReport",
    "FileStatus",
    "item_from_release",
    "release_entry_id",
    "write_feeds",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"crawler.feeds.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Feeds of stored releases: RSS 2.0, Atom 1.0 and JSON Feed 1.1 files plus an OPML list.

`build` turns releases into feed documents (no database access), `write` queries the
database through `storage.queries` and writes the files, `cli` is the `stnews feed` command.
"""

from crawler.feeds.build import FeedItem, FeedMeta, item_from_release, release_entry_id
from crawler.feeds.write import FeedFile, FeedReport, FileStatus, write_feeds

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

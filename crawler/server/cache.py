"""The in-process cache of rendered documents, and the database "data version" it trusts.

An entry is served without touching the database while it is fresh (`ttl` seconds after the
data it was checked against was observed). A stale entry is revalidated, not rebuilt: one
cheap aggregate query (shared by every entry, run at most every `probe_interval` seconds)
tells whether anything a document shows has changed since it was built; only then is the
document rendered again. So a popular feed is rendered once per change of the data, a
conditional GET on a fresh entry costs no query and no rendering, and a change in the
database is served at most `ttl` seconds later.

Builds run in worker threads; per-key locks make concurrent misses of one key render once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from storage.db import Database
from storage.queries import data_version_query

T = TypeVar("T")
DataVersion = tuple[Any, ...]
_LOCK_STRIPES = 64


class VersionProbe:
    """The database's data version, queried at most once per `interval` seconds."""

    def __init__(self, database: Database, interval: float) -> None:
        self.database = database
        self.interval = interval
        self.queries = 0
        self._lock = threading.Lock()
        self._value: DataVersion | None = None
        self._at = float("-inf")

    def current(self) -> tuple[DataVersion, float]:
        """(version, monotonic time it was observed). Called from worker threads only."""
        with self._lock:
            now = time.monotonic()
            if self._value is None or now - self._at >= self.interval:
                # Observed before the query runs: a write racing the query is then at worst
                # seen one probe late, never attributed to an older observation time.
                with self.database.session(readonly=True) as session:
                    row = session.execute(data_version_query(with_runs=True)).one()
                self._value = tuple(_plain(value) for value in row)
                self._at = now
                self.queries += 1
            return self._value, self._at


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass
class Entry(Generic[T]):
    value: T
    version: DataVersion
    built_at: float
    fresh_until: float
    size: int


@dataclass
class CacheStats:
    hits: int = 0  # served fresh, no database work
    revalidated: int = 0  # stale, data unchanged: kept without rendering
    builds: int = 0  # rendered (or read, for the catalog) from the database
    evictions: int = 0


class DocumentCache:
    """LRU of built values keyed by anything hashable, bounded in entries and bytes."""

    def __init__(
        self,
        probe: VersionProbe,
        ttl: float,
        *,
        max_entries: int = 256,
        max_bytes: int = 64 * 1024 * 1024,
        rebuild_after: float | None = None,
    ) -> None:
        if ttl < 0:
            raise ValueError(f"cache ttl must not be negative, got {ttl}")
        self.probe = probe
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        # A safety net for writes that move none of the aggregates (a reclassification made
        # in place, a renamed agency): nothing is served older than this.
        self.rebuild_after = max(ttl * 10, 300.0) if rebuild_after is None else rebuild_after
        self.stats = CacheStats()
        self._entries: OrderedDict[Hashable, Entry[Any]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._build_locks = [threading.Lock() for _ in range(_LOCK_STRIPES)]

    def fresh(self, key: Hashable) -> Any | None:
        """The value if it may be served without any database work (the event loop's path)."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or time.monotonic() >= entry.fresh_until:
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
            return entry.value

    def get(self, key: Hashable, build: Callable[[], tuple[T, int]]) -> T:
        """The value, revalidated or rebuilt as needed. Blocking: call from a worker thread.

        `build` returns (value, size in bytes).
        """
        with self._build_locks[hash(key) % _LOCK_STRIPES]:
            value = self.fresh(key)
            if value is not None:  # another thread has just built it
                return value
            version, observed = self.probe.current()
            now = time.monotonic()
            with self._lock:
                entry = self._entries.get(key)
                if (
                    entry is not None
                    and entry.version == version
                    and now - entry.built_at < self.rebuild_after
                ):
                    entry.fresh_until = observed + self.ttl
                    self._entries.move_to_end(key)
                    self.stats.revalidated += 1
                    return entry.value
            value, size = build()
            self._store(key, Entry(value, version, now, observed + self.ttl, size))
            return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def _store(self, key: Hashable, entry: Entry[Any]) -> None:
        with self._lock:
            self.stats.builds += 1
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = entry
            self._bytes += entry.size
            while len(self._entries) > 1 and (
                len(self._entries) > self.max_entries or self._bytes > self.max_bytes
            ):
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size
                self.stats.evictions += 1

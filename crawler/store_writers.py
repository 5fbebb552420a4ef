"""How the store step hands releases to be written, in batches: in the reactor thread, in a
thread of the crawl, or in a writer process (``STORE_WRITER``). ``StorePipeline`` picks one."""

from __future__ import annotations

import logging
import threading
from typing import Any

from storage import ReleaseRecord, SaveOutcome
from storage.writer import BatchWriter, ReleaseWriteError, ReleaseWriter, WriterStats

logger = logging.getLogger(__name__)


class ReactorBatches:
    """``STORE_WRITER = "batch"``: the writer's batches, written in the reactor thread.

    The same interface as ``ReleaseWriter`` (``submit``, ``flush``, ``close``) and the same
    writing (``storage.writer.BatchWriter``: one transaction per batch, a savepoint per
    release, a failed release retried alone), without a child process: no interpreter to
    start and no SQLAlchemy to import again (0.4 to 0.75 s of CPU a crawl), no pickling of
    each raw page across a pipe, no threads waking the reactor. A batch is written when it is
    full, ``linger`` seconds after its first release, when the crawl goes idle (``flush``),
    or at close. The reactor thread waits while a batch is written (tens of milliseconds).

    ``threaded`` (``STORE_WRITER = "thread"``): batches are written one at a time by a thread
    of the crawl process instead; SQLite (or the PostgreSQL driver) and zstd let go of the
    GIL while they work, most of a batch's time, so the reactor goes on meanwhile. Outcomes
    are reported from that thread (``on_done`` must be thread-safe, as for the writer
    process).
    """

    def __init__(
        self, database: Any, batch_size: int, linger: float, threaded: bool = False
    ) -> None:
        self.batch_size = batch_size
        self.linger = linger
        self._executor: Any = None
        if threaded:
            from concurrent.futures import ThreadPoolExecutor

            self._executor = ThreadPoolExecutor(1, thread_name_prefix="release-batches")
        self._writer = BatchWriter(database)
        self._sequence = 0
        self._waiting: list[tuple[int, ReleaseRecord]] = []
        self._callbacks: dict[int, Any] = {}
        self._timer: Any = None
        self.alive = True

    @property
    def figures(self) -> dict[str, int]:
        return dict(self._writer.figures)

    def submit(self, record: ReleaseRecord, on_done: Any) -> None:
        self._sequence += 1
        self._waiting.append((self._sequence, record))
        self._callbacks[self._sequence] = on_done
        if len(self._waiting) >= self.batch_size:
            self.flush()
        elif self._timer is None:
            from twisted.internet import reactor

            self._timer = reactor.callLater(self.linger, self.flush)  # type: ignore[attr-defined]

    def flush(self) -> None:
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        while self._waiting:
            batch = self._waiting[: self.batch_size]
            del self._waiting[: self.batch_size]
            callbacks = {seq: self._callbacks.pop(seq) for seq, _ in batch}
            if self._executor is not None:
                self._executor.submit(self._write, batch, callbacks)
            else:
                self._write(batch, callbacks)

    def _write(self, batch: list[tuple[int, ReleaseRecord]], callbacks: dict[int, Any]) -> None:
        try:
            report = self._writer.write(batch)
        except Exception as exc:  # never leave an item waiting for a report forever
            logger.exception("storing a batch of %d releases failed", len(batch))
            report = [(seq, None, f"{type(exc).__name__}: {exc}") for seq, _ in batch]
        for seq, outcome, error in report:
            if error is None:
                callbacks[seq](SaveOutcome(outcome), None)
            else:
                callbacks[seq](None, ReleaseWriteError(error))

    def close(self) -> None:
        """Write what is waiting and wait until it is written."""
        self.flush()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self.alive = False


# One writer per database (and batch size) per process, shared by the crawls it runs side by
# side (`stnews crawl` runs every source at once): one child process, not one per source.
_writers: dict[tuple[str, int, float], tuple[ReleaseWriter, int]] = {}
_writers_lock = threading.Lock()


def acquire_writer(url: str, batch_size: int, linger: float) -> ReleaseWriter:
    key = (url, batch_size, linger)
    with _writers_lock:
        writer, users = _writers.get(key, (None, 0))
        if writer is None or not writer.alive:
            writer, users = ReleaseWriter(url, batch_size, linger), 0
        _writers[key] = (writer, users + 1)
        return writer


def release_writer(writer: ReleaseWriter) -> WriterStats | None:
    """Give a writer back; the last user closes it (blocking: drains, waits for the child)."""
    key = (writer.url, writer.batch_size, writer.linger)
    with _writers_lock:
        current, users = _writers.get(key, (None, 0))
        if current is writer and users > 1:
            _writers[key] = (writer, users - 1)
            return None
        if current is writer:
            del _writers[key]
    return writer.close()

"""How the store step's releases are written: in batches, in the crawl's reactor thread.

Until issue 19 ``STORE_WRITER`` chose among four ways: these batches in the reactor thread,
the same in a thread of the crawl or in a writer child process, or one transaction per
release. Measured side by side, only this one paid for itself (docs/architecture.md)."""

from __future__ import annotations

import logging
from typing import Any

from storage import ReleaseRecord, SaveOutcome
from storage.writer import BatchWriter, ReleaseWriteError

logger = logging.getLogger(__name__)


class ReactorBatches:
    """The store step's batches, written in the reactor thread.

    ``submit``, ``flush``, ``close``; the writing is ``storage.writer.BatchWriter``'s (one
    transaction per batch, a savepoint per release, a failed release retried alone). In the
    crawl process's reactor thread: neither a writer child process (its start-up, a pickling
    of each raw page across a pipe and about 65 MB cost more than it saved) nor a thread
    (no gain measured) paid for itself. A batch is written when it is full, ``linger``
    seconds after its first release, when the crawl goes idle (``flush``), or at close. The
    reactor thread waits while a batch is written (tens of milliseconds); ``on_done`` is
    called in it, once per release, when its batch is written.
    """

    def __init__(self, database: Any, batch_size: int, linger: float) -> None:
        self.batch_size = batch_size
        self.linger = linger
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
        """Write what is waiting."""
        self.flush()
        self.alive = False

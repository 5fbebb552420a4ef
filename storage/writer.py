"""Writing releases in batches: what a batch is, whatever runs it.

- One transaction per batch, the batch under one SAVEPOINT (``save_releases``); when a
  release of it fails, the batch is saved again with a SAVEPOINT per release. A release
  that fails is rolled back alone (row, tags and raw page together) and tried once
  more in a transaction of its own (a deadlock with another writer is not a lasting error);
  if it fails again its error is reported. If the batch's transaction cannot commit, every
  release of it is tried alone. So a SIGKILL leaves whole committed releases only.
- Releases are written in (source, site id, URL) order: two writers of one source take their
  locks on shared rows in the same order (fewer deadlocks on PostgreSQL).
- Each release's outcome (``SaveOutcome`` value) or error text is reported once its
  transaction has committed.

Until issue 19 this module also ran the batches in a writer child process
(``STORE_WRITER = "process"``); measured against writing them in the crawl's own reactor
thread, it cost more CPU and memory than it saved (docs/architecture.md), and was removed.

Nothing here imports Scrapy or Twisted.
"""

from __future__ import annotations

from typing import Any

from storage.releases import ReleaseRecord, SaveOutcome, save_releases


class ReleaseWriteError(Exception):
    """The writer could not store a release; the message is the database's error."""


class BatchWriter:
    """Writes batches of (seq, record) with ``save_releases`` and its retries, and reports
    (seq, outcome value or None, error text or None) for each. The crawl's store step
    (``crawler/store_writers.py`` ``ReactorBatches``) decides when a batch is written and in
    which thread; this is only what writing one means."""

    def __init__(self, database: Any) -> None:
        self.database = database
        #: Source name -> id, of sources known to be committed.
        self.source_ids: dict[str, int] = {}
        self.figures = {"batches": 0, "releases": 0, "largest_batch": 0, "retried": 0, "failed": 0}

    def write(
        self, batch: list[tuple[int, ReleaseRecord]]
    ) -> list[tuple[int, str | None, str | None]]:
        # The same order in every writer: two writers of one source take their locks on
        # shared releases in the same order (fewer deadlocks on PostgreSQL).
        batch = sorted(batch, key=lambda entry: _order(entry[1]))
        records = [record for _, record in batch]
        outcomes: list[SaveOutcome | Exception]
        sources = dict(self.source_ids)
        try:
            with self.database.session() as session:
                outcomes = save_releases(session, records, sources)
        except Exception as exc:  # the batch did not commit: each release goes alone below
            outcomes = [exc] * len(records)
        else:
            self.source_ids = sources
        for index, outcome in enumerate(outcomes):
            if isinstance(outcome, Exception):
                self.figures["retried"] += 1
                outcomes[index] = self._alone(records[index])
        self.figures["batches"] += 1
        self.figures["releases"] += len(batch)
        self.figures["largest_batch"] = max(self.figures["largest_batch"], len(batch))
        report: list[tuple[int, str | None, str | None]] = []
        for (seq, _), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, Exception):
                self.figures["failed"] += 1
                report.append((seq, None, _describe(outcome)))
            else:
                report.append((seq, outcome.value, None))
        return report

    def _alone(self, record: ReleaseRecord) -> SaveOutcome | Exception:
        sources = dict(self.source_ids)
        try:
            with self.database.session() as session:
                (outcome,) = save_releases(session, [record], sources)
                if isinstance(outcome, Exception):
                    return outcome
        except Exception as exc:
            return exc
        self.source_ids = sources
        return outcome


def _order(record: ReleaseRecord) -> tuple[str, str, str]:
    return (record.source, record.native_id or "", record.url)


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:1000]

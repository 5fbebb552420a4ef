"""The release writer: a child process that stores releases in batches.

A crawl hands each release over (``submit``) and goes on; a child process writes them, so
the database work (look-ups, inserts, compressing the raw page, commits) is on another core
instead of adding to the crawl's. What it promises:

- Batches: the child takes every release waiting, up to ``batch_size``, and writes them in
  one transaction, each release in a SAVEPOINT of its own (``save_releases``). A release that
  fails is rolled back alone (row, tags and raw page together) and tried once more in a
  transaction of its own (a deadlock with another writer is not a lasting error); if it
  fails again its error is reported. If the batch's transaction cannot commit, every
  release of it is tried alone. So a SIGKILL leaves whole committed releases only.
- Each release's outcome (``SaveOutcome``) or error comes back once its transaction has
  committed, to the ``on_done`` callback given to ``submit``, called in a reader thread of
  the parent.
- ``close()`` drains: everything submitted is written and reported before it returns.
- The child ignores SIGINT and SIGTERM: Ctrl-C or a process-group SIGTERM (the scheduler's
  time limit) lets the parent shut down gracefully, which drains the child; neither may kill
  it in the middle of a batch. When the parent goes away without closing it (killed, or
  exiting without ``close()``), the child finishes the batch in hand and exits; releases not
  yet taken are left unwritten, and nobody is told they were stored.
- If the child dies, every release submitted and not yet reported fails with
  ``WriterDied``, and ``submit`` refuses new ones.

The child is a fresh interpreter started with ``subprocess`` (never a fork of a process
running Twisted and threads), given the parent's ``sys.path`` and its three pipes; the
database URL comes through a pipe, never the command line. It imports only this package and
SQLAlchemy. Not multiprocessing's "spawn": that starts a resource-tracker process as well
(13 MB of memory and a process per crawl, for nothing: the writer uses no named semaphores
or shared memory). It does not migrate: the schema must be current (every
``Database(url)`` of the parent makes it so).

Nothing here imports Scrapy or Twisted.
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import os
import queue
import resource
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe, wait
from typing import Any

from storage.releases import ReleaseRecord, SaveOutcome

logger = logging.getLogger(__name__)

#: Seconds the parent's sender thread gathers submitted releases before sending them: each
#: wake-up of a thread costs the crawl's main thread a hand-over of the GIL.
SEND_INTERVAL = 0.02

#: Called once per submitted record, from the writer's reader thread: (outcome, None) when it
#: was stored, (None, error) when it was not.
OnDone = Callable[[SaveOutcome | None, BaseException | None], None]

#: In the child's command line (``ps``, tests and the bench find it by this).
CHILD_NAME = "stnews-release-writer"
#: The child's program, given the parent's import path and the pipes' descriptors. It opens
#: with its name, so that the name leads the command line (``ps`` and the bench cut it short).
_CHILD_BOOT = (
    f"{CHILD_NAME!r}; import sys, json; sys.path[:] = json.loads(sys.argv[1]); "
    "from storage.writer import _child_boot; _child_boot(*map(int, sys.argv[2:5]))"
)

# How the child answers: ("done", [(seq, outcome value or None, error text or None), ...])
# after each committed batch, and ("stats", {...}) once, before it exits after a close.
_DONE, _STATS = "done", "stats"
#: Sent to the child by ``flush()``: write what is waiting now instead of lingering for more.
_FLUSH = "flush"


class ReleaseWriteError(Exception):
    """The writer could not store a release; the message is the database's error."""


class WriterDied(ReleaseWriteError):
    """The writer process exited or was killed before it reported this release."""


@dataclass(frozen=True)
class WriterStats:
    """What the child did, reported when it was closed."""

    batches: int
    releases: int
    largest_batch: int
    retried: int
    failed: int
    #: CPU seconds of the child process (user + system), start-up included.
    cpu_seconds: float
    #: The child's peak resident memory, in MB.
    peak_rss_mb: float = 0.0


class ReleaseWriter:
    """Stores ``ReleaseRecord``s through a child process; see the module's description.

    The child starts with the first ``submit``, so a crawl that stores nothing costs nothing.
    ``submit`` may be called from any thread; callbacks run in the writer's reader thread,
    one at a time, in the order the child reports (batch by batch).
    """

    def __init__(self, url: str, batch_size: int, linger: float) -> None:
        """``batch_size``: most releases per transaction; ``linger``: seconds the child waits
        for more after the first it takes, before writing a smaller batch (a close never
        waits). The caller's settings hold both defaults (crawler/settings.py)."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        self.url = url
        self.batch_size = batch_size
        self.linger = linger
        self.stats: WriterStats | None = None
        self._lock = threading.Lock()
        self._sequence = itertools.count(1)
        self._pending: dict[int, OnDone] = {}
        self._outbox: queue.SimpleQueue[tuple[int, ReleaseRecord] | str | None] = (
            queue.SimpleQueue()
        )
        self._process: subprocess.Popen[bytes] | None = None
        self._lifeline: Connection | None = None
        self._reader: threading.Thread | None = None
        self._closing = False
        self._abandoned = False
        self._dead = False
        self._death: str | None = None

    # --- parent side: API ------------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def alive(self) -> bool:
        """False once the child died or the writer was closed: ``submit`` would refuse."""
        return not (self._dead or self._closing)

    @property
    def pending(self) -> int:
        """Records submitted whose outcome has not been reported yet."""
        with self._lock:
            return len(self._pending)

    @property
    def death(self) -> str | None:
        """How the child ended, when it ended without being closed."""
        return self._death

    def submit(self, record: ReleaseRecord, on_done: OnDone) -> None:
        """Queue ``record``; ``on_done`` is called once with its outcome or error.

        Raises ``WriterDied`` (without calling ``on_done``) when the child is gone, and
        ``RuntimeError`` after ``close()``.
        """
        with self._lock:
            if self._closing:
                raise RuntimeError("the release writer is closed")
            if self._dead:
                raise WriterDied(self._death or "the release writer process is gone")
            if self._process is None:
                self._start()
            seq = next(self._sequence)
            self._pending[seq] = on_done
        self._outbox.put((seq, record))

    def flush(self) -> None:
        """Have the child write what it holds now, without waiting out ``linger`` for more
        (a crawl with nothing left to fetch: no release is coming to fill the batch)."""
        with self._lock:
            if self._process is None or self._closing or self._dead:
                return
        self._outbox.put(_FLUSH)

    def close(self, timeout: float | None = None) -> WriterStats | None:
        """Write everything submitted, report it, and wait for the child to exit.

        Returns the child's figures (None if it never started or died). With a ``timeout``
        that runs out, the child is left to finish on its own and ``TimeoutError`` is raised.
        """
        with self._lock:
            already, self._closing = self._closing, True
            process, reader = self._process, self._reader
        if process is None or reader is None:
            return None
        if not already:
            self._outbox.put(None)  # after every record: the child drains, then exits
        reader.join(timeout)
        if reader.is_alive():
            raise TimeoutError(f"the release writer did not finish within {timeout} s")
        _wait(process, timeout)
        self._cut_lifeline()
        atexit.unregister(self._abandon)
        return self.stats

    # --- parent side: plumbing -------------------------------------------------------------

    def _start(self) -> None:
        # Three one-way pipes, each (read end, write end): records to the child, results
        # back, and a lifeline the parent never writes to: its EOF tells the child that the
        # parent is gone, even with records still queued in the records pipe.
        child_records, parent_records = Pipe(duplex=False)
        parent_results, child_results = Pipe(duplex=False)
        child_lifeline, self._lifeline = Pipe(duplex=False)
        ends = [end.fileno() for end in (child_records, child_results, child_lifeline)]
        command = [sys.executable, "-c", _CHILD_BOOT, json.dumps(sys.path)]
        with _child_start_conditions():
            self._process = subprocess.Popen(
                command + [str(fd) for fd in ends], pass_fds=ends, stdin=subprocess.DEVNULL
            )
        # Before any record (the pipe's buffer holds it): what the child needs to start.
        parent_records.send((self.url, self.batch_size, self.linger))
        # The child holds its own copies now; ours would hide its exit (no EOF) from us.
        for end in (child_records, child_results, child_lifeline):
            end.close()
        # Exiting without close() (a forced shutdown): let the child stop after its batch,
        # before multiprocessing's own exit handler waits for it.
        atexit.register(self._abandon)
        threading.Thread(
            target=self._send_loop, args=(parent_records,), name="release-writer-send", daemon=True
        ).start()
        self._reader = threading.Thread(
            target=self._read_loop, args=(parent_results,), name="release-writer-read", daemon=True
        )
        self._reader.start()
        logger.debug("release writer started: pid %s, batch size %d", self.pid, self.batch_size)

    def _cut_lifeline(self) -> None:
        if self._lifeline is not None:
            self._lifeline.close()
            self._lifeline = None

    def _abandon(self) -> None:
        """At exit without ``close()``: the child stops after the batch in hand, and this
        process waits for that (as multiprocessing waits for its children at exit)."""
        self._abandoned = True
        self._cut_lifeline()
        if self._process is not None:
            _wait(self._process, None)

    def _send_loop(self, connection: Connection) -> None:
        """Pickle and send what ``submit`` queued, in lists of everything waiting."""
        try:
            while True:
                item = self._outbox.get()
                if item is not None:
                    time.sleep(SEND_INTERVAL)  # gather: one wake-up for several releases
                chunk: list[tuple[int, ReleaseRecord]] = []
                while item is not None:
                    if isinstance(item, str):  # flush(): after everything submitted before it
                        if chunk:
                            connection.send(chunk)
                            chunk = []
                        connection.send(item)
                    else:
                        chunk.append(item)
                    if len(chunk) >= self.batch_size:
                        connection.send(chunk)
                        chunk = []
                    try:
                        item = self._outbox.get_nowait()
                    except queue.Empty:
                        break
                if chunk:
                    connection.send(chunk)
                if item is None:  # close(): tell the child, after everything before it
                    connection.send(None)
                    return
        except (OSError, ValueError):
            return  # the child is gone: the reader fails what is pending
        finally:
            connection.close()

    def _read_loop(self, connection: Connection) -> None:
        try:
            while True:
                kind, payload = connection.recv()
                if kind == _STATS:
                    self.stats = WriterStats(**payload)
                    continue
                for seq, outcome, error in payload:
                    with self._lock:
                        on_done = self._pending.pop(seq)
                    if error is None:
                        _call(on_done, SaveOutcome(outcome), None)
                    else:
                        _call(on_done, None, ReleaseWriteError(error))
        except (EOFError, OSError):
            pass  # the child exited: after a close, or not
        finally:
            connection.close()
        self._finish()

    def _finish(self) -> None:
        process = self._process
        assert process is not None
        code = _wait(process, 5)
        with self._lock:
            self._dead = True
            lost, self._pending = self._pending, {}
            if self._closing and not lost and code == 0:
                return
            if self._abandoned:
                how = "stopped: this process exited without closing it"
            elif code is not None and code < 0:
                how = f"was killed by {signal.Signals(-code).name}"
            elif code is not None:
                how = f"exited with status {code}"
            else:
                how = "closed its pipe and did not exit"
            self._death = f"the release writer process (pid {process.pid}) {how}"
        logger.error("%s; %d release(s) submitted to it were not reported", self._death, len(lost))
        for on_done in lost.values():
            _call(on_done, None, WriterDied(f"{self._death} before storing this release"))


def _wait(process: subprocess.Popen[bytes], timeout: float | None) -> int | None:
    """The child's exit status once it exited within ``timeout``, else None."""
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def _call(on_done: OnDone, outcome: SaveOutcome | None, error: BaseException | None) -> None:
    try:
        on_done(outcome, error)
    except Exception:  # a callback's bug must not stop the reports of the others
        logger.exception("release writer callback failed")


@contextmanager
def _child_start_conditions() -> Iterator[None]:
    """What the child must inherit, only while it starts: SIGINT and SIGTERM blocked (the
    mask survives exec), so that they cannot kill it while its interpreter starts, before it
    sets them to ignored."""
    stops = {signal.SIGINT, signal.SIGTERM}
    blocked = threading.current_thread() is threading.main_thread()
    if blocked:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    try:
        yield
    finally:
        if blocked:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# --- the child -----------------------------------------------------------------------------


def _child_boot(records_fd: int, results_fd: int, lifeline_fd: int) -> None:
    """The child's entry (``_CHILD_BOOT``): its pipe ends, then the parent's first message."""
    records = Connection(records_fd, writable=False)
    results = Connection(results_fd, readable=False)
    lifeline = Connection(lifeline_fd, writable=False)
    try:
        url, batch_size, linger = records.recv()
    except (EOFError, OSError):
        return  # the parent died while starting it
    _child_main(url, batch_size, linger, records, results, lifeline)


def _child_main(
    url: str,
    batch_size: int,
    linger: float,
    records: Connection,
    results: Connection,
    lifeline: Connection,
) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    from storage.db import Database

    database = Database(url, migrate=False)
    try:
        _serve(BatchWriter(database), batch_size, linger, records, results, lifeline)
    except (EOFError, OSError):
        pass  # the parent closed its ends or died
    finally:
        database.dispose()
    # Everything is committed and reported: skip the interpreter's teardown (a tenth of a
    # second the parent would wait for). An exception above still exits the usual way.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _serve(
    batches: BatchWriter,
    batch_size: int,
    linger: float,
    records: Connection,
    results: Connection,
    lifeline: Connection,
) -> None:
    backlog: deque[tuple[int, ReleaseRecord]] = deque()
    closing = False
    while True:
        if lifeline.poll():
            return  # the parent is gone: what it sent after the batch in hand is dropped
        if not backlog:
            if closing:
                break
            if lifeline in wait([records, lifeline]):
                return
        # Everything waiting, up to a batch; short of a batch, what comes within `linger`.
        deadline = time.monotonic() + linger
        while not closing and len(backlog) < batch_size:
            if not records.poll(max(0.0, deadline - time.monotonic())):
                break
            message = records.recv()
            if message is None:
                closing = True
            elif message == _FLUSH:
                if backlog:
                    break  # write it now
            else:
                backlog.extend(message)
        if not backlog:
            continue
        batch = [backlog.popleft() for _ in range(min(batch_size, len(backlog)))]
        results.send((_DONE, batches.write(batch)))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    figures = {
        **batches.figures,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mb": _peak_rss_mb(),
    }
    results.send((_STATS, figures))


class BatchWriter:
    """Writes batches of (seq, record) with ``save_releases`` and its retries, and reports
    (seq, outcome value or None, error text or None) for each: the child's work, also done
    in the crawl's own thread by ``STORE_WRITER = "batch"`` (crawler/pipelines.py)."""

    def __init__(self, database: Any) -> None:
        self.database = database
        #: Source name -> id, of sources known to be committed.
        self.source_ids: dict[str, int] = {}
        self.figures = {"batches": 0, "releases": 0, "largest_batch": 0, "retried": 0, "failed": 0}

    def write(
        self, batch: list[tuple[int, ReleaseRecord]]
    ) -> list[tuple[int, str | None, str | None]]:
        from storage.releases import save_releases

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
        from storage.releases import save_releases

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


def _peak_rss_mb() -> float:
    """This process's peak resident memory since its exec (``VmHWM``). Not ``ru_maxrss``:
    Linux carries that over from before the exec, where the spawned child was a fork of the
    crawl process and counted its pages."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return 0.0


def _order(record: ReleaseRecord) -> tuple[str, str, str]:
    return (record.source, record.native_id or "", record.url)


def _describe(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:1000]

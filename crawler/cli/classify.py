"""`stnews classify` (a filter in pipelines: it imports only the classifier, not Scrapy or
SQLAlchemy, which cost over a second) and `stnews reclassify` (stored releases)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator, Mapping

from crawler.cli.common import known_sources, open_database

HELP = "classify JSON lines from stdin (title, body, agency_country, language)"


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("classify", help=HELP)
    parser.add_argument(
        "--explain",
        action="store_true",
        help="explain one release (the first JSON line on stdin, or --title/--body): "
        "which signals fired and why the kind was chosen",
    )
    parser.add_argument("--json", action="store_true", help="with --explain: print JSON")
    parser.add_argument("--title", help="with --explain: the release title")
    parser.add_argument("--body", default="", help="with --explain: the release body")
    parser.add_argument("--country", default="", help="with --explain: the publisher's country")
    parser.add_argument("--language", default="", help="with --explain: the release language")
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=0,
        metavar="N",
        help="processes that classify (default 0: one per usable CPU, at most 8; 1: in this "
        "process); output stays in input order",
    )
    parser.set_defaults(handler=cmd_classify)

    reclassify = commands.add_parser(
        "reclassify", help="re-run classification over stored releases after rules change"
    )
    reclassify.add_argument("--source", action="append", default=[], help="repeatable")
    reclassify.set_defaults(handler=cmd_reclassify)


def cmd_classify(args: argparse.Namespace) -> int:
    if args.explain:
        from crawler.classify.explain import explain_command

        return explain_command(args, sys.stdin, sys.stdout)
    from crawler.classify.tables import save

    homes = _homes()
    jobs = args.jobs
    if jobs == 0 and _one_group_at_most(sys.stdin):
        jobs = 1
    lines, array = _records(sys.stdin)
    if jobs == 0 and array and len(lines) <= CHUNK:
        jobs = 1
    if array:
        # What `stnews releases --json` prints: an array in, the classified array out.
        import json

        results = [json.loads(line) for line in _classified(lines, homes, jobs)]
        sys.stdout.write(json.dumps(results, ensure_ascii=False, indent=2) + "\n")
        save()
        return 0
    # One output line per input line, flushed as it goes so a pipe sees results at once.
    for number, line in enumerate(_classified(lines, homes, jobs)):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
        if number == 0:
            save()  # the tables are built now: cache them for the next run
    save()
    return 0


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = -1
    if jobs < 0:
        raise argparse.ArgumentTypeError(f"not a number of processes (0 for one per CPU): {text!r}")
    return jobs


#: More processes than this gain little: reading and writing lines in this one stays serial.
MAX_JOBS = 8
#: Most lines handed to a worker at once, and how long a short group waits for more: a file
#: goes out in full groups (each round trip costs about what a line does), a pipe that brings
#: one release now and then has each one classified at once. 64 rather than 16: each group
#: also wakes multiprocessing.Pool's threads in this process, whose CPU for 2,000 typical
#: releases fell from about 0.5 s to 0.35 s (start-up included) with the larger groups.
CHUNK = 64
CHUNK_WAIT = 0.005
_homes_in_workers: Mapping[str, str] = {}


#: Largest file read ahead to count its lines (a few milliseconds).
ONE_GROUP_PEEK = 4 * 1024 * 1024


def _one_group_at_most(stream) -> bool:
    """Whether ``stream`` is a regular file with no more than ``CHUNK`` lines left to read:
    one group, which one worker would classify while this process waits, so forking only
    costs (about 0.02 to 0.05 s of CPU and 0.02 s of wall clock, measured on 12 and 64
    typical releases). A pipe cannot be counted ahead: it keeps the workers."""
    import io
    import os
    import stat

    try:
        fd = stream.fileno()
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return False
        at = os.lseek(fd, 0, os.SEEK_CUR)  # nothing buffered yet: the stream's own position
    except (OSError, ValueError, io.UnsupportedOperation):
        return False
    left = info.st_size - at
    if left > ONE_GROUP_PEEK:
        return False
    data = os.pread(fd, left, at)
    lines = data.count(b"\n") + (bool(data) and not data.endswith(b"\n"))  # an unterminated last
    return lines <= CHUNK


def _classified(lines: Iterable[str], homes: Mapping[str, str], jobs: int) -> Iterator[str]:
    """Each line classified, in order: in this process (``jobs`` 1, or one usable CPU), else by
    a pool of forked workers that share the tables this process built before forking."""
    import os

    from crawler.classify.jsonl import classify_lines

    jobs = jobs or min(len(os.sched_getaffinity(0)), MAX_JOBS)
    if jobs <= 1:
        yield from classify_lines(lines, homes)
        return
    from crawler.classify.engine import warm_up

    global _homes_in_workers
    warm_up(by_use=True)  # built once here: each forked worker starts with it in memory
    _homes_in_workers = homes
    # Forked before the reader thread starts: a fork copies no running thread.
    with _quiet_pool(jobs) as pool:
        for outputs in pool.imap(_classify_group, _groups(lines, CHUNK, CHUNK_WAIT)):
            yield from outputs


def _quiet_pool(processes: int):  # the Pool type is imported only when forking
    """A fork-context pool of ``processes`` workers (``QuietPool``)."""
    import multiprocessing
    from multiprocessing.pool import Pool

    class QuietPool(Pool):
        """multiprocessing's Pool without its worker handler's spin. That thread waits on the
        results pipe as well as on the workers and its own notifier, and ``wait`` reports the
        pipe readable for as long as a result sits unread there, so it loops, taking the GIL,
        until the result thread has read it: about 0.055 s of this process's 0.3 s of CPU over
        2,000 typical releases. It has nothing to do about a result (the workers never exit
        early here, no ``maxtasksperchild``, and their exits are among its other sentinels;
        the emptied task cache and the pool's closing post to the notifier), so it waits on
        the notifier alone. (CPython's ``Pool._get_sentinels``, unchanged since 3.8.)"""

        def _get_sentinels(self) -> list:
            return [self._change_notifier._reader]

    return QuietPool(processes, context=multiprocessing.get_context("fork"))


def _groups(lines: Iterable[str], size: int, wait: float) -> Iterator[list[tuple[int, str]]]:
    """The lines, numbered from 1, in groups of up to ``size``: a group goes as soon as it is
    full or no line came for ``wait`` seconds. A thread reads, so a slow input never holds
    back lines already read. (multiprocessing's own ``chunksize`` waits for a full chunk.)"""
    import queue
    import threading

    pending: queue.Queue = queue.Queue(maxsize=size * 64)
    end = object()
    failure: list[BaseException] = []

    def read() -> None:
        try:
            for numbered in enumerate(lines, start=1):
                pending.put(numbered)
        except BaseException as exc:  # handed to the consumer, raised there
            failure.append(exc)
        finally:
            pending.put(end)

    threading.Thread(target=read, name="classify-input", daemon=True).start()
    done = False
    while not done:
        item = pending.get()
        if item is end:
            break
        group = [item]
        while len(group) < size:
            try:
                item = pending.get(timeout=wait)
            except queue.Empty:
                break
            if item is end:
                done = True
                break
            group.append(item)
        yield group
    if failure:
        raise failure[0]


def _classify_group(group: list[tuple[int, str]]) -> list[str]:
    from crawler.classify.jsonl import classify_line

    return [classify_line(line, number, _homes_in_workers) for number, line in group]


class _Homes(Mapping[str, str]):
    """Each configured source's home side (empty when the sources file cannot be read:
    classifying lines does not need it), read on first use: only lines that name a
    ``source`` need it, and reading sources.toml imports pydantic (about 0.3 s of start-up
    for a command that may classify a few hundred lines a second)."""

    def __init__(self) -> None:
        self._homes: dict[str, str] | None = None

    def _load(self) -> dict[str, str]:
        if self._homes is None:
            from crawler.sources import SourcesFileError, sources_by_name

            try:
                self._homes = {name: c.home_code for name, c in sources_by_name().items()}
            except SourcesFileError:
                self._homes = {}
        return self._homes

    def __getitem__(self, name: str) -> str:
        return self._load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


def _homes() -> Mapping[str, str]:
    return _Homes()


def _records(stream) -> tuple[Iterable[str], bool]:
    """JSON lines as they come, or, when the input is one JSON array (its first character
    "["), one line per element. A malformed array is one error line, as a bad line is."""
    import json
    from itertools import chain

    first = ""
    while True:
        char = stream.read(1)
        if not char or not char.isspace():
            first = char
            break
    if first != "[":
        return chain([first + stream.readline()] if first else [], stream), False
    text = first + stream.read()
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        return [text.replace("\n", " ")[: exc.pos + 1] or "["], True
    return [json.dumps(item, ensure_ascii=False) for item in items], True


def cmd_reclassify(args: argparse.Namespace) -> int:
    from rich.progress import Progress
    from sqlalchemy import select

    from crawler.classify import classify
    from crawler.cli.common import err, out
    from crawler.sources import sources_by_name
    from storage import Release, Source
    from storage.releases import update_classification

    known_sources(args.source)
    # The same home side as the crawl's EnrichPipeline: the source's `home`, else the stored
    # agency country (a source since removed from sources.toml).
    homes = {name: config.home_code for name, config in sources_by_name().items()}
    database = open_database(args)
    query = select(Release.id).join(Source).order_by(Release.id)
    if args.source:
        query = query.where(Source.name.in_(args.source))
    with database.session(readonly=True) as session:
        ids = list(session.scalars(query))
    changed = 0
    batch = 500  # short transactions: a crawl or the server may be using the database
    with Progress(console=err, disable=not err.is_terminal, transient=True) as progress:
        task = progress.add_task("reclassifying", total=len(ids))
        for start in range(0, len(ids), batch):
            with database.session() as session:
                for release in session.scalars(
                    select(Release).where(Release.id.in_(ids[start : start + batch]))
                ):
                    home = homes.get(release.source.name) or release.agency_country
                    verdict = classify(release.title, release.body, home, release.language)
                    changed += update_classification(release, verdict.to_dict())
            progress.advance(task, min(batch, len(ids) - start))
    out.print(f"Reclassified {len(ids)} releases: {changed} changed labels.")
    return 0

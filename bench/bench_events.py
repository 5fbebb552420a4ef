"""Event linking cost: per release as the archive grows, and a rebuild of 100,000 releases.

    .venv/bin/python -m bench.bench_events            # writes its section of bench/RESULTS.md
    .venv/bin/python -m bench.bench_events --quick    # small sizes, prints only

The archive is synthetic but made of real signals: every release is a copy of one of the 110
labelled releases of ``tests/events/devset.jsonl`` (its MinHash, anchors, instruments, kind),
given a new key, new parties and a new date. Parties follow a skewed distribution (a few
pairs carry most releases, as Korea-US and Taiwan-US do); releases arrive at a constant rate
of ``RATE`` a day, so a bigger archive is a longer history, as it is for a real monitor. Each
event gets 1 to 4 releases within three days.

Measured:
- linking cost: an archive of N releases is linked, then ``PROBES`` new releases dated after
  it are added one by one (``Linker.add``: candidate lookup, vetoes, scores, placement);
  median and 95th percentile milliseconds per release, N = 1,000, 10,000, 100,000;
- rebuild: ``crawler.events.rebuild`` of 10,000 and 100,000 releases from their signals (as
  ``stnews events rebuild`` does once signals are stored), with the previous ids;
- context: signal extraction per release on the labelled texts, with the partners given (as
  stored by the crawl) and with classification included.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from crawler.events import Linker, Release, Signals, extract, link_all, rebuild
from crawler.events.dates import EventDate, parse_published
from crawler.events.signals import pairs_of

ROOT = Path(__file__).resolve().parents[1]
DEVSET = ROOT / "tests" / "events" / "devset.jsonl"
RESULTS = ROOT / "bench" / "RESULTS.md"
RATE = 27  # releases a day: 100,000 releases are ten years
PROBES = 500
ROUNDS = 3  # a shared machine: medians of three rounds
HOMES = ("TW", "KR", "JP", "US", "DE")
PARTNERS = tuple(
    [
        "US",
        "JP",
        "KR",
        "FR",
        "DE",
        "GB",
        "EU",
        "CZ",
        "AU",
        "CA",
        "IN",
        "NL",
        "CH",
        "SE",
        "FI",
        "PL",
        "SK",
        "LT",
        "IL",
        "SG",
        "VN",
        "TH",
        "ID",
        "PH",
        "MY",
        "NZ",
        "IT",
        "ES",
        "BE",
        "AT",
        "DK",
        "NO",
        "IE",
        "PT",
        "GR",
        "HU",
        "RO",
        "BG",
        "HR",
        "SI",
        "EE",
        "LV",
        "TR",
        "SA",
        "AE",
        "QA",
        "EG",
        "ZA",
        "NG",
        "KE",
        "BR",
        "MX",
        "AR",
        "CL",
        "CO",
        "PE",
        "UY",
    ]
)
START = date(2014, 1, 1)
BEGIN, END = "<!-- bench_events:start -->", "<!-- bench_events:end -->"


def _templates() -> list[Signals]:
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines()]
    out = []
    for row in rows:
        published, month = parse_published(row["published"])
        out.append(extract(_release(row, published, month)))
    return out


def _release(row: dict, published: date | None, month: tuple[int, int] | None) -> Release:
    return Release(
        key=row["id"], title=row["title"], body=row["body"], language=row["language"],
        agency=row["agency"], agency_country=row["agency_country"], published=published,
        published_month=month,
    )  # fmt: skip


def archive(
    n: int, templates: list[Signals], seed: int = 7, start: date = START, prefix: str = "r"
) -> list[Signals]:
    """``n`` synthetic releases in events of 1-4, ``RATE`` a day from ``start``."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) ** 1.1 for i in range(len(PARTNERS))]  # skewed: a few big pairs
    out: list[Signals] = []
    event = 0
    while len(out) < n:
        event += 1
        day = start + timedelta(days=len(out) // RATE)
        home = rng.choice(HOMES)
        partner = rng.choices(PARTNERS, weights)[0]
        if partner == home:
            partner = "FR"
        parties = frozenset({home, partner})
        template = rng.choice(templates)
        ordinal = rng.randint(1, 30) if template.ordinal else None
        for k in range(rng.choice((1, 1, 2, 2, 3, 4))):
            when = day + timedelta(days=rng.randint(0, 3))
            out.append(
                replace(
                    rng.choice(templates) if k else template,
                    key=f"{prefix}{len(out)}-e{event}",
                    parties=parties,
                    pairs=pairs_of(parties),
                    published=when,
                    when=EventDate(when, (when.month, when.day), True),
                    mentioned=frozenset({when}),
                    ordinal=ordinal,
                )
            )
    return out[:n]


def linking_cost(n: int, templates: list[Signals], probes: int = PROBES) -> dict[str, float]:
    """Median over ``ROUNDS`` rounds (a fresh archive each) of the median per-release time."""
    medians, p95s, candidates = [], [], []
    for round_ in range(ROUNDS):
        base = archive(n, templates, seed=7 + round_)
        linker = link_all(base)
        after = START + timedelta(days=n // RATE + 1)
        new = archive(probes, templates, seed=11 + round_, start=after, prefix="new")
        times = []
        for s in new:
            t = time.perf_counter()
            linker.add(s)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        medians.append(statistics.median(times))
        p95s.append(times[int(len(times) * 0.95) - 1])
        candidates.append(_mean_candidates(linker, new[:100]))
    return {
        "median_ms": statistics.median(medians),
        "p95_ms": statistics.median(p95s),
        "mean_candidates": statistics.median(candidates),
        "runs": medians,
    }


def _mean_candidates(linker: Linker, sample: list[Signals]) -> float:
    return statistics.mean(len(linker.candidates(replace(s, key=s.key + "?"))) for s in sample)


def rebuild_times(sizes: tuple[int, ...], templates: list[Signals]) -> dict[int, dict]:
    """Rebuilds of each archive, ``ROUNDS`` rounds, the sizes interleaved within a round so
    that a busy moment of a shared machine does not fall on one size only; medians."""
    archives = {}
    for n in sizes:
        signals = archive(n, templates)
        archives[n] = (signals, dict(link_all(signals).event_of))
    runs: dict[int, list[float]] = {n: [] for n in sizes}
    kept: dict[int, float] = {}
    for _ in range(ROUNDS):
        for n in sizes:
            signals, previous = archives[n]
            t = time.perf_counter()
            result = rebuild(signals, previous)
            runs[n].append(time.perf_counter() - t)
            kept[n] = sum(1 for k, v in result.items() if previous[k] == v) / len(result)
    out = {}
    for n in sizes:
        seconds = statistics.median(runs[n])
        out[n] = {"seconds": seconds, "per_release_ms": seconds * 1000 / n, "ids_kept": kept[n],
                  "runs": runs[n]}  # fmt: skip
    return out


def database_rebuild(n: int, templates: list[Signals], folder: Path) -> dict[str, float]:
    """`stnews events rebuild` on a SQLite database of ``n`` cooperation releases whose
    signals are stored (as the post-crawl step leaves them): read every membership, relink,
    write every membership back. One round: the setup alone takes longer than the rebuild."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    import crawler.service.linking as linking
    from crawler.events.signals import SIGNALS_VERSION, to_dict
    from crawler.events.summary import summarize
    from storage import Database
    from storage.models import Event, EventMember, Release, Source

    signals = archive(n, templates)
    linker = link_all(signals)
    database = Database(f"sqlite:///{folder / f'events-{n}.db'}")
    now = datetime.now(UTC)
    with database.session() as session:
        session.execute(
            insert(Source).values(id=1, name="bench", agency="Bench", agency_country="TW",
                                  language="en", timezone="UTC", created_at=now)
        )  # fmt: skip
        rows = []
        for i, s in enumerate(signals, start=1):
            day = datetime(s.published.year, s.published.month, s.published.day, tzinfo=UTC)
            rows.append(
                dict(id=i, source_id=1, native_id=s.key, url=f"https://bench.example/{i}",
                     title=s.key, published_at=day, body="", language=s.language,
                     agency=s.agency, agency_country="TW", fingerprint=s.key,
                     is_cooperation=True, partners=sorted(s.parties - {"TW"}),
                     coop_type=s.coop_type)
            )  # fmt: skip
        for start in range(0, len(rows), 5000):
            session.execute(insert(Release), rows[start : start + 5000])
        number = {s.key: i for i, s in enumerate(signals, start=1)}
        events, members = [], []
        for event in linker.events.values():
            summary = summarize(event.members)
            events.append(
                dict(id=event.id, parties=list(summary.parties), coop_type=summary.coop_type,
                     instrument=summary.instrument, ordinal=summary.ordinal,
                     occurred_on=summary.occurred_on, members=len(event.members),
                     first_release_id=number[summary.first_key], created_at=now, updated_at=now)
            )  # fmt: skip
            for m in event.members:
                members.append(
                    dict(release_id=number[m.key], event_id=event.id, joined_at=now,
                         signals=to_dict(replace(m, key=str(number[m.key]))),
                         signals_version=SIGNALS_VERSION, fingerprint=m.key)
                )  # fmt: skip
        for start in range(0, len(events), 5000):
            session.execute(insert(Event), events[start : start + 5000])
        for start in range(0, len(members), 5000):
            session.execute(insert(EventMember), members[start : start + 5000])
    t = time.perf_counter()
    counts = linking.rebuild_all(database)
    seconds = time.perf_counter() - t
    database.dispose()
    return {"seconds": seconds, "changed": counts["changed"], "events": counts["events"]}


def extraction_cost(templates_rows: list[dict]) -> dict[str, float]:
    """Each text is extracted once per variant, made distinct by a marker line so that no
    cache (the date search keeps one per text) answers for a text seen before; dateparser and
    wordfreq are loaded first, as they are in a crawl process."""
    releases = []
    for row in templates_rows:
        published, month = parse_published(row["published"])
        releases.append(_release(row, published, month))
    extract(replace(releases[0], body="On May 1 they met.", key="warm-up"))
    out = {}
    for name, partners in (("partners given", ("FR",)), ("with classification", None)):
        t = time.perf_counter()
        for release in releases:
            extract(replace(release, body=f"({name})\n{release.body}", partners=partners))
        out[name] = (time.perf_counter() - t) * 1000 / len(releases)
    return out


def run(quick: bool) -> str:
    rows = [json.loads(line) for line in DEVSET.read_text(encoding="utf-8").splitlines()]
    templates = _templates()
    sizes = (1_000, 5_000) if quick else (1_000, 10_000, 100_000)
    started = time.perf_counter()
    cost = {n: linking_cost(n, templates, 100 if quick else PROBES) for n in sizes}
    rebuilds = rebuild_times(sizes[1:], templates)
    extraction = extraction_cost(rows)
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        stored = {n: database_rebuild(n, templates, Path(folder)) for n in sizes[1:]}
    total = time.perf_counter() - started
    big, small = sizes[-1], sizes[1]
    lines = [
        BEGIN,
        "## Events: linking cost and rebuild",
        "",
        f"Written by `python -m bench.bench_events` on {_now()} ({total:.0f} s; load average "
        f"{_load()}). Method: the module docstring of `bench/bench_events.py`; each figure is "
        "the median of three rounds.",
        "",
        "| figure | value | target | |",
        "|---|---:|---|---|",
    ]
    for n in sizes:
        c = cost[n]
        verdict = "met" if c["median_ms"] <= 5 else "**MISSED**"
        lines.append(
            f"| linking one release, archive of {n:,} (median; p95 {c['p95_ms']:.2f} ms; "
            f"{c['mean_candidates']:.0f} candidate events) | {c['median_ms']:.3f} ms | ≤ 5 ms "
            f"| {verdict} |"
        )
    ratio = cost[big]["median_ms"] / cost[small]["median_ms"]
    lines.append(
        f"| linking cost ratio {big:,} / {small:,} | {ratio:.2f} | flat (≤ 1.5) | "
        f"{'met' if ratio <= 1.5 else '**MISSED**'} |"
    )
    for n, r in rebuilds.items():
        verdict = "met" if r["seconds"] < 60 else "**MISSED**"
        lines.append(
            f"| rebuild of {n:,} releases from stored signals ({r['per_release_ms']:.3f} ms a "
            f"release, {r['ids_kept']:.1%} of ids kept) | {r['seconds']:.1f} s | < 60 s "
            f"| {verdict} |"
        )
    per = [r["per_release_ms"] for r in rebuilds.values()]
    if len(per) > 1:
        lines.append(
            f"| rebuild time per release ratio {big:,} / {small:,} | {per[-1] / per[0]:.2f} | "
            f"flat (≤ 1.5) | {'met' if per[-1] / per[0] <= 1.5 else '**MISSED**'} |"
        )
    for n, r in stored.items():
        verdict = "met" if r["seconds"] < 60 else "**MISSED**"
        lines.append(
            f"| `stnews events rebuild` of {n:,} stored releases, SQLite (read every "
            f"membership, relink, write back; {r['changed']} events changed) | "
            f"{r['seconds']:.1f} s | < 60 s | {verdict} |"
        )
    for name, ms in extraction.items():
        lines.append(f"| signal extraction per release, {name} | {ms:.1f} ms | context | |")
    lines += [
        "",
        "Linking is the candidate lookup (events of the release's party pairs with a member "
        "within 45 days, through a per-pair index sorted by date), the vetoes and scores "
        "against their members, and the placement. Signals are extracted once per release "
        "(by the post-crawl step, then stored with its membership), so neither linking nor a "
        "rebuild reads the texts again; extraction is listed for context: the English date "
        "search (dateparser) is most of it.",
        END,
    ]
    return "\n".join(lines) + "\n"


def _now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def _load() -> str:
    import os

    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def write_section(markdown: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END) + "\n?", markdown, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + markdown
    RESULTS.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes; print, do not write")
    args = parser.parse_args()
    markdown = run(args.quick)
    print(markdown)
    if not args.quick:
        write_section(markdown)


if __name__ == "__main__":
    main()

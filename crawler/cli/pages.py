"""`stnews extract`, `stnews expected` and `stnews doctor`: the page objects from the
command line.

- ``extract SOURCE FILE --url URL``: what a source's page object reads from a saved page;
- ``expected [SOURCE...]``: rewrite the expected outputs beside the fixture pages
  (``crawler.pages.fixtures``), or ``--check`` them;
- ``doctor [SOURCE...] [--replay DIR] [--write]``: fetch each source's pages (live, or from
  saved pages), report which stage filled each field, propose selectors for what needed a
  fallback, and with ``--write`` write them into the sources file (and, live, record fresh
  fixtures). Without ``--write`` it writes nothing anywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.markup import escape

from crawler.cli.common import err, new_table, out, positive_int, print_table


def register(commands: argparse._SubParsersAction) -> None:
    extract = commands.add_parser(
        "extract",
        help="print what a source's page object reads from a saved page",
        description="Read a saved page with a source's page object, as a crawl would (nothing "
        "is fetched or stored). The fields are printed with the stage of the fallback chain "
        "that filled each one.",
    )
    extract.add_argument("source", metavar="SOURCE")
    extract.add_argument("file", metavar="FILE", help="a saved HTML page")
    extract.add_argument("--url", required=True, help="the page's URL (links resolve against it)")
    extract.add_argument(
        "--list", action="store_true", help="read it as a list page (default: a release page)"
    )
    extract.add_argument("--encoding", help="the page's encoding (default: detected)")
    extract.add_argument("--json", action="store_true", help="print JSON")
    extract.set_defaults(handler=cmd_extract)

    expected = commands.add_parser(
        "expected",
        help="rewrite the expected outputs beside the fixture pages",
        description="Run each source's page objects over its fixture pages and write what they "
        "read beside each page (<page>.expected.json), for the tests to compare with. Review "
        "the diff before committing.",
    )
    expected.add_argument("sources", nargs="*", metavar="SOURCE", help="sources (default: all)")
    expected.add_argument("--fixtures", default="fixtures", metavar="DIR")
    expected.add_argument(
        "--check", action="store_true", help="only report outdated files (exit 1 if any)"
    )
    expected.set_defaults(handler=cmd_expected)

    doctor = commands.add_parser(
        "doctor",
        help="check sources live (or against saved pages) and propose selector fixes",
        description="Fetch each source's list (or discovery page, or feed) and a few releases, "
        "report which stage of the fallback chain filled each field, and propose selectors "
        "for what needed a fallback. Run it on a machine with network after installing, and "
        "when a source is reported degraded. --write puts the proposals into the sources file "
        "(comments and layout kept) and, live, records fresh fixtures.",
    )
    doctor.add_argument("sources", nargs="*", metavar="SOURCE", help="sources (default: all)")
    doctor.add_argument("--replay", metavar="DIR", help="read saved pages instead of the network")
    doctor.add_argument(
        "--write", action="store_true",
        help="write the proposals into the sources file (and record fixtures)",
    )  # fmt: skip
    doctor.add_argument("--fixtures", default="fixtures", metavar="DIR",
                        help="where --write records fresh fixtures (live only)")  # fmt: skip
    doctor.add_argument("--details", type=positive_int, default=3,
                        help="release pages to read per source (default 3)")  # fmt: skip
    doctor.add_argument("--json", action="store_true", help="print the reports as JSON")
    doctor.set_defaults(handler=cmd_doctor)


# --- extract -----------------------------------------------------------------------------------


def _config(name: str) -> Any:
    from crawler.sources import sources_by_name

    sources = sources_by_name()
    if name not in sources:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(sorted(sources))}")
    return sources[name]


def cmd_extract(args: argparse.Namespace) -> int:
    from crawler.pages.page import html_response
    from crawler.pages.snapshot import read_snapshot
    from crawler.source_registry import page_objects

    config = _config(args.source)
    path = Path(args.file)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    response = html_response(args.url, path.read_bytes(), args.encoding)
    if config.kind == "page":
        snapshot = read_snapshot(response, config)
        data: dict[str, Any] = {"title": snapshot.title, "paragraphs": snapshot.paragraphs,
                                "stage": snapshot.stage}  # fmt: skip
    else:
        list_page, detail_page = page_objects(config)
        data = (list_page if args.list else detail_page).read(response).to_json()
    if args.json:
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
        return 0
    _print_extract(data)
    return 0 if data.get("entries", data.get("body", data.get("paragraphs"))) else 1


def _print_extract(data: dict[str, Any]) -> None:
    if "entries" in data:  # a list page
        problem = f" ({data['problem']})" if data["problem"] else ""
        out.print(f"read by: {data['stage']}{problem}")
        for entry in data["entries"]:
            out.print(f"  {entry['date'] or '-':<14} {escape(entry['title'] or '')}\n"
                      f"  {'':<14} {escape(entry['url'])}", highlight=False)  # fmt: skip
        out.print(f"next page: {escape(data['next_pages'][0]) if data['next_pages'] else '-'}")
        return
    stages = data.get("stages", {})
    table = new_table()
    table.add_column("field", no_wrap=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("value", overflow="fold")  # URLs and CJK text break anywhere
    for name in ("native_id", "title", "published_raw", "modified_raw", "summary", "image_url",
                 "contact_org"):  # fmt: skip
        if name in data:
            table.add_row(name, stages.get(name, ""), escape(str(data[name] or "")))
    attachments = data.get("attachments") or []
    table.add_row("attachments", stages.get("attachments", ""),
                  escape("\n".join(f"{a['name']} <{a['url']}>" for a in attachments)))  # fmt: skip
    body = data.get("body", data.get("paragraphs", []))
    table.add_row("body", stages.get("body", data.get("stage", "")),
                  f"{len(body)} paragraphs, {sum(map(len, body))} characters")  # fmt: skip
    print_table(table)
    for paragraph in body:
        out.print(escape(paragraph), highlight=False)
        out.print()


# --- expected ----------------------------------------------------------------------------------


def cmd_expected(args: argparse.Namespace) -> int:
    from crawler.pages.fixtures import refresh_expected
    from crawler.source_registry import page_objects
    from crawler.sources import load_sources

    root = Path(args.fixtures)
    if not root.is_dir():
        raise FileNotFoundError(f"fixture directory not found: {root}")
    configs = [_config(name) for name in args.sources] or load_sources()
    changes = refresh_expected(root, configs, page_objects, write=not args.check)
    outdated = [change for change in changes if change.status != "unchanged"]
    verb = "outdated" if args.check else "written"
    for change in outdated:
        out.print(f"{change.status:<9} {change.page.expected_path}", highlight=False)
    out.print(f"{len(changes)} pages, {len(outdated)} expected outputs {verb}")
    return 1 if args.check and outdated else 0


# --- doctor ------------------------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace) -> int:
    from crawler.cli.common import check_crawl_settings, project_settings
    from crawler.doctor.diagnose import diagnose
    from crawler.doctor.fetch import fetch
    from crawler.doctor.write import apply, write_atomically
    from crawler.source_registry import page_objects
    from crawler.sources import load_sources, sources_for_editing

    configs = [_config(name) for name in args.sources] or [s for s in load_sources() if s.enabled]
    overrides: dict[str, Any] = {}
    if args.replay:
        if not Path(args.replay).is_dir():
            raise FileNotFoundError(f"replay directory not found: {args.replay}")
        overrides["REPLAY_DIR"] = str(Path(args.replay).resolve())
    elif args.write:
        overrides["RECORD_DIR"] = str(Path(args.fixtures).resolve())
    settings = check_crawl_settings(project_settings())
    err.print(f"doctor: reading {len(configs)} source(s)"
              + (f" from {args.replay}" if args.replay else " live"), style="dim")  # fmt: skip
    fetched = fetch(configs, settings, details=args.details, overrides=overrides)
    reports = [diagnose(config, fetched[config.name], *page_objects(config)) for config in configs]
    if args.json:
        sys.stdout.write(json.dumps([r.to_dict() for r in reports], ensure_ascii=False,
                                    indent=1, default=str) + "\n")  # fmt: skip
    else:
        for report in reports:
            _print_report(report)
    if args.write:
        path, current = sources_for_editing()
        text, changes = apply(current, reports)
        if changes:
            write_atomically(path, text)
            err.print(f"wrote {len(changes)} change(s) to {path}:")
            for change in changes:
                err.print(f"  {escape(change)}", highlight=False)
            err.print("check each by eye (see the notes above), then run `stnews check`")
        else:
            err.print(f"nothing to write to {path}")
        if not args.replay:
            err.print(f"recorded the fetched pages under {args.fixtures}/ (provenance: real)")
    return 0 if all(r.verdict in ("ok", "fallback") for r in reports) else 1


_VERDICT_STYLE = {"ok": "green", "fallback": "yellow", "broken": "red", "unreachable": "red"}


def _print_report(report: Any) -> None:
    style = _VERDICT_STYLE.get(report.verdict, "white")
    out.print(f"[bold]{report.source}[/bold] ({report.kind}): [{style}]{report.verdict}[/{style}]")
    if report.list_url:
        how = "configured" if report.list_found_by == "configuration" else "found through the menu"
        following = escape(report.next_page) if report.next_page else "-"
        out.print(
            f"  list: {escape(report.list_url)} ({how}); read by {report.list_stage}, "
            f"{report.list_entries} releases; next page {following}",
            highlight=False,
        )
    if report.list_problem:
        out.print(f"  [yellow]{escape(report.list_problem)}[/yellow]")
    for name, stages in report.stage_counts.items():
        shown = ", ".join(f"{stage} {count}" for stage, count in sorted(stages.items()))
        mark = "" if set(stages) <= {"selectors"} else "  [yellow]← fallback[/yellow]"
        out.print(f"  {name:<14} {shown}{mark}", highlight=False)
    for page in report.pages:
        if page.missing:
            out.print(f"  [red]missing {', '.join(page.missing)}[/red] on {escape(page.url)}")
    for proposal in [*report.list_proposals, *report.proposals]:
        table = "list" if proposal in report.list_proposals else "detail"
        extra = "".join(f", {k} = {v!r}" for k, v in proposal.extra.items())
        line = f"  propose [source.{table}] {proposal.field} = {proposal.selector!r}{extra}"
        out.print(escape(line) + f"\n      check by eye: {escape(proposal.check)}",
                  highlight=False)  # fmt: skip
    for note in report.notes:
        out.print(f"  note: {escape(note)}", highlight=False)
    for problem in report.problems:
        out.print(f"  [red]problem:[/red] {escape(problem)}", highlight=False)

"""Writing the doctor's proposals into the sources file, keeping its comments and layout
(tomlkit edits the document in place; no regular expressions over TOML)."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import tomlkit
from tomlkit.items import AoT, Table

from crawler.doctor.diagnose import SourceReport
from crawler.sources import parse_sources

#: Proposal fields and the [source.list] / [source.detail] keys they set.
LIST_KEYS = {"item": "item", "link": "link", "title": "title", "date": "date"}
DETAIL_KEYS = {"title": "title", "body": "body", "date": "date"}


def _source_table(document: tomlkit.TOMLDocument, name: str) -> Table:
    sources = document.get("source")
    if not isinstance(sources, AoT):
        raise ValueError("the sources file has no [[source]] tables")
    for table in sources:
        if table.get("name") == name:
            return table
    raise KeyError(f"no source named {name!r} in the sources file")


def _subtable(table: Table, key: str) -> Table:
    if key not in table:
        table.add(key, tomlkit.table())
    return table[key]


def apply(text: str, reports: list[SourceReport]) -> tuple[str, list[str]]:
    """The sources file's text with the reports' proposals written in, and what changed."""
    document = tomlkit.parse(text)
    changes: list[str] = []
    stamp = f"stnews doctor, {datetime.now(UTC):%Y-%m-%d}"
    for report in reports:
        table = _source_table(document, report.source)
        if report.list_found_by == "discovery" and report.list_url:
            urls = tomlkit.array()
            urls.append(report.list_url)
            table["start_urls"] = urls
            table["start_urls"].comment(f"discovered through [source.discover] ({stamp})")
            changes.append(f"{report.source}: start_urls = [{report.list_url!r}]")
        if report.list_proposals:
            listing = _subtable(table, "list")
            for proposal in report.list_proposals:
                key = LIST_KEYS[proposal.field]
                listing[key] = proposal.selector
                listing[key].comment(f"proposed by {stamp}: {proposal.check}")
                changes.append(f"{report.source}: list.{key} = {proposal.selector!r}")
        for proposal in report.proposals:
            detail = _subtable(table, "detail")
            key = DETAIL_KEYS[proposal.field]
            detail[key] = proposal.selector
            detail[key].comment(f"proposed by {stamp}, checked on {proposal.pages} page(s)")
            changes.append(f"{report.source}: detail.{key} = {proposal.selector!r}")
            for extra, value in proposal.extra.items():
                detail[extra] = value
                changes.append(f"{report.source}: detail.{extra} = {value!r}")
    result = tomlkit.dumps(document)
    parse_sources(result)  # never write a file that would not load
    return result, changes


def write_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

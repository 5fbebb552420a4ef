"""`stnews check` shows progress on stderr as its crawl goes: a bar on a terminal, a plain
line per source otherwise (nothing in --json output). Runs in this process; the crawl itself
runs in the check's child."""

import io
import json
import re

import pytest
from rich.console import Console

from crawler.cli import main
from crawler.cli import sources as sources_cli

SOURCES = ["ey", "koreakr_motir"]


def test_plain_lines_when_not_on_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *SOURCES]) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("check: ")]
    assert len(lines) == 2, captured.err
    # In the order the crawl finished them; each says its counts and how far the check is.
    assert {re.match(r"check: (\w+) crawled", line)[1] for line in lines} == set(SOURCES)
    assert lines[0].endswith("[1/2]") and lines[1].endswith("[2/2]")
    assert "check: ey crawled, 13 pages, 11 releases" in captured.err
    assert "stnews-progress" not in captured.err + captured.out  # the child's lines are read


def test_json_output_has_no_progress_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", *SOURCES, "--json"]) == 0
    captured = capsys.readouterr()
    assert [c["source"] for c in json.loads(captured.out)] == SOURCES
    assert "check: " not in captured.err


def test_a_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80)
    monkeypatch.setattr(sources_cli, "err", terminal)
    assert main(["check", *SOURCES]) == 0
    shown = screen.getvalue()
    assert "crawling the fixtures" in shown and "2/2" in shown
    assert "check: " not in capsys.readouterr().err

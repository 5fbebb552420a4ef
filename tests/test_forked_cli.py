"""The forked-command helper reports the code a command exited with."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests import forked_cli

ROOT = Path(__file__).resolve().parents[1]


def test_a_status_lost_by_the_forkserver_is_read_from_the_child(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("3")
    assert forked_cli._exit_code(255, status) == 3  # what the child wrote wins over 255
    assert forked_cli._exit_code(0, status) == 0  # a status that arrived stands
    assert forked_cli._exit_code(255, tmp_path / "absent") == 255  # nothing written: as reported
    assert forked_cli._exit_code(-signal.SIGKILL, tmp_path / "absent") == -signal.SIGKILL


def test_a_command_writes_its_exit_code_down() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = forked_cli.run(["sources", "--no-such-option"], env=env, cwd=ROOT, timeout=60)
    assert done.returncode == 2, done.stderr  # argparse's usage error, through the status
    with forked_cli.Forked(["--help"], env=env, cwd=ROOT) as child:
        assert child.wait(60) == 0
        assert child._status.read_text() == "0"

"""Number arguments of the commands: bad values are refused by argparse, naming the option."""

import pytest

from crawler.cli import main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["schedule", "--interval", "-1"], "argument --interval: must be more than 0, got -1"),
        (["schedule", "--interval", "soon"], "argument --interval: not a number of seconds"),
        (["schedule", "--jitter", "-2"], "argument --jitter: must not be negative, got -2"),
        (["worker", "--max-idle", "-3"], "argument --max-idle: must not be negative, got -3"),
        (["feed", "--limit", "0"], "argument --limit: must be at least 1, got 0"),
        (["feed", "--limit", "x"], "argument --limit: not a whole number: 'x'"),
        (["releases", "--limit", "1.5"], "argument --limit: not a whole number: '1.5'"),
    ],
)
def test_bad_numbers_are_refused_naming_the_option(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err

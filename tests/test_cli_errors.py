"""What a user can get wrong gives one line on stderr and exit status 2, never a traceback:
a bad, unreachable or driverless database URL, a SQLite path in no directory, a bad CA
bundle, an unknown source, a date `--since` cannot read. The commands run in this process
(`crawler.cli.main`); each error is raised before any crawl starts."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.cli import main
from crawler.cli.common import date_bound
from crawler.sources import load_sources
from tests.databases import POSTGRES_URL

KNOWN = sorted(source.name for source in load_sources())


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """Exit status and stderr of `stnews argv`, argparse's own exits included."""
    try:
        status = main(argv)
    except SystemExit as exited:
        status = exited.code
    return status, capsys.readouterr().err


def assert_one_line(status: int, err: str, *expected: str) -> None:
    assert status == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in err, err


# --- the database URL --------------------------------------------------------------------------

UNREACHABLE = POSTGRES_URL.replace("127.0.0.1:5432", "127.0.0.1:1")
BAD_URLS = [
    # "no such directory for the SQLite database", or for a command that only looks "no
    # database at" the path
    ("sqlite:///no/such/dir/stnews.db", "no/such/dir"),
    ("not a url", "not a database URL: 'not a url'"),
    ("nope://host/db", "no database driver for 'nope'"),
    ("postgresql+psycopg2://u@127.0.0.1/test", "install stnews[postgres] and use postgresql+"),
    (UNREACHABLE, "cannot open the database postgresql+psycopg://postgres@127.0.0.1:1/test"),
]
DATABASE_COMMANDS = [
    ["status"], ["releases"], ["db", "current"], ["db", "upgrade"], ["feed", "--out", "{tmp}"],
    ["reparse"], ["reclassify"], ["events", "rebuild"], ["ledger"], ["subscriptions"],
    ["notify"], ["crawl", "ey", "--replay", "fixtures"], ["serve"], ["worker", "ey"],
    ["subscribe", "json://127.0.0.1/x"], ["unsubscribe", "1"],
]  # fmt: skip


@pytest.mark.parametrize(("url", "message"), BAD_URLS, ids=[u for u, _ in BAD_URLS])
@pytest.mark.parametrize("command", DATABASE_COMMANDS, ids=" ".join)
def test_an_unusable_database_is_one_line(
    url: str, message: str, command: list[str], tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    argv = ["--db", url, *(word.replace("{tmp}", str(tmp_path)) for word in command)]
    if "--replay" in argv:
        argv[-1] = str(Path(__file__).parents[1] / "fixtures")
    assert_one_line(*run(argv, capsys), message)
    assert not (tmp_path / "no").exists()


def test_the_default_var_directory_is_created_any_other_is_not(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["--db", "sqlite:///var/stnews.db", "db", "upgrade"]) == 0
    assert (tmp_path / "var" / "stnews.db").is_file()
    assert_one_line(*run(["--db", "sqlite:///vra/stnews.db", "db", "upgrade"], capsys), "vra")
    assert not (tmp_path / "vra").exists()


# --- the CA bundle -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read the CA bundle"), ("not a certificate\n", "no PEM certificate")],
)
def test_a_bad_ca_bundle_is_one_line(content, message, tmp_path, capsys, monkeypatch) -> None:
    bundle = tmp_path / "extra-ca.pem"
    if content is not None:
        bundle.write_text(content)
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'stnews.db'}"
    for argv in (
        ["--db", db, "crawl", "ey", "-s", f"TLS_CA_BUNDLE={bundle}"],
        ["--db", db, "record", "ey", str(tmp_path / "rec"), "-s", f"TLS_CA_BUNDLE={bundle}"],
    ):
        assert_one_line(*run(argv, capsys), f"TLS_CA_BUNDLE={bundle}: {message}")
    # $STNEWS_CA_BUNDLE, as the settings module read it (doctor has no -s).
    monkeypatch.setattr("crawler.settings.TLS_CA_BUNDLE", str(bundle))
    fixtures = str(Path(__file__).parents[1] / "fixtures")
    doctor = ["doctor", "ey", "--replay", fixtures]
    assert_one_line(*run(doctor, capsys), f"TLS_CA_BUNDLE={bundle}: {message}")
    assert not (tmp_path / "stnews.db").exists() and not (tmp_path / "rec").exists()


# --- unknown sources ---------------------------------------------------------------------------

UNKNOWN_SOURCE_COMMANDS = [
    ["status", "nope"], ["releases", "--source", "nope"], ["crawl", "nope"],
    ["crawl", "ey", "nope"], ["record", "nope", "{tmp}"], ["check", "nope"], ["reparse", "nope"],
    ["doctor", "nope"], ["extract", "nope", "page.html", "--url", "https://example.org/"],
    ["expected", "nope", "--fixtures", "{tmp}"], ["enqueue", "nope"], ["worker", "nope"],
    ["subscribe", "json://localhost/x", "--source", "nope"], ["schedule", "--source", "nope"],
]  # fmt: skip


@pytest.mark.parametrize("command", UNKNOWN_SOURCE_COMMANDS, ids=" ".join)
def test_an_unknown_source_is_an_error_listing_the_known_ones(
    command: list[str], tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = f"sqlite:///{tmp_path / 'stnews.db'}"
    argv = ["--db", db, *(word.replace("{tmp}", str(tmp_path)) for word in command)]
    status, err = run(argv, capsys)
    assert_one_line(status, err, "nope")
    assert all(name in err for name in KNOWN), err
    assert not (tmp_path / "stnews.db").exists()  # refused before anything was opened


# --- --since and --until -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024", datetime(2024, 1, 1, tzinfo=UTC)),
        ("2024-03", datetime(2024, 3, 1, tzinfo=UTC)),
        ("2024-03-05", datetime(2024, 3, 5, tzinfo=UTC)),
        ("2024-03-05T10:30", datetime(2024, 3, 5, 10, 30, tzinfo=UTC)),
        ("2024-03-05 10:30:15Z", datetime(2024, 3, 5, 10, 30, 15, tzinfo=UTC)),
        ("2024-03-05T10:30+09:00", datetime(2024, 3, 5, 1, 30, tzinfo=UTC)),
    ],
)
def test_since_reads_a_year_a_month_a_day_or_an_iso_time(text: str, expected: datetime) -> None:
    assert date_bound(text) == expected


@pytest.mark.parametrize(
    "text",
    ["2024-13-01", "2024-13", "2024-02-30", "24", "20240", "yesterday", "March 2024",
     "05/03/2024", "2024/03/05", "2024-3", ""],
)  # fmt: skip
def test_since_refuses_anything_else(text: str, capsys) -> None:
    for option in ("--since", "--until"):
        status, err = run(["releases", option, text], capsys)
        assert status == 2
        assert f"argument {option}: not a date (YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 " in err

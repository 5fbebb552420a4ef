"""The commands: subscribe (with its checks), subscriptions, unsubscribe, notify, and the
failed deliveries `stnews status` reports; the scheduler's notify step."""

from __future__ import annotations

import json

from sqlalchemy.exc import OperationalError

from crawler.service.notifying import run_notify
from storage import Database
from tests.cli_support import run_in_process as stnews
from tests.notify.conftest import Webhook


def test_subscribe_list_notify_unsubscribe(database_url: str, webhook: Webhook) -> None:
    added = stnews(
        "subscribe", webhook.url, "--partner", "fr", "--topic", "quantum", "--digest", "weekly",
        db=database_url,
    )  # fmt: skip
    assert "Subscription 1: a weekly digest to json://127.0.0.1:" in added.stdout
    mail = "mailto://user:secret@127.0.0.1:2525?from=a@example.org&to=b@example.org"
    stnews("subscribe", mail, db=database_url)
    listed = json.loads(stnews("subscriptions", "--json", db=database_url).stdout)
    assert [(row["id"], row["partners"], row["topics"], row["digest"]) for row in listed] == [
        (1, ["FR"], ["quantum"], "weekly"),
        (2, [], [], None),
    ]
    assert "secret" not in json.dumps(listed)  # passwords and tokens are never shown
    table = stnews("subscriptions", db=database_url).stdout
    # The table wraps its columns (at words) to fit 80.
    assert {"partner", "FR;", "topic", "quantum;", "weekly", "digest"} <= set(table.split())
    assert "secret" not in table

    sent = json.loads(stnews("notify", "--json", db=database_url).stdout)
    assert sent["sent"] == 0 and sent["failed"] == 0  # nothing stored yet

    assert "removed" in stnews("unsubscribe", "2", db=database_url).stdout
    gone = stnews("unsubscribe", "2", db=database_url, check=False)
    assert gone.returncode == 2 and "no subscription 2" in gone.stderr
    assert len(json.loads(stnews("subscriptions", "--json", db=database_url).stdout)) == 1


def test_subscribe_refuses_what_it_cannot_use(database_url: str) -> None:
    for args, message in (
        (["nothing://here"], "not an Apprise URL"),
        (["json://127.0.0.1/x", "--partner", "XX"], "unknown partner 'XX'"),
        (["json://127.0.0.1/x", "--topic", "cooking"], "unknown topic 'cooking'"),
        (["json://127.0.0.1/x", "--language", "zh hant"], "not a language tag"),
        (["json://127.0.0.1/x", "--digest", "daily", "--timezone", "Mars/Base"], "time zone"),
    ):
        result = stnews("subscribe", *args, db=database_url, check=False)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    # Nothing was stored: not even the database was created.
    listed = stnews("subscriptions", "--json", db=database_url, check=False)
    assert listed.returncode == 2 and "`stnews db upgrade` creates" in listed.stderr


def test_the_scheduler_step_reports_and_never_raises(database: Database, monkeypatch) -> None:
    assert run_notify(database).startswith("notify: 0 message(s) sent")

    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, OSError("connection refused"))

    monkeypatch.setattr(database, "session", unreachable)
    assert run_notify(database) is None  # logged; the crawls go on

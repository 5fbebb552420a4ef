"""Settings: crawler/settings.py holds every default, old names still work with a warning,
and a bad value stops the start with one line naming it."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import pytest
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from crawler import settings as defaults
from crawler.cli import main
from crawler.config import (
    SettingRenamedWarning,
    SettingsError,
    check,
    project_names,
    setting,
)
from crawler.project import project_settings
from tests.support import ROOT


def test_a_bare_settings_object_reads_the_defaults_of_the_settings_module() -> None:
    # A crawler built without the project's settings (get_crawler, a unit test) gets the
    # same values as a real crawl, not a second set of defaults.
    bare = Settings()
    for name in project_names():
        assert setting(bare, name) == getattr(defaults, name), name


def test_values_are_read_as_the_type_of_their_default() -> None:
    given = Settings(
        {
            "STNEWS_FEED_LIMIT": "7",
            "RECHECK_AFTER_DAYS": "1.5",
            "INCREMENTAL_ENABLED": "False",
            "TLS_UNVERIFIED_HOSTS": "a.example,b.example",
        }
    )
    assert setting(given, "STNEWS_FEED_LIMIT") == 7
    assert setting(given, "RECHECK_AFTER_DAYS") == 1.5
    assert setting(given, "INCREMENTAL_ENABLED") is False
    assert setting(given, "TLS_UNVERIFIED_HOSTS") == ["a.example", "b.example"]
    with pytest.raises(KeyError, match="not a setting"):
        setting(given, "FEED_LIMITS")


def test_stnews_settings_stay_out_of_scrapys_feed_namespace() -> None:
    assert not [name for name in project_names() if name.startswith("FEED_")]


def test_old_names_still_work_with_a_warning() -> None:
    with pytest.warns(SettingRenamedWarning) as caught:
        settings = project_settings({"FEED_LIMIT": "7", "FEED_BASE_URL": "https://x.example/"})
    assert sorted(str(warning.message).split(";")[0] for warning in caught) == [
        "setting FEED_BASE_URL is renamed STNEWS_FEED_BASE_URL",
        "setting FEED_LIMIT is renamed STNEWS_FEED_LIMIT",
    ]
    assert setting(settings, "STNEWS_FEED_LIMIT") == 7
    assert setting(settings, "STNEWS_FEED_BASE_URL") == "https://x.example/"
    assert "FEED_LIMIT" not in settings and "FEED_BASE_URL" not in settings


def test_the_new_name_wins_over_the_old_one_given_as_specifically() -> None:
    with pytest.warns(SettingRenamedWarning):
        settings = project_settings({"FEED_LIMIT": "7", "STNEWS_FEED_LIMIT": "9"})
    assert setting(settings, "STNEWS_FEED_LIMIT") == 9


def test_the_new_names_give_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SettingRenamedWarning)
        settings = project_settings({"STNEWS_FEED_LIMIT": "9"})
    assert setting(settings, "STNEWS_FEED_LIMIT") == 9


def test_bad_values_are_one_error_naming_each() -> None:
    bad = {
        "STNEWS_FEED_LIMIT": "0",
        "STORE_WRITER": "disk",
        "SCHEDULE_JITTER": "-1",
        "INCREMENTAL_ENABLED": "maybe",
        "RECHECK_AFTER_DAYS": "a week",
        "ALLOW_PRIVATE_ADDRESSES": "the office",
    }
    with pytest.raises(SettingsError) as raised:
        project_settings(bad)
    message = str(raised.value)
    assert "\n" not in message
    for name, value in bad.items():
        assert f"{name}={value!r}" in message, name
    assert "STNEWS_FEED_LIMIT='0': must be above 0" in message
    assert "STORE_WRITER='disk': removed (issue 19)" in message
    assert "INCREMENTAL_ENABLED='maybe': expected True or False" in message


@pytest.mark.parametrize("mode", ["process", "thread", "inline"])
def test_a_removed_store_writer_mode_stops_the_start_saying_why(mode: str) -> None:
    # An old configuration naming a removed mode is told, not silently run another way.
    with pytest.raises(SettingsError) as raised:
        project_settings({"STORE_WRITER": mode})
    message = str(raised.value)
    assert f"STORE_WRITER={mode!r}: removed (issue 19)" in message
    assert "always stored in batches" in message and "drop the setting" in message
    # Naming what still happens is no error.
    assert "STORE_WRITER" not in project_names()
    check(Settings({"STORE_WRITER": "batch"}))


def test_the_defaults_themselves_pass_the_check() -> None:
    check(Settings({name: getattr(defaults, name) for name in project_names()}))


def test_stnews_prints_a_bad_setting_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'stnews.db'}"
    status = main(["--db", db, "crawl", "nstc", "-s", "STORE_BATCH_SIZE=lots"])
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert len(err.splitlines()) == 1
    assert "STORE_BATCH_SIZE='lots': expected a whole number" in err
    assert not (tmp_path / "stnews.db").exists()  # stopped before anything was opened


def test_scrapy_checks_the_settings_when_a_crawler_is_made() -> None:
    # `scrapy crawl` does not go through stnews's CLI: the add-on checks there.
    addon = {"ADDONS": {"crawler.config.SettingsAddon": 0}}
    with pytest.raises(SettingsError, match="STORE_BATCH_SIZE='-5': must be above 0"):
        get_crawler(settings_dict={**addon, "STORE_BATCH_SIZE": "-5"})
    assert get_crawler(settings_dict={**addon, "STORE_BATCH_SIZE": "5"}).settings.frozen
    assert defaults.ADDONS.get("crawler.config.SettingsAddon") is not None


# Reading a project setting with a fallback, `settings.getint("NAME", 50)`, restates a default.
# (The environment's `os.environ.get("NAME", ...)` is the settings module's own business.)
_FALLBACK = re.compile(r"""(?<!environ)\.get\w*\(\s*["']([A-Z][A-Z0-9_]+)["']\s*,""")


def test_no_module_restates_a_default_of_the_settings_module() -> None:
    names = set(project_names())
    restated = []
    for folder in ("crawler", "spiders", "storage"):
        for path in (ROOT / folder).rglob("*.py"):
            for match in _FALLBACK.finditer(path.read_text(encoding="utf-8")):
                if match.group(1) in names:
                    restated.append(f"{path.relative_to(ROOT)}: {match.group(0)}")
    assert restated == []


def test_the_url_length_limit_is_the_url_column_length() -> None:
    """settings.py writes the limit out (reading settings must not import SQLAlchemy)."""
    from crawler import settings
    from storage.limits import column_limit
    from storage.models import Release

    assert column_limit(Release, "url") == settings.URLLENGTH_LIMIT

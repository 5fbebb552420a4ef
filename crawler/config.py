"""Reading stnews's own settings: one source of defaults, renamed names, one check at start.

``crawler/settings.py`` holds every default; nothing else restates one. Code reads a project
setting with ``setting(settings, NAME)``: the value the process was given, else the default
from ``crawler/settings.py``, as the default's type (an ``int`` default reads with
``getint``, a ``bool`` with ``getbool``...). That also serves settings objects that never saw
the settings module (``scrapy.utils.test.get_crawler``, a bare ``Settings()``).

``check(settings)`` runs once at start: ``crawler.project.project_settings`` (every ``stnews``
command) and the ``SettingsAddon`` (``scrapy crawl``, ``scrapy check``...) call it. It moves
old names to new ones with a ``SettingRenamedWarning`` and raises ``SettingsError``, whose
message is one line naming every bad setting, when a value has the wrong type or range.

Adding a setting: its default and a comment in ``crawler/settings.py``; a range beyond
"numbers are not negative" goes in ``POSITIVE`` or ``CHOICES`` here. Removing one: its name
goes in ``REMOVED``, which says why when a configuration still sets it.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from crawler import settings as defaults

if TYPE_CHECKING:  # Scrapy is imported only where settings are checked: `stnews --help` is fast
    from scrapy.settings import BaseSettings

#: Old name -> stnews's own. Scrapy owns the ``FEED_*`` names (its feed exports); the old
#: names are accepted, with a warning, until stnews 0.3.
RENAMED: dict[str, str] = {
    "FEED_LIMIT": "STNEWS_FEED_LIMIT",
    "FEED_BASE_URL": "STNEWS_FEED_BASE_URL",
}
#: Numbers that must be above zero (every other number only must not be negative).
POSITIVE = frozenset(
    {
        "STNEWS_FEED_LIMIT",
        "STORE_BATCH_SIZE",
        "SCHEDULE_DEFAULT_INTERVAL",
        "SCHEDULE_LEASE_SECONDS",
        "SCHEDULE_FEED_CHECK",
        "CRAWL_TIME_LIMIT",
        "STNEWS_WORKER_POLL_INTERVAL",
    }
)
#: Settings with a closed set of values.
CHOICES: dict[str, tuple[str, ...]] = {}
#: Settings that are gone: name -> (the value that is still what happens, accepted quietly;
#: why any other value stops the start). An old configuration is told, not silently ignored.
REMOVED: dict[str, tuple[str, str]] = {
    "STORE_WRITER": (
        "batch",
        "removed (issue 19): releases are always stored in batches in the crawl's thread; the "
        "writer process, thread and inline modes cost more than they saved; drop the setting",
    ),
}


class SettingsError(ValueError):
    """A setting with a value stnews cannot use; the message is one line."""


class SettingRenamedWarning(FutureWarning):
    """An old setting name was used. A FutureWarning: Python shows it to users by default."""


def project_names() -> list[str]:
    """stnews's own settings: the names ``crawler/settings.py`` defines beyond Scrapy's."""
    from scrapy.settings import default_settings as scrapy_defaults

    return [
        name
        for name in vars(defaults)
        if name.isupper() and not name.startswith("_") and not hasattr(scrapy_defaults, name)
    ]


def default(name: str) -> Any:
    """The default of a project setting, from ``crawler/settings.py``."""
    try:
        return getattr(defaults, name)
    except AttributeError:
        raise KeyError(f"{name} is not a setting of crawler/settings.py") from None


def setting(settings: BaseSettings | None, name: str) -> Any:
    """A project setting's value, as the type of its default; the default when not set."""
    fallback = default(name)
    if settings is None or name not in settings:
        return fallback
    # bool before int: a bool is an int.
    if isinstance(fallback, bool):
        return settings.getbool(name)
    if isinstance(fallback, int):
        return settings.getint(name)
    if isinstance(fallback, float):
        return settings.getfloat(name)
    if isinstance(fallback, list):
        return settings.getlist(name)
    if isinstance(fallback, dict):
        return settings.getdict(name)
    value = settings.get(name)
    if isinstance(fallback, str) and not isinstance(value, str):
        raise ValueError(f"not text: {value!r}")
    return value


def rename_old(settings: BaseSettings) -> None:
    """Move each old name's value to its new name (unless the new one is set more
    specifically), with a warning."""
    for old, new in RENAMED.items():
        if old not in settings:
            continue
        warnings.warn(
            f"setting {old} is renamed {new}; the old name stops working in stnews 0.3",
            SettingRenamedWarning,
            stacklevel=3,
        )
        priority = settings.getpriority(old) or 0
        if new not in settings or (settings.getpriority(new) or 0) < priority:
            settings.set(new, settings.get(old), priority=priority)
        settings.delete(old, priority=priority)


def check(settings: BaseSettings) -> None:
    """Rename old names, then check every project setting; ``SettingsError`` lists all the
    bad ones in one line."""
    rename_old(settings)
    problems = [problem for name in project_names() if (problem := _problem(settings, name))]
    for name, (still, why) in REMOVED.items():
        if name in settings and str(settings.get(name)) != still:
            problems.append(f"{name}={settings.get(name)!r}: {why}")
    if problems:
        raise SettingsError("bad setting(s): " + "; ".join(problems))


def _problem(settings: BaseSettings, name: str) -> str | None:
    raw = settings.get(name)
    fallback = default(name)
    if name == "ALLOW_PRIVATE_ADDRESSES":  # True/False or addresses: its own reader checks
        from crawler.safety import parse_permission  # imported on use: safety reads settings

        try:
            parse_permission(raw)
        except ValueError as exc:
            return f"{name}={raw!r}: {exc}"
        return None
    try:
        value = setting(settings, name)
    except (TypeError, ValueError):
        kind = type(fallback).__name__ if fallback is not None else "text"
        return f"{name}={raw!r}: expected {_KIND_NAMES.get(kind, kind)}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if name in POSITIVE and value <= 0:
            return f"{name}={raw!r}: must be above 0"
        if value < 0:
            return f"{name}={raw!r}: must not be negative"
    if name in CHOICES and value not in CHOICES[name]:
        return f"{name}={raw!r}: expected one of {', '.join(CHOICES[name])}"
    return None


_KIND_NAMES = {
    "bool": "True or False",
    "int": "a whole number",
    "float": "a number",
    "list": "a list",
    "dict": "a mapping",
    "str": "text",
}


class SettingsAddon:
    """Checks the settings once, when a crawler is made (``scrapy crawl``, ``scrapy check``)."""

    def update_settings(self, settings: BaseSettings) -> None:
        check(settings)

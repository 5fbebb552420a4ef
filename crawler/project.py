"""The project's Scrapy settings, loaded the same way from any working directory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from crawler.config import check

SETTINGS_MODULE = "crawler.settings"
REMOTE_CONTROL = "scrapy.extensions.remote_control.RemoteControl"


def project_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """The project's Scrapy settings, whatever the working directory, with overrides; old
    names renamed and every stnews setting checked (``crawler.config.check``: a bad value
    raises ``SettingsError``, one line)."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
    settings = get_project_settings()
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    # Scrapy imports every extension it lists, even a disabled one, and its RemoteControl
    # imports aiohttp and pydantic only to find itself off: 0.18 s of CPU and 10 MB in every
    # crawl process. Unless it is asked for, it is left out of the list.
    if not settings.getbool("REMOTE_CONTROL_ENABLED"):
        extensions = dict(settings.getdict("EXTENSIONS_BASE"))
        if extensions.pop(REMOTE_CONTROL, None) is not None:
            settings.set("EXTENSIONS_BASE", extensions, priority="default")
    check(settings)
    return settings

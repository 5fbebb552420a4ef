"""The project's Scrapy settings, loaded the same way from any working directory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from crawler.config import check

SETTINGS_MODULE = "crawler.settings"


def project_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """The project's Scrapy settings, whatever the working directory, with overrides; old
    names renamed and every stnews setting checked (``crawler.config.check``: a bad value
    raises ``SettingsError``, one line)."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", SETTINGS_MODULE)
    settings = get_project_settings()
    for name, value in (overrides or {}).items():
        settings.set(name, value, priority="cmdline")
    check(settings)
    return settings

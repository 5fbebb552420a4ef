"""Defaults of `stnews feed`, apart from the code that writes feeds so that the command line
can show them without importing it (and SQLAlchemy, feedgen, icalendar) at start-up."""

from pathlib import Path

DEFAULT_OUT_DIR = Path("var/feeds")
DEFAULT_BASE_URL = "http://127.0.0.1:8080/feeds/"
DEFAULT_LIMIT = 50

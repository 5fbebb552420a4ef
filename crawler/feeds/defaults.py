"""Where `stnews feed` writes by default, apart from the code that writes feeds so that the
command line can show it without importing that code (SQLAlchemy, feedgen, icalendar) at
start-up. The other defaults are settings (crawler/settings.py)."""

from pathlib import Path

DEFAULT_OUT_DIR = Path("var/feeds")

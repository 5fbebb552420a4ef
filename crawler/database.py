"""Opening the project's database: one Database per URL per process, shared by the pipelines
and extensions of every crawler; only the embedded default may create its directory."""

from functools import cache

from crawler.config import default
from storage import Database


def creates_directory(url: str) -> bool:
    """Whether opening ``url`` may create the SQLite file's directory: only for the embedded
    default (``var/``), so a mistyped path is an error instead of a new empty database."""
    return url == default("EMBEDDED_DATABASE_URL")


@cache
def database_for(url: str) -> Database:
    return Database(url, create_directory=creates_directory(url))

"""One Database per URL per process, shared by the pipelines and extensions of every crawler."""

from functools import cache

from storage import Database


@cache
def database_for(url: str) -> Database:
    return Database(url)

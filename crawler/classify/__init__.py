"""Classification of science-and-technology press releases.

``classify(title, body, agency_country, language)`` decides whether a release announces
international S&T cooperation, with whom (ISO 3166-1 alpha-2 codes, ``EU`` and organisation
codes such as ``OECD``), on which topics and of which kind. Pure Python: no Scrapy, no database.
Vocabulary and names are data files in ``crawler/classify/data/``.
"""

import tomllib
from functools import cache
from importlib import resources

from .engine import COOP_TYPES, TOPICS, Classification, classify

__all__ = ["COOP_TYPES", "TOPICS", "Classification", "classify", "organisation_names"]


@cache
def organisation_names() -> dict[str, str]:
    """Display names of the international organisations the classifier can name as partners:
    the first English name that is not an acronym ("EU" -> "European Union"), else the code."""
    with resources.files(__package__).joinpath("data", "entities.toml").open("rb") as handle:
        organisations = tomllib.load(handle)["organisations"]
    return {
        code: next((name for name in spec.get("en", []) if not name.isupper()), code)
        for code, spec in organisations.items()
    }

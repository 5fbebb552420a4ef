"""Human-readable names for the codes the classifier stores (partners, topics, coop types,
languages)."""

from __future__ import annotations

import re
from functools import cache

import pycountry
from babel import Locale, UnknownLocaleError

from crawler.classify import organisation_names

# ISO's short names are sometimes not what a reader expects in a headline.
COUNTRY_NAMES = {"TW": "Taiwan"}


@cache
def partner_name(code: str) -> str:
    """The partner's name: "France" for "FR", "European Union" for "EU", else the code."""
    key = code.strip().upper()
    # Partners that are not countries: the classifier's own organisation data names them.
    organisations = organisation_names()
    if key in organisations:
        return organisations[key]
    if key in COUNTRY_NAMES:
        return COUNTRY_NAMES[key]
    country = pycountry.countries.get(alpha_2=key) if len(key) == 2 else None
    if country is None:
        return code
    # common_name exists where the official short name reads oddly ("Korea, Republic of").
    return getattr(country, "common_name", None) or country.name


def partner_label(code: str) -> str:
    """ "France (FR)"; an unknown code is shown alone rather than as "XX (XX)"."""
    name = partner_name(code)
    return code if name == code else f"{name} ({code})"


# Words of the classifier's values that are written in capitals (or otherwise) in prose; every
# other word is lower case, and a label starts with a capital: "net-zero" -> "Net zero".
WORDS = {
    "ai": "AI", "ict": "ICT", "5g": "5G", "6g": "6G", "st": "S&T", "r&d": "R&D", "eu": "EU",
    "mou": "MOU", "moc": "MOC", "stem": "STEM",
}  # fmt: skip
_WORD_SPLIT = re.compile(r"[\s_-]+")


def humanize(value: str) -> str:
    """A topic, coop-type or instrument value shown to a reader: "ai" -> "AI",
    "joint-committee" -> "Joint committee", "net-zero" -> "Net zero"."""
    words = [w for w in _WORD_SPLIT.split(value.strip()) if w]
    if not words:
        return value
    shown = [WORDS.get(w.casefold(), w.casefold() if w.isascii() else w) for w in words]
    first = shown[0]
    shown[0] = first[:1].upper() + first[1:]
    return " ".join(shown)


@cache
def language_label(tag: str) -> str:
    """A BCP 47 language tag in English words: "zh-Hant" -> "Chinese (Traditional)", "ko" ->
    "Korean"; an unknown tag is shown as it is."""
    try:
        name = Locale.parse(tag.replace("_", "-"), sep="-").get_display_name("en")
    except (ValueError, TypeError, UnknownLocaleError):
        return tag
    return name or tag

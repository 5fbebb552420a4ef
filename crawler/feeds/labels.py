"""Human-readable names for the codes the classifier stores (partners, topics, coop types)."""

from __future__ import annotations

from functools import cache

import pycountry

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


def humanize(value: str) -> str:
    """A topic or coop-type value shown to a reader: "joint_research" -> "joint research"."""
    return " ".join(value.replace("_", " ").replace("-", " ").split()) or value

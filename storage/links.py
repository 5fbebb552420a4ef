"""What a release's link may be: http(s), with a host, on its source's domains (issue 18).

Pure ``urllib``: the crawl's pipelines check links with it before a release is built, and the
store checks every record again, so a link that is not a web page of the source never
reaches the database, whichever code path made the record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

WEB_SCHEMES = ("http", "https")
# Whitespace (str.isspace's set: re's \s is the same for str patterns) and control characters;
# one search instead of a generator over each character (a list page checks hundreds of links).
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


class UnsafeLink(ValueError):
    """A record whose link is not an http(s) page of its source; ``reason`` names why."""

    def __init__(self, reason: str, url: str) -> None:
        super().__init__(f"unsafe-link ({reason}): {url[:200]!r}")
        self.reason = reason


def on_domains(host: str, domains: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or below one (Scrapy's offsite rule)."""
    host = host.rstrip(".").lower()
    for entry in domains:
        domain = (entry or "").lower().rstrip(".")
        if ":" in domain and not domain.startswith("["):
            domain = domain.rsplit(":", 1)[0]  # "host:port": the port is no filter here
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def link_problem(url: str | None, domains: Iterable[str] = ()) -> str | None:
    """Why ``url`` cannot be a release's link, or None when it can.

    Reasons: ``malformed`` (urllib refuses it, a bad port, whitespace or controls inside),
    ``scheme`` (not http or https: ``javascript:``, ``mailto:``, ``data:``...), ``no-host``,
    ``offsite`` (a host outside ``domains``; not checked when ``domains`` is empty).
    """
    url = url or ""
    if not url or _SPACE_OR_CONTROL.search(url):
        return "malformed"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
        host = parts.hostname or ""
    except ValueError:
        return "malformed"
    if parts.scheme.lower() not in WEB_SCHEMES:
        return "scheme"
    if not host:
        return "no-host"
    domains = [domain for domain in domains if domain]
    if domains and not on_domains(host, domains):
        return "offsite"
    return None


def web_link(url: str | None) -> bool:
    """Whether ``url`` is a well-formed http(s) link with a host, wherever it points."""
    return link_problem(url) is None

"""Canonical URLs, so one release reached through different URL variants is stored once."""

import re
from urllib.parse import parse_qsl, urlsplit

from w3lib.url import canonicalize_url, url_query_cleaner

# Session tokens some servlet containers put in the path: `/view.do;jsessionid=ABC?x=1`.
_PATH_SESSION = re.compile(r";(?:jsessionid|phpsessid|sid|sessionid)=[^/?#]*", re.IGNORECASE)

# Query parameters that say where a link was found (paging, search box state, tracking),
# never which document it is. Generic across sites: no site-specific names here.
NON_IDENTIFYING_PARAMS = frozenset(
    {
        "page", "pagenum", "pageindex", "pagesize", "pageno", "view_mode", "searchopt",
        "searchtxt", "searchkeyword", "sort", "jsessionid", "phpsessid", "sessionid",
        "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "fbclid", "gclid",
    }
)  # fmt: skip


def strip_session(url: str) -> str:
    """Remove `;jsessionid=...`-style session tokens from the path."""
    return _PATH_SESSION.sub("", url)


def canonical_url(url: str) -> str:
    """The stable form of a release URL.

    w3lib canonicalizes (sorted query, normalized escapes, no fragment); on top of that we
    drop path session tokens, empty parameters and parameters that only describe paging or
    search state.
    """
    url = strip_session(url)
    # url_query_cleaner keeps only the parameters we name, so name the identifying ones.
    keep = [
        name
        for name, value in parse_qsl(urlsplit(url).query, keep_blank_values=True)
        if value.strip() and name.lower() not in NON_IDENTIFYING_PARAMS
    ]
    url = url_query_cleaner(url, parameterlist=keep, unique=True, keep_fragments=False)
    return canonicalize_url(url)


# Whitespace (str.isspace's set: re's \s is the same for str patterns) and control
# characters; one search instead of a generator over each character (a list page checks
# hundreds of links).
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f]")


def web_link(url: str | None) -> bool:
    """Whether ``url`` is a well-formed http(s) link with a host (no ``mailto:``,
    ``javascript:``, ``data:``; nothing urllib refuses, such as ``http://[host`` or a port
    out of range). Page objects may not import ``storage``, whose ``storage.links`` makes the
    same check (and the domain check) at the store: hence this small twin."""
    url = url or ""
    if not url or _SPACE_OR_CONTROL.search(url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)

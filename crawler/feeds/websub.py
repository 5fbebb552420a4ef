"""WebSub (W3C Recommendation, formerly PubSubHubbub): telling a hub that feeds changed.

Feeds declare the hub (``<link rel="hub">`` in Atom and RSS, ``hubs`` in JSON Feed) when
``STNEWS_WEBSUB_HUB`` is set; after a build, the URLs of the feed files it rewrote are posted
to the hub as ``hub.mode=publish`` with one ``hub.url`` per feed, the publishing convention
hubs such as Google's, Superfeedr and websub.rocks accept (the Recommendation leaves publishing
to the hub). The hub then fetches the feeds and pushes them to subscribers.

A ping that fails is logged and reported, never raised: the feed files are already written,
readers polling them lose nothing, and the next changed build pings again. The request is a
plain form POST, so the standard library's client does it; no extra dependency.
"""

from __future__ import annotations

import logging
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 10.0
#: Tries of one ping (a hub restarting answers again within seconds), and the pause between.
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
#: Feed URLs per request: hubs cap the form size; a big rebuild is sent in batches.
BATCH = 50
USER_AGENT = "stnews-websub/1"


@dataclass(frozen=True)
class PingResult:
    hub: str
    urls: int  # feed URLs announced
    ok: bool
    status: int | None  # the hub's last HTTP status (None: no answer)
    error: str | None = None

    def summary(self) -> str:
        if self.ok:
            return f"pinged ({self.urls} feeds)"
        return f"ping failed ({self.error or self.status})"


def ping(
    hub_url: str,
    feed_urls: Sequence[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF_SECONDS,
) -> PingResult:
    """Announce `feed_urls` to the hub; retried on network errors and 5xx answers."""
    if urlsplit(hub_url).scheme not in ("http", "https"):
        return PingResult(hub_url, len(feed_urls), False, None, "hub URL is not http(s)")
    status: int | None = None
    for start in range(0, len(feed_urls), BATCH):
        batch = feed_urls[start : start + BATCH]
        status, error = _post(hub_url, batch, timeout, attempts, backoff)
        if error is not None:
            logger.warning(
                "WebSub hub %s: %s; %d feed(s) not announced", hub_url, error, len(feed_urls)
            )
            return PingResult(hub_url, len(feed_urls), False, status, error)
    logger.info("WebSub hub %s: announced %d changed feed(s)", hub_url, len(feed_urls))
    return PingResult(hub_url, len(feed_urls), True, status)


def _post(
    hub_url: str, urls: Sequence[str], timeout: float, attempts: int, backoff: float
) -> tuple[int | None, str | None]:
    data = urlencode([("hub.mode", "publish"), *(("hub.url", url) for url in urls)]).encode()
    request = urllib.request.Request(
        hub_url,
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": USER_AGENT,
        },
    )
    status: int | None = None
    error = "no attempt"
    for attempt in range(max(1, attempts)):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status = response.status
                response.read(65536)
            if 200 <= status < 300:
                return status, None
            error = f"HTTP {status}"
        except urllib.error.HTTPError as exc:
            status, error = exc.code, f"HTTP {exc.code}"
            if exc.code < 500:
                return status, error  # the hub refuses this request; retrying cannot help
        except (OSError, ValueError) as exc:  # refused, timed out, bad answer
            error = f"{type(exc).__name__}: {exc}"
    return status, error

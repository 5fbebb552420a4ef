"""Health of feed sources: an empty or frozen feed told apart from a quiet publisher.

Sources publish at very different rhythms (the Commission's research news daily, MEXT
weekly, some agencies a few times a month), so "nothing new" alone means nothing. What a
feed crawl can tell:

- **Valid but empty.** The body parses as RSS/Atom but lists no entries. A publisher's news
  feed is never empty: its generator or its query broke (``broken``), which is reported as
  such rather than as a list page whose selectors matched nothing.
- **Stopped updating.** The feed's newest entry is older than the source may stay quiet
  (``[source.health] max_quiet_days``, else four usual gaps of its stored releases, at least
  two weeks) *and* the HTML check page lists releases the feed lacks: the site publishes,
  the feed does not (``degraded``).
- **Quiet.** The feed's newest entry is that old but nothing says the site published more:
  the source is ``stale`` (a monitor event), not broken; within its rhythm it is simply
  healthy.

The feed spider records the newest entry it read as the stat ``feed/newest_entry`` (an ISO
datetime, UTC); ``HealthMonitor`` calls ``freshness`` when the crawl closes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from crawler.normalize import parse_date

NEWEST_ENTRY_STAT = "feed/newest_entry"


def newest_entry(dates: Iterable[str | None], timezone: str, language: str) -> datetime | None:
    """The newest of a feed's entry dates (as written), in UTC; None if none is a date."""
    parsed = [parse_date(text, timezone, language) for text in dates if text]
    return max((value for value in parsed if value), default=None)


def empty_feed_reason(stats: Mapping[str, Any]) -> str | None:
    """Why the feed gave nothing although it was fetched, or None."""
    if stats.get("feed/problem/no-entries"):
        return "feed is valid RSS/Atom but lists no entries (its generator or query broke?)"
    if stats.get("feed/problem/not-a-feed"):
        return "feed URL answered with something that is not RSS/Atom"
    return None


def empty_feed_pages(stats: Mapping[str, Any]) -> int:
    """Feeds among the empty list pages: already explained by ``empty_feed_reason``."""
    return int(stats.get("feed/problem/no-entries", 0)) + int(
        stats.get("feed/problem/not-a-feed", 0)
    )


@dataclass(frozen=True)
class Freshness:
    """What the feed's newest entry says about the source."""

    stopped: str | None = None  # the feed stopped updating: a degraded reason
    quiet: str | None = None  # the publisher is quiet beyond its rhythm: a stale message


def freshness(stats: Mapping[str, Any], limit: timedelta | None, now: datetime) -> Freshness:
    """Judge the feed's newest entry against the time the source may stay quiet."""
    raw = stats.get(NEWEST_ENTRY_STAT)
    if not raw or limit is None:
        return Freshness()
    newest = datetime.fromisoformat(raw)
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    age = now - newest
    if age <= limit:
        return Freshness()
    day = newest.date().isoformat()
    missing = int(stats.get("feed/missing_from_feed", 0))
    if missing:
        return Freshness(
            stopped=(
                f"feed stopped updating: its newest entry is from {day} ({age.days} days, "
                f"more than {limit.days}), while the list page shows {missing} release(s) "
                "missing from it"
            )
        )
    return Freshness(
        quiet=(
            f"quiet: the feed is valid but its newest entry is from {day} ({age.days} days; "
            f"this source is expected to publish within {limit.days} days)"
        )
    )

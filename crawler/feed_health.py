"""Health of feed sources: an empty or frozen feed told apart from a quiet publisher.

Sources publish at very different rhythms (the Commission's research news daily, MEXT
weekly, some agencies a few times a month), so "nothing new" alone means nothing. What a
feed crawl can tell:

- **Valid but empty.** The body parses as RSS/Atom but lists no entries. A publisher's news
  feed is never empty: its generator or its query broke (``broken``), which is reported as
  such rather than as a list page whose selectors matched nothing.
- **Stopped updating.** The feed's newest entry is older than the source may stay quiet
  (``[source.health] max_quiet_days``, else four usual gaps of its stored releases, at least
  two weeks) *and* the HTML check page lists a release newer than it that the feed lacks:
  the site publishes, the feed does not (``degraded``). A feed that merely skips an older
  item is reported by the feed spider itself (``feed/missing_from_feed``), not here.
- **Quiet.** The feed's newest entry is that old but nothing says the site published more:
  the source is ``stale`` (a monitor event), not broken; within its rhythm it is simply
  healthy.

The feed spider records the newest entry it read as the stat ``feed/newest_entry`` and the
newest check-page release missing from the feed as ``feed/newest_missing`` (ISO datetimes,
UTC); ``HealthMonitor`` calls ``freshness`` when the crawl closes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from crawler.normalize import parse_date

NEWEST_ENTRY_STAT = "feed/newest_entry"
NEWEST_MISSING_STAT = "feed/newest_missing"


def newest_entry(dates: Iterable[str | None], timezone: str, language: str) -> datetime | None:
    """The newest of a feed's entry dates (as written), in UTC; None if none is a date."""
    parsed = [parse_date(text, timezone, language) for text in dates if text]
    return max((value for value in parsed if value), default=None)


def note_missing(stats: Any, shown: str | None, timezone: str, language: str) -> None:
    """Keep the newest date of the check page's releases that the feed lacks (a stats
    collector's ``feed/newest_missing``, ISO UTC)."""
    found = parse_date(shown, timezone, language)
    if found is None:
        return
    known = stats.get_value(NEWEST_MISSING_STAT)
    if known is None or found > datetime.fromisoformat(known):
        stats.set_value(NEWEST_MISSING_STAT, found.isoformat())


def _moment(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
    newest = _moment(raw)
    age = now - newest
    if age <= limit:
        return Freshness()
    day = newest.date().isoformat()
    missing = stats.get(NEWEST_MISSING_STAT)
    if missing and _moment(missing) > newest:
        return Freshness(
            stopped=(
                f"feed stopped updating: its newest entry is from {day} ({age.days} days, "
                f"more than {limit.days}), while the list page shows a newer release from "
                f"{_moment(missing).date().isoformat()} that it lacks"
            )
        )
    return Freshness(
        quiet=(
            f"quiet: the feed is valid but its newest entry is from {day} ({age.days} days; "
            f"this source is expected to publish within {limit.days} days)"
        )
    )

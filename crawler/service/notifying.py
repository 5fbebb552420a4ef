"""The scheduler's part in alerts: `stnews notify` after each scheduler job (a crawl, or in
enqueue mode a feed check; crawler.service.daemon listens for them), and every few minutes
for digests whose period has ended and failed sends whose backoff has passed (the daemon
adds that job)."""

from __future__ import annotations

import logging
import threading

from storage.db import Database

logger = logging.getLogger(__name__)

#: The job that sends due digests and retries (in the scheduler's memory job store).
NOTIFY_JOB = ":notify"
DEFAULT_NOTIFY_CHECK = 300.0
# The delivery log keeps concurrent runs (two sources finishing together, a second
# scheduler) from sending anything twice; this lock only spares the database a race this
# process would lose anyway.
_lock = threading.Lock()


def run_notify(database: Database) -> str | None:
    """Send pending alerts, due digests and retries; a summary line, or None when it failed
    (logged: alerts must never stop the crawling)."""
    from crawler.notify import notify

    try:
        with _lock:
            report = notify(database)
    except Exception:
        logger.exception("notify failed")
        return None
    if report.sent or report.failed:
        logger.info("%s", report.summary())
    return report.summary()

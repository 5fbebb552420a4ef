"""Alerts and digests through Apprise (issue 16).

`stnews subscribe URL [filters] [--digest daily|weekly]` stores a subscription;
`stnews notify` (and the scheduler, after each crawl and every few minutes) sends what is
due: an alert with the new matching cooperation releases, or a digest once its period has
ended. Storage (storage.notify) keeps the delivery log that makes each item sent once;
`compose` writes the messages, `send` hands them to Apprise, `run` ties them together.
"""

from crawler.notify.run import DEFAULT_MAX_AGE, NotifyReport, notify

__all__ = ["DEFAULT_MAX_AGE", "NotifyReport", "notify"]

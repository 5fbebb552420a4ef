"""Page objects: one site's pages turned into release fields, apart from navigation.

A spider knows where pages are; a page object knows what one site's pages say. Page objects
are pure: they take a response (a live one, a replayed fixture, a stored raw page) and return
plain data, never touching the crawler, its stats or the database. Spiders, ``stnews reparse``,
``stnews extract``, ``stnews check``, ``stnews doctor`` and the tests all call the same ones.

- ``DetailPage`` (``detail.py``): a release through the fallback chain (the source's selectors,
  known CMS templates, the list or feed entry, generic extraction), each field recording the
  stage that filled it.
- ``ListPage`` (``listing.py``): the releases a list page shows and its next page, with
  discovery by the detail-URL pattern when the list selectors match nothing, and every known
  pager form.
- ``chrome.py``, ``titles.py``, ``attachments.py``, ``generic.py``: the pieces they share.
"""

from crawler.pages.detail import DetailPage
from crawler.pages.fields import Attachment, ListEntry, ListReading, ReleaseFields
from crawler.pages.listing import ListPage

__all__ = ["Attachment", "DetailPage", "ListEntry", "ListPage", "ListReading", "ReleaseFields"]

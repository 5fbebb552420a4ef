"""``stnews doctor``: check each source live (or against saved pages), field by field, and
propose (and with ``--write``, write) the selectors that would make it need no fallback.

- ``fetch``: a small Scrapy run that fetches a source's list (or discovery page, feed) and a
  few detail pages, through the project's downloader middlewares (politeness, TLS, replay);
- ``diagnose``: the source's page objects on those pages: which stage filled each field;
- ``propose``: selectors for what a fallback found (``crawler.doctor.propose``);
- ``write``: the proposals into the sources file with tomlkit (comments and layout kept).

It never touches the database: the crawl it runs has no pipelines and no run or health
recording.
"""

"""The one item every spider yields: a press release as found on its page.

Spiders fill the ``*_raw`` fields with text exactly as the site shows it; the normalize
pipeline turns them into clean text and timezone-aware UTC datetimes.
"""

import scrapy

#: The extractor version of a release made from its feed entry alone ends with this: its raw
#: page is the entry's JSON, which only the crawl writes (spiders/feed_source.py), and only
#: this version lets re-extraction read it back. A response can never set it.
ENTRY_VERSION = "feed-entry"


class ReleaseItem(scrapy.Item):
    # Identity, set by the spider from its site's own identifiers.
    source = scrapy.Field()  # spider name, e.g. "nstc"
    native_id = scrapy.Field()  # the site's id: a uuid, `id`, `nttSeqNo`
    url = scrapy.Field()  # URL the release was reached at; canonicalized in the pipeline

    # Content as extracted.
    title = scrapy.Field()
    published_raw = scrapy.Field()  # date text as shown, e.g. "2017-10-19 16:58" or "Jul 9, 2026"
    modified_raw = scrapy.Field()
    body = scrapy.Field()  # paragraphs joined by a blank line
    summary = scrapy.Field()  # the page's own summary, if it has one
    image_url = scrapy.Field()
    attachments = scrapy.Field()  # list of {"name": str, "url": str}
    contact_org = scrapy.Field()
    # How the body was obtained: "selectors" (the spider's own), "generic" (trafilatura /
    # htmldate fallback when selectors matched nothing), "attachment" (text of an attached
    # PDF/HWPX because the page body is only a stub).
    extraction = scrapy.Field()
    # Field name -> the stage of the page object's fallback chain that filled it
    # ("selectors", "template:<name>", "list", "feed", "generic", "modified"); see crawler/pages.
    field_stages = scrapy.Field()

    # Source metadata (what the spider declares about its agency).
    language = scrapy.Field()  # BCP 47, e.g. "en"
    agency = scrapy.Field()
    agency_country = scrapy.Field()  # ISO 3166-1 alpha-2
    # The publisher's own side, which is never a partner: the source's `home` (an ISO code or
    # "EU"), else agency_country. The classifier reads it; it is not stored.
    home = scrapy.Field()
    timezone = scrapy.Field()  # IANA zone used when the page gives none

    # Set by the normalize pipeline.
    published = scrapy.Field()  # aware datetime, UTC
    modified = scrapy.Field()  # aware datetime, UTC, or None
    fingerprint = scrapy.Field()  # hash of the normalized content
    listing_hash = scrapy.Field()  # how the list page showed it (set by incremental crawling)

    # Set by the enrich pipeline (classification).
    is_cooperation = scrapy.Field()
    confidence = scrapy.Field()
    evidence = scrapy.Field()
    partners = scrapy.Field()
    topics = scrapy.Field()
    coop_type = scrapy.Field()

    # Provenance, so a release can be re-extracted without fetching again.
    # Bytes of the response as received; exported (`scrapy crawl -O`) as its size only.
    raw_body = scrapy.Field(serializer=lambda body: f"<{len(body or b'')} bytes>")
    raw_encoding = scrapy.Field()
    final_url = scrapy.Field()
    # The address first requested, when redirects led to ``final_url`` (a redirect to a login
    # or maintenance page is how some sites answer).
    requested_url = scrapy.Field()
    http_status = scrapy.Field()
    fetched_at = scrapy.Field()  # aware datetime, UTC
    extractor_version = scrapy.Field()


class PageSnapshotItem(scrapy.Item):
    """The main text of a monitored static page (not a release), as fetched now."""

    source = scrapy.Field()
    url = scrapy.Field()
    title = scrapy.Field()
    text = scrapy.Field()  # main content, paragraphs joined by a blank line
    language = scrapy.Field()
    agency = scrapy.Field()
    agency_country = scrapy.Field()
    fetched_at = scrapy.Field()
    raw_body = scrapy.Field(serializer=lambda body: f"<{len(body or b'')} bytes>")

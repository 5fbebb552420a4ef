"""Scrapy settings for stnews. Every knob a deployment may turn lives here.

This module is the single source of every default: code reads stnews's own settings with
`crawler.config.setting(settings, NAME)`, which falls back to the value here, and checks them
once at start (`crawler.config.check`). Adding a setting: a name (stnews's own start with
`STNEWS_` unless an existing one says otherwise; never in a Scrapy namespace such as `FEED_*`),
a default and a comment here. Values read from the environment can also be overridden per run
with `scrapy crawl -s NAME=...` or `stnews -s NAME=...`.
"""

import os
import warnings

BOT_NAME = "stnews"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"
# `scrapy check` into a throwaway database (crawler/scrapy_commands/check.py).
COMMANDS_MODULE = "crawler.scrapy_commands"

# --- Storage -------------------------------------------------------------------------------
# The embedded database: a SQLite file (WAL mode) whose directory is created on first use.
# Any other SQLite path must be in an existing directory (a mistyped path is an error).
EMBEDDED_DATABASE_URL = "sqlite:///var/stnews.db"
# Any SQLAlchemy URL; the default is the embedded database.
DATABASE_URL = os.environ.get("DATABASE_URL", EMBEDDED_DATABASE_URL)

# --- Storing releases (crawler/pipelines.py StorePipeline, crawler/store_writers.py) --------
# Releases are stored in batches in the crawl's reactor thread (storage/writer.py: one
# transaction and one savepoint per batch, a savepoint per release only when one fails).
# (STORE_WRITER, which could write them in a thread, in a writer child process or one per
# transaction, is gone: none of those paid for itself; docs/architecture.md, issue 19.)
# Most releases the writer stores per transaction (it takes whatever is waiting, up to this).
# A batch is in memory whole, raw pages included (210 KB each on the bench's site): in the
# former writer child, full batches of 50 peaked it at 104 MB, of 20 at 78-82 MB, for the
# same CPU (1.7 ms a release from ten up). A backfill's batches average about 15 (issue 19).
STORE_BATCH_SIZE = 20
# Short of a full batch, how long the writer waits for more after the first release it
# takes: a batch of one or two pays for a whole transaction. A crawl of realistic pages on a
# busy machine hands over a release every 50 to 100 ms: with a 50 ms wait most batches held
# one or two, and a batch of one cost 4.1 ms of CPU a release against 1.7 ms in batches of
# ten or more (bench/README.md, issue 19). A crawl's end or a close never waits.
STORE_BATCH_SECONDS = 1.0

# --- Scheduling (`stnews schedule`) ----------------------------------------------------------
# Seconds between runs of a source come from its `interval` in sources.toml; this is for a
# spider the file does not declare.
SCHEDULE_DEFAULT_INTERVAL = 1800.0
# Each run starts up to this many seconds late, so sources do not all fire together.
SCHEDULE_JITTER = 120.0
# A run missed by more than this (scheduler down) is skipped; the next one is on schedule.
SCHEDULE_MISFIRE_GRACE = 600.0
# A crawl running longer is stopped and recorded as "timeout".
CRAWL_TIME_LIMIT = 900.0
# Leader lease of the scheduler process; a standby takes over this long after the leader dies.
SCHEDULE_LEASE_SECONDS = 60.0
# True: a run puts the source's start URLs on the shared Redis queue (REDIS_URL, below) for
# `stnews worker` processes instead of crawling in a child process (`stnews schedule --enqueue`).
SCHEDULE_ENQUEUE = False
# In that mode, seconds between looks for what the workers stored, to rebuild the feeds from.
SCHEDULE_FEED_CHECK = 60.0

# --- Distributed crawling (stnews worker, stnews enqueue, stnews schedule --enqueue) ---------
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# Prefix of every Redis key, so deployments (and tests) sharing one Redis stay apart.
STNEWS_REDIS_PREFIX = os.environ.get("STNEWS_REDIS_PREFIX", "stnews")
# Seconds between an idle worker's looks at the shared request queue (Scrapy's own: 5).
STNEWS_WORKER_POLL_INTERVAL = 0.5
# A worker that has had nothing to do for this many seconds stops; 0: it never does
# (`stnews worker --max-idle`).
STNEWS_WORKER_MAX_IDLE = 0.0
# Hosts every worker also allows (a mirror's, `stnews worker --allow-domain`).
STNEWS_EXTRA_ALLOWED_DOMAINS: list[str] = []

# --- Feeds ---------------------------------------------------------------------------------
# Where the feed files will be served from (self links, OPML). `stnews feed --base-url`.
# (Until stnews 0.2: FEED_BASE_URL and FEED_LIMIT, still read with a warning.)
STNEWS_FEED_BASE_URL = os.environ.get("STNEWS_FEED_BASE_URL", "http://127.0.0.1:8080/feeds/")
# Entries per feed.
STNEWS_FEED_LIMIT = 50
# WebSub hub the feeds declare (<link rel="hub">) and each rebuild that changed a feed pings
# (crawler/feeds/websub.py). None: no hub. `stnews feed --hub URL` for one build.
STNEWS_WEBSUB_HUB = os.environ.get("STNEWS_WEBSUB_HUB") or None

# --- Replay and record ---------------------------------------------------------------------
# Answer every request from saved files under this directory (see crawler/replay.py).
REPLAY_DIR = os.environ.get("STNEWS_REPLAY_DIR") or None
# Save every live response under this directory in the same layout.
RECORD_DIR = os.environ.get("STNEWS_RECORD_DIR") or None
# A replay says how the code reads saved pages, not how the site is: its health verdict is
# reported (`crawl --json`) and not recorded. True only where a replay stands for the site
# at one point in time (tests of the health chain over a synthetic site).
STNEWS_HEALTH_FROM_REPLAY = False

ADDONS = {
    # First: old setting names renamed (with a warning), every stnews setting checked.
    "crawler.config.SettingsAddon": -10,
    "crawler.replay.ReplayAddon": 0,
    "crawler.tls.TLSSettingsAddon": 0,
}

# --- Politeness ----------------------------------------------------------------------------
CONTACT_URL = os.environ.get("STNEWS_CONTACT_URL", "https://github.com/stnews/stnews")
USER_AGENT = f"stnews/0.1 (+{CONTACT_URL})"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 2.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
# Items (and requests) of one response processed at once. Scrapy starts this many worker
# tasks per response (in Scrapy's parallel item processing) whatever it yields: its default
# of 100 made about 100 asyncio tasks for each detail page's one release. 8 still lets a
# list page's entries wait for the release writer side by side.
CONCURRENT_ITEMS = 8
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
# Links longer than a release's URL column are not requested (Scrapy's URL-length middleware
# counts them, `urllength/request_ignored_count`): such a release could not be stored. It is
# the length of the release URL column (storage/models.py), written out so that reading the
# settings does not import SQLAlchemy; tests/test_settings.py holds the two equal.
URLLENGTH_LIMIT = 2048
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 3
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
# Waits between retries: the server's Retry-After, else exponential backoff from the base.
RETRY_BACKOFF_BASE = 1.0  # seconds before the first retry; doubles on each retry
RETRY_BACKOFF_MAX = 60.0
RETRY_AFTER_MAX = 300.0  # a longer Retry-After gives the request up instead of stalling
# Private, loopback and link-local addresses are refused unless allowed here: True, or
# addresses/networks ("127.0.0.1"). Tests and benches against a local server pass
# -s ALLOW_PRIVATE_ADDRESSES=127.0.0.1 (docs/security.md).
ALLOW_PRIVATE_ADDRESSES = False
# TLS: certificates are verified (Scrapy's default verifies nothing) against certifi plus an
# optional extra bundle, for sites whose chains are incomplete (see docs/politeness.md).
DOWNLOADER_CLIENTCONTEXTFACTORY = "crawler.tls.VerifyingContextFactory"
TLS_CA_BUNDLE = os.environ.get("STNEWS_CA_BUNDLE") or None
TLS_UNVERIFIED_HOSTS: list[str] = []  # last resort: hosts whose certificates are not verified
# Scrapy 2.19 deprecates the context factory setting, but its replacement
# (DOWNLOAD_VERIFY_CERTIFICATES) cannot add a CA bundle; keep the warning out of every log.
warnings.filterwarnings(
    "ignore", message="The 'DOWNLOADER_CLIENTCONTEXTFACTORY' setting is deprecated"
)
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en,zh-TW;q=0.8,ko;q=0.7",
}

# --- Process safety ------------------------------------------------------------------------
# Crawls run unattended, often on shared machines: no console that runs code inside the
# crawl process (Scrapy's telnet console, and the remote-control HTTP server Scrapy 2.19
# enables by default). Turn one on for a debugging session with `-s NAME=True`.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# --- Components ----------------------------------------------------------------------------
DOWNLOADER_MIDDLEWARES = {
    # Before robots.txt and everything else: http(s) only, allowed domains, no private addresses.
    "crawler.safety.NetworkSafetyMiddleware": 40,
    # After decompression and recording: refuse oversized, empty and binary pages; fix charsets.
    "crawler.safety.ResponseSanityMiddleware": 575,
    # Just before it: a valid UTF-8 body declared us-ascii/Latin-1 is UTF-8 (korea.kr's feeds).
    "crawler.charset.Utf8OverDeclarationMiddleware": 576,
    # Retries that wait (Retry-After or exponential backoff) instead of hammering.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.BackoffRetryMiddleware": 550,
    # After every request-side middleware has run, before the network: the replay answers.
    "crawler.replay.ReplayMiddleware": 950,
    # After redirects are resolved and bodies decompressed: the recorder sees final responses.
    "crawler.replay.RecordMiddleware": 580,
    # Conditional requests for list pages (ETag / Last-Modified of the last full fetch).
    "crawler.incremental.ConditionalListMiddleware": 570,
}

SPIDER_MIDDLEWARES = {
    # Nearest the engine: frees each parsed page once its callback is done (memory, issue 19).
    "crawler.middlewares.ForgetParsedPageMiddleware": 10,
    # Stub release pages: take the body from the attached HWPX/PDF (crawler/attachments.py).
    "crawler.attachments.AttachmentBodyMiddleware": 940,
    # Count what every list page yields, for source health (before anything filters it).
    "crawler.health.ListHealthMiddleware": 960,
    # Skip detail pages already stored as listed; stop paging at known releases.
    "crawler.incremental.IncrementalListMiddleware": 950,
}

# A release body shorter than this (characters) is a stub: the attached HWPX/PDF text replaces it.
ATTACHMENT_STUB_CHARS = 200

# --- Incremental crawling ------------------------------------------------------------------
# Off for a full backfill (`stnews crawl --full`).
INCREMENTAL_ENABLED = True
# A known release is fetched again after this many days even if its list entry is unchanged.
RECHECK_AFTER_DAYS = 7.0

ITEM_PIPELINES = {
    "crawler.pipelines.NormalizePipeline": 100,
    "crawler.pipelines.InterstitialPipeline": 120,
    "crawler.health.FieldCoveragePipeline": 150,
    "crawler.pipelines.ValidatePipeline": 200,
    "crawler.pipelines.EnrichPipeline": 300,
    "crawler.pipelines.DeduplicatePipeline": 400,
    "crawler.page_monitor.PageVersionPipeline": 450,
    "crawler.pipelines.StorePipeline": 500,
}

EXTENSIONS = {
    "crawler.extensions.CrawlRunRecorder": 500,
    "crawler.health.HealthMonitor": 510,
    # Start-up frozen and rarer young collections while a crawl runs (issue 19).
    "crawler.extensions.CollectorPolicy": 520,
}

# Keep only what a crawl needs of the HTTP cache: nothing. Replay is the offline path.
HTTPCACHE_ENABLED = False

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = os.environ.get("STNEWS_LOG_LEVEL", "INFO")
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

LOG_FORMATTER = "crawler.logformatter.ReleaseLogFormatter"
# How this crawl was started ("manual", "schedule"); recorded with the run.
STNEWS_TRIGGER = "manual"

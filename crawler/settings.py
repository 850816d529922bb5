"""Scrapy settings for turfwatch: polite by default, evidence-keeping, one file."""

from crawler import items as _items

BOT_NAME = "turfwatch"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# --- Identity and politeness -------------------------------------------------
# Sites and their abuse desks must be able to tell who is crawling and reach us.
TURFWATCH_CONTACT = "trust-and-safety@example.org"
USER_AGENT = f"turfwatch/0.1 (+fake-review research; contact: {TURFWATCH_CONTACT})"
ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 8
CONCURRENT_REQUESTS_PER_DOMAIN = 2
# Scrapy starts CONCURRENT_ITEMS asyncio tasks for every response (default 100). Our item pipelines
# are synchronous, so only one item is ever in flight: more workers are pure overhead per page.
CONCURRENT_ITEMS = 4
# Scrapy checks every callback for `return value` inside a generator (a bug it warns of) before each
# call. Its cache is keyed by weak references to the bound method, which is new for every request,
# so it read the source and parsed it again for every page: 5% of a crawl. tests/test_spiders_static.py
# makes the same check once, over every callback of every spider.
WARN_ON_GENERATOR_RETURN_VALUE = False
DOWNLOAD_DELAY = 1.0
# Each wait is the delay ±50% (Scrapy's RANDOMIZE_DOWNLOAD_DELAY before 2.19, its default since).
DOWNLOAD_DELAY_JITTER = 0.5
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_TIMEOUT = 30
# A single listing page is never this big; a bigger one is hostile or broken.
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False

# --- Components (order numbers leave gaps on purpose) ------------------------
DOWNLOADER_MIDDLEWARES = {
    # Before the retry middleware (550) sees the response: Retry-After decides the wait.
    "crawler.middlewares.RetryAfterMiddleware": 555,
    # Runs after the retry middleware (550) on the way in, so a challenge page
    # is recognised before any spider callback could take it for an empty page.
    "crawler.middlewares.BlockDetectionMiddleware": 560,
    # After decompression (590) on the way in: a UTF-8 page labelled Latin-1 is read as UTF-8.
    "crawler.charset.CharsetRepairMiddleware": 580,
    # Same place as Scrapy's own; a redirect loop becomes an ERROR with its URL and a stat.
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "crawler.redirects.LoggedRedirectMiddleware": 600,
}
SPIDER_MIDDLEWARES = {
    "crawler.middlewares.CaptureLinkMiddleware": 550,
}
ITEM_PIPELINES = {
    # Schema validation (SPIDERMON_VALIDATION_SCHEMAS) is not a pipeline here: it only counts errors (items are
    # still stored), so the run's writer does it, with Spidermon's pipeline (crawler/item_checks.py).
    "crawler.pipelines.StorePipeline": 500,
}
EXTENSIONS = {
    # AutoThrottle that keeps a Retry-After or block backoff for the rest of the run.
    "scrapy.extensions.throttle.AutoThrottle": None,
    "crawler.middlewares.FlooredAutoThrottle": 0,
    "crawler.capture.WarcCapture": 500,
    "crawler.extensions.Progress": 510,
    # Before StorePipeline's spider_closed (pipelines connect later), so a failed check is stored.
    "spidermon.contrib.scrapy.extensions.Spidermon": 520,
    # A `--job` that ran to its end starts afresh next time (an interrupted one resumes).
    "crawler.jobs.JobCompletion": 530,
}
# Add-ons only change settings: a job's JOBDIR, and the shared Redis frontier.
ADDONS = {
    "crawler.jobs.JobAddon": 100,
    "crawler.distributed.RedisFrontier": 110,
    "crawler.impersonate.ImpersonateAddon": 120,
}
# Browser fingerprint for marketplaces that block plain clients (None = off; e.g. "chrome").
# Needs `pip install 'turfwatch[impersonate]'` (scrapy-impersonate, curl_cffi).
TURFWATCH_IMPERSONATE = None
TURFWATCH_IMPERSONATE_MARKETPLACES = ["fiverr"]

# --- turfwatch ---------------------------------------------------------------
# SQLite file that holds sellers, listings, flags, leads and runs.
TURFWATCH_DB = "data/turfwatch.db"
# WARC evidence of every response (default: a `warc/` folder beside the database).
TURFWATCH_WARC_ENABLED = True
TURFWATCH_WARC_DIR = None
TURFWATCH_WARC_MAX_BYTES = 1024 * 1024 * 1024
# Longest Retry-After (seconds) we wait for; a longer one ends that request.
TURFWATCH_RETRY_AFTER_MAX = 600
# Stop the run (finish reason "blocked") after this many block pages.
TURFWATCH_MAX_BLOCKS = 5
# After each block the site's delay doubles, from this many seconds up to the max.
TURFWATCH_BLOCK_BACKOFF = 10
TURFWATCH_BLOCK_BACKOFF_MAX = 120
# Seconds between progress lines on stderr (0 = off).
TURFWATCH_PROGRESS_INTERVAL = 5.0
# Name of a resumable job: its state lives in `<db dir>/jobs/<name>` (JOBDIR).
TURFWATCH_JOB = None
# Redis URL of a frontier shared by the workers of one job (None = off).
TURFWATCH_REDIS_URL = None
# Listings are judged in a flag worker process (crawler/flag_worker.py), on another core. False: in the
# crawl's own process (on a machine with one core, the worker only adds its messages).
TURFWATCH_FLAG_WORKER = True

# Scrapy's in-memory stats without its per-call deprecation detour (crawler/stats.py).
STATS_CLASS = "crawler.stats.CrawlStats"

# --- Run health (Spidermon): a run failing a check is stored as `degraded` -----
SPIDERMON_ENABLED = True
SPIDERMON_SPIDER_CLOSE_MONITORS = ["crawler.monitors.RunHealthSuite"]
# Object paths to dicts, not file paths: a Scrapyd egg is a zip file.
SPIDERMON_VALIDATION_SCHEMAS = {
    _items.Listing: "crawler.schemas.LISTING",
    _items.Seller: "crawler.schemas.SELLER",
}
SPIDERMON_MAX_ITEM_VALIDATION_ERRORS = 0
# Spidermon's field coverage counts, made by the run's writer (crawler/item_checks.py). Spidermon's own
# SPIDERMON_ADD_FIELD_COVERAGE would count every item again in the crawl.
TURFWATCH_FIELD_COVERAGE = True
SPIDERMON_ADD_FIELD_COVERAGE = False
# Share of listings that must carry each field.
SPIDERMON_FIELD_COVERAGE_RULES = {"Listing/title": 0.99, "Listing/seller_id": 0.99, "Listing/url": 0.99}
# Share of answers per status class above which the site is fighting back.
TURFWATCH_MAX_HTTP_ERROR_SHARE = {"4xx": 0.2, "5xx": 0.05}
# Codes the spiders expect (a removed listing answers 404/410): not errors.
TURFWATCH_HTTP_CODES_EXPECTED = [404, 410]
# Share of fetched pages from which nothing could be read (markup drift).
TURFWATCH_MAX_UNPARSED_SHARE = 0.02
# The same for search pages alone: one of them hides a whole page of listings.
TURFWATCH_MAX_UNPARSED_SEARCH_SHARE = 0.1
# Callbacks that raised (a parser bug loses those pages' items).
TURFWATCH_MAX_SPIDER_EXCEPTIONS = 0
# Listings fewer than this share of the median of the last TURFWATCH_HISTORY_RUNS
# healthy runs of the same crawl (same spider, same arguments) mark the run degraded.
TURFWATCH_MIN_ITEMS_RATIO = 0.5
TURFWATCH_HISTORY_RUNS = 5
TURFWATCH_HISTORY_MIN_RUNS = 1

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

"""Scrapy settings for turfwatch: polite by default, evidence-keeping, one file."""

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
DOWNLOAD_DELAY = 1.0
RANDOMIZE_DOWNLOAD_DELAY = True
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
}
SPIDER_MIDDLEWARES = {
    "crawler.middlewares.CaptureLinkMiddleware": 550,
}
ITEM_PIPELINES = {
    "crawler.pipelines.StorePipeline": 500,
}
EXTENSIONS = {
    "crawler.capture.WarcCapture": 500,
    "crawler.extensions.Progress": 510,
}

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

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"

"""Middlewares: Retry-After is honoured, bot-challenge pages become counted blocks, items link to their captures."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from scrapy import Request, signals
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.exceptions import IgnoreRequest
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro

from crawler.blocks import challenge_vendor
from crawler.capture import CAPTURE_META_KEY

logger = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def slow_down(crawler, request: Request, delay: float) -> float:
    """Raise the download delay of the request's slot (its site) to at least `delay`.

    The slot stays at least this slow for the rest of the run: a site that asked
    us to wait once is not hammered again as soon as it recovers."""
    downloader = crawler.engine.downloader
    key = downloader.get_slot_key(request)
    slot = downloader.slots.get(key)
    if slot is None:
        return delay
    # AutoThrottle sets slot.delay again on every answer; FlooredAutoThrottle keeps it above this.
    floors = delay_floors(downloader)
    floors[slot] = max(floors.get(slot, 0.0), delay)
    slot.delay = max(slot.delay, delay)
    return slot.delay


def delay_floors(downloader) -> dict:
    """Slot -> the least delay `slow_down` gave it, kept on the crawl's downloader (a Slot takes no
    attributes of its own; it hashes by identity)."""
    floors = getattr(downloader, "turfwatch_delay_floors", None)
    if floors is None:
        floors = downloader.turfwatch_delay_floors = {}
    return floors


class FlooredAutoThrottle(AutoThrottle):
    """Scrapy's AutoThrottle, never below the delay `slow_down` set for a site.

    AutoThrottle moves a slot's delay toward the latency of each answer (capped by
    AUTOTHROTTLE_MAX_DELAY), so one quick page after a 429 would undo its Retry-After."""

    def _adjust_delay(self, slot, latency: float, response: Response) -> None:
        super()._adjust_delay(slot, latency, response)
        slot.delay = max(slot.delay, delay_floors(self.crawler.engine.downloader).get(slot, 0.0))


class RetryAfterMiddleware:
    """429 and 503 answers: honour Retry-After (capped by TURFWATCH_RETRY_AFTER_MAX),
    slow the site down, and retry the request within Scrapy's retry budget."""

    def __init__(self, crawler, max_wait: float):
        self.crawler = crawler
        self.max_wait = max_wait

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler, crawler.settings.getfloat("TURFWATCH_RETRY_AFTER_MAX", 600))

    def process_response(self, request: Request, response: Response):
        if response.status not in (429, 503):
            return response
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is None:
            return response  # the ordinary retry middleware handles it
        stats = self.crawler.stats
        stats.inc_value(f"turfwatch/retry_after/{response.status}")
        if wait > self.max_wait:
            logger.error("%s asks to wait %.0f s (more than %.0f s): giving up on %s",
                         response.status, wait, self.max_wait, request.url)
            return response
        delay = slow_down(self.crawler, request, wait)
        logger.warning("HTTP %s with Retry-After %.0f s: site delay now %.0f s (%s)",
                       response.status, wait, delay, request.url)
        retry = get_retry_request(request, spider=self.crawler.spider, reason=f"retry-after {response.status}")
        return retry or response


class BlockedPage(IgnoreRequest):
    """A challenge page came back instead of content."""


class BlockDetectionMiddleware:
    """Counts challenge pages in `turfwatch/blocked` stats, backs off (the site's
    delay doubles from TURFWATCH_BLOCK_BACKOFF up to TURFWATCH_BLOCK_BACKOFF_MAX
    seconds) and ends the run with finish reason `blocked` after
    TURFWATCH_MAX_BLOCKS of them, so an empty night is never mistaken for "no listings"."""

    def __init__(self, crawler, max_blocks: int, backoff: float, backoff_max: float):
        self.crawler = crawler
        self.max_blocks = max_blocks
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.blocks = 0

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        mw = cls(crawler, s.getint("TURFWATCH_MAX_BLOCKS", 5), s.getfloat("TURFWATCH_BLOCK_BACKOFF", 10),
                 s.getfloat("TURFWATCH_BLOCK_BACKOFF_MAX", 120))
        crawler.signals.connect(mw.spider_opened, signal=signals.spider_opened)
        return mw

    def spider_opened(self, spider) -> None:
        self.blocks = 0

    def process_response(self, request: Request, response: Response) -> Response:
        vendor = challenge_vendor(response.status, response.body)
        if vendor is None:
            return response
        self.blocks += 1
        stats = self.crawler.stats
        stats.inc_value("turfwatch/blocked")
        stats.inc_value(f"turfwatch/blocked/{vendor}")
        if self.blocks < self.max_blocks:
            wait = min(self.backoff_max, self.backoff * 2 ** (self.blocks - 1))
            delay = slow_down(self.crawler, request, wait) if wait > 0 else 0.0
            logger.warning("Blocked by a %s challenge (HTTP %s) at %s; site delay now %.0f s",
                           vendor, response.status, response.url, delay)
        elif self.blocks == self.max_blocks:
            logger.error(
                "Stopping: %d challenge pages. The site is blocking this crawler; slow down, or see "
                "the README on browser-fingerprint download handlers. Last: %s",
                self.blocks, response.url,
            )
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="blocked"))
        raise BlockedPage(f"challenge page ({vendor}) at {response.url}")


class CaptureLinkMiddleware:
    """Spider middleware: stamps every item with the WARC capture of the page it was
    read from, so each stored listing version and seller points at its evidence."""

    def _stamp(self, response: Response, item):
        capture_id = response.meta.get(CAPTURE_META_KEY)
        if capture_id and getattr(item, "capture_id", "absent") is None:
            item.capture_id = capture_id
        return item

    def process_spider_output(self, response, result):
        for item in result:
            yield self._stamp(response, item)

    async def process_spider_output_async(self, response, result):
        async for item in result:
            yield self._stamp(response, item)

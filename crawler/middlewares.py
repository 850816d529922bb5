"""Middlewares: bot-challenge pages become counted blocks; items are linked to their captures."""

from __future__ import annotations

import logging

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro

from crawler.blocks import challenge_vendor
from crawler.capture import CAPTURE_META_KEY

logger = logging.getLogger(__name__)


class BlockedPage(IgnoreRequest):
    """A challenge page came back instead of content."""


class BlockDetectionMiddleware:
    """Counts challenge pages in `turfwatch/blocked` stats and ends the run with
    finish reason `blocked` after TURFWATCH_MAX_BLOCKS of them, so an empty
    night is never mistaken for "no listings"."""

    def __init__(self, crawler, max_blocks: int):
        self.crawler = crawler
        self.max_blocks = max_blocks
        self.blocks = 0

    @classmethod
    def from_crawler(cls, crawler):
        mw = cls(crawler, crawler.settings.getint("TURFWATCH_MAX_BLOCKS", 5))
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
        logger.warning("Blocked by a %s challenge (HTTP %s) at %s", vendor, response.status, response.url)
        if self.blocks == self.max_blocks:
            logger.error(
                "Stopping: %d challenge pages. The site is blocking this crawler; "
                "slow down, or see the README on browser-fingerprint download handlers.",
                self.blocks,
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

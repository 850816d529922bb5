"""Progress lines on stderr while a crawl runs: long work should say how far it got."""

from __future__ import annotations

import sys

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task


class Progress:
    """Every TURFWATCH_PROGRESS_INTERVAL seconds: pages, listings, flagged, blocked."""

    def __init__(self, crawler, interval: float):
        self.crawler = crawler
        self.interval = interval
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler):
        interval = crawler.settings.getfloat("TURFWATCH_PROGRESS_INTERVAL", 0)
        if interval <= 0:
            raise NotConfigured
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider) -> None:
        self.loop = task.LoopingCall(self.report)
        self.loop.start(self.interval, now=False)

    def spider_closed(self, spider, reason) -> None:
        if self.loop and self.loop.running:
            self.loop.stop()
        self.report(final=True)

    def report(self, final: bool = False) -> None:
        s = self.crawler.stats
        line = (
            f"[turfwatch] {'done' if final else 'crawling'}: "
            f"{s.get_value('response_received_count', 0)} pages, "
            f"{s.get_value('turfwatch/listings', 0)} listings, "
            f"{s.get_value('turfwatch/flagged', 0)} flagged, "
            f"{s.get_value('turfwatch/blocked', 0)} blocked"
        )
        print(line, file=sys.stderr, flush=True)

"""Spider middleware: a search page that announces results but yields nothing is counted as unparsed (markup drift)."""

from __future__ import annotations

import logging

from scrapy.http import Response

from crawler.pages import fiverr

logger = logging.getLogger(__name__)


class EmptySearchPageMiddleware:
    """Counts `turfwatch/unparsed_search`: the page's own JSON says it holds gigs,
    yet the spider read none from it. A renamed key looks exactly like this."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def _check(self, response: Response, produced: int) -> None:
        if produced or response.status != 200 or getattr(self.crawler.spider, "marketplace", "") != fiverr.MARKETPLACE:
            return
        if fiverr.page_kind(response.url) not in ("search", "category"):
            return
        data = fiverr.props(response.text) if hasattr(response, "text") else None
        if data is None:
            return  # counted as turfwatch/no_props by the spider
        page = fiverr.parse_search(data, response.url)
        total = page.total
        # A page past the last one is legitimately empty.
        if total and (page.page - 1) * page.page_size < total:
            self.crawler.stats.inc_value("turfwatch/unparsed_search")
            logger.error("Search page announces %s results but none could be read: %s (markup changed?)",
                         total, response.url)

    async def process_spider_output_async(self, response, result):
        produced = 0
        async for out in result:
            produced += 1
            yield out
        self._check(response, produced)

    def process_spider_output(self, response, result):
        produced = 0
        for out in result:
            produced += 1
            yield out
        self._check(response, produced)

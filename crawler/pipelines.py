"""Item pipeline that persists listings and sellers to SQLite and records the run."""

from __future__ import annotations

import logging

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import DropItem

from crawler.health import degraded_reasons
from crawler.items import Listing, Removal, Seller
from crawler.store import Store

logger = logging.getLogger(__name__)


class StorePipeline:
    """Writes every item in its own transaction and keeps the `runs` row of this crawl."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.db_path = crawler.settings.get("TURFWATCH_DB")
        self.store: Store | None = None
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler):
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        self.store = Store(self.db_path)
        spider = self.crawler.spider
        args = getattr(spider, "run_args", {}) or {}
        self.run_id = self.store.start_run(spider.name, args)
        self.crawler.stats.set_value("turfwatch/run_id", self.run_id)
        self.crawler.stats.set_value("turfwatch/db", str(self.store.path))
        logger.info("Run %s writing to %s", self.run_id, self.store.path)

    def process_item(self, item):
        assert self.store is not None
        stats = self.crawler.stats
        if isinstance(item, Listing):
            self.store.save_listing(item, self.run_id)
            stats.inc_value("turfwatch/listings")
            if item.sells_reviews:
                stats.inc_value("turfwatch/flagged")
        elif isinstance(item, Seller):
            self.store.save_seller(item, self.run_id)
            stats.inc_value("turfwatch/sellers")
        elif isinstance(item, Removal):
            if self.store.mark_removed(item.marketplace, f"HTTP {item.status}", item.fetched_at,
                                       listing_id=item.listing_id, url=item.url):
                stats.inc_value("turfwatch/removed")
        else:
            raise DropItem(f"not a turfwatch item: {type(item).__name__} {ItemAdapter(item).asdict()!r:.200}")
        return item

    def close_spider(self) -> None:
        if self.store is None:
            return
        new = self.store.refresh_leads(self.run_id)
        self.crawler.stats.set_value("turfwatch/new_leads", new)

    def spider_closed(self, spider, reason: str) -> None:
        if self.store is None:
            return
        stats = self.crawler.stats.get_stats()
        errors = stats.get("log_count/ERROR", 0) + stats.get("spider_exceptions/count", 0)
        # A run that did not finish on its own is not healthy, whatever it stored.
        status = "ok" if reason == "finished" else "failed"
        # Failed health checks (crawler/monitors.py, run before this receiver) make a finished run degraded.
        reasons = degraded_reasons(stats)
        if reasons and status == "ok":
            status = "degraded"
        counts = {
            "pages": stats.get("response_received_count", 0),
            "listings": stats.get("turfwatch/listings", 0),
            "flagged": stats.get("turfwatch/flagged", 0),
            "new_leads": stats.get("turfwatch/new_leads", 0),
            "errors": errors,
        }
        self.store.finish_run(self.run_id, reason=reason, status=status, stats=_jsonable(stats), counts=counts,
                              status_reason="; ".join(reasons) or None)
        self.store.close()
        self.store = None


def _jsonable(stats: dict) -> dict:
    return {k: (v if isinstance(v, (int, float, str, bool, type(None))) else str(v)) for k, v in stats.items()}

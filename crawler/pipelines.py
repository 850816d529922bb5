"""Item pipeline that hands listings and sellers to the run's writer (crawler/writer.py) and records the run."""

from __future__ import annotations

import logging

from itemadapter import ItemAdapter
from scrapy import signals
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro

from crawler.flag_worker import FlagWorker
from crawler.health import DEGRADED_PREFIX, degraded_reasons
from crawler.item_checks import FIELD_COVERAGE_SETTING, add_to_stats, checks_settings
from crawler.items import Listing, Removal, Seller
from crawler.memory import peak_rss
from crawler.store import Store
from crawler.writer import RunWriter, WriterGone

logger = logging.getLogger(__name__)


class StorePipeline:
    """Keeps the `runs` row of this crawl, and has the run's writer store every item (each in its own
    savepoint; see crawler/writer.py for when it commits). The writer also takes the WARC captures
    (crawler/capture.py), so a page's capture is stored before the items read from it, and runs the item
    checks that only count (crawler/item_checks.py), whose counts join the stats when the run closes."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.db_path = crawler.settings.get("TURFWATCH_DB")
        self.store: Store | None = None
        self.writer: RunWriter | None = None
        self.run_id: int | None = None
        self.checks = checks_settings(crawler.settings)  # an unsupported setting stops the crawl here

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
        # A writer spawned by crawler/runner.py has done its imports while the spiders were built.
        self.writer = getattr(self.crawler, "turfwatch_writer", None) or RunWriter.spawn()
        self.writer.on_gone = self._writer_gone
        self.writer.open(self.store.path, self.run_id, self.checks)
        self.crawler.stats.set_value("turfwatch/run_id", self.run_id)
        self.crawler.stats.set_value("turfwatch/db", str(self.store.path))
        logger.info("Run %s writing to %s", self.run_id, self.store.path)

    def _writer_gone(self, exit_code: int | None) -> None:
        """Nothing more can be stored: stop the crawl rather than fetch pages for nothing."""
        logger.error("The run's writer exited (code %s): stopping the crawl; what it had not committed is lost",
                     exit_code)
        deferred_from_coro(self.crawler.engine.close_spider_async(reason="writer_failed"))

    def process_item(self, item):
        assert self.writer is not None
        if not isinstance(item, (Listing, Seller, Removal)):
            raise DropItem(f"not a turfwatch item: {type(item).__name__} {ItemAdapter(item).asdict()!r:.200}")
        try:
            self.writer.save(item)
        except WriterGone as exc:
            raise DropItem(f"not stored: {exc}") from exc
        stats = self.crawler.stats
        if isinstance(item, Listing):
            stats.inc_value("turfwatch/listings")
            if item.sells_reviews:
                stats.inc_value("turfwatch/flagged")
        elif isinstance(item, Seller):
            stats.inc_value("turfwatch/sellers")
        return item

    def close_spider(self) -> None:
        if self.store is None or self.writer is None:
            return
        stats = self.crawler.stats
        report = self.writer.finish()
        # Logged as errors here, so they count in the run's errors like any failure of the crawl.
        for error in report.errors:
            logger.error("Not stored: %s", error)
        if report.error_count > len(report.errors):
            logger.error("Not stored: %s more", report.error_count - len(report.errors))
        if report.removed:
            stats.set_value("turfwatch/removed", report.removed)
        if report.warc_files:
            stats.set_value("turfwatch/warc_files", report.warc_files)
        if report.max_rss:
            stats.set_value("turfwatch/writer/max_rss", report.max_rss)
        if report.checks_error:
            stats.set_value(DEGRADED_PREFIX + "checks", f"item checks: {report.checks_error}")
        # Before the health checks read them: they run on spider_closed, after the pipelines have closed.
        add_to_stats(stats, report.checks, self.checks[FIELD_COVERAGE_SETTING])
        if not report.complete:
            stats.set_value(DEGRADED_PREFIX + "writer",
                            f"writer: exited with code {report.exit_code}; what it had not committed is lost")
        new = self.store.refresh_leads(self.run_id)
        stats.set_value("turfwatch/new_leads", new)

    def spider_closed(self, spider, reason: str) -> None:
        if self.store is None:
            return
        # The run's memory is three processes' (crawler/memory.py): this one's peak so far, its flag worker's
        # (alive until every crawl of the process is done) and its writer's (from its report).
        self.crawler.stats.set_value("turfwatch/max_rss", peak_rss())
        worker = FlagWorker.ready_shared()
        if worker is not None:
            self.crawler.stats.set_value("turfwatch/flag_worker/max_rss", worker.max_rss())
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

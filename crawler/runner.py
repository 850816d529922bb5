"""Run a spider in this process and report what the run did: the library under `turfwatch crawl` and `demo`."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass
from typing import Any

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from crawler.flag_worker import FlagWorker
from crawler.writer import RunWriter


@dataclass
class RunResult:
    run_id: int | None
    finish_reason: str
    stats: dict


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """crawler.settings, whether or not a scrapy.cfg is in the working directory."""
    import os

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


# Our own demo server on 127.0.0.1: politeness delays only slow the demo down.
LOCAL_DEMO_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 16,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
}


def run_crawl(spider: str, *, settings: Settings, spider_args: dict[str, Any] | None = None) -> RunResult:
    """Crawl with one spider until it finishes. Starts the Twisted reactor, so it
    can be called once per process (the CLI runs one crawl per command)."""
    return run_crawls([(spider, spider_args or {})], settings=settings)[0]


def run_crawls(crawls: list[tuple[str, dict[str, Any]]], *, settings: Settings) -> list[RunResult]:
    """Crawl with several spiders at once in one CrawlerProcess (the reactor starts
    once per process), e.g. every marketplace of the demo. One RunResult per crawl, in order."""
    process = CrawlerProcess(settings)
    entries = []
    for spider, spider_args in crawls:
        crawler = process.create_crawler(spider)
        outcome: dict[str, Any] = {}
        entries.append((crawler, outcome))
        crawler.signals.connect(lambda spider, reason, outcome=outcome: outcome.update(reason=reason),
                                signal=signals.spider_closed, weak=False)
        # The run's writer (crawler/writer.py) imports what it needs on the other core while this process
        # builds the spiders; StorePipeline gives it its run.
        crawler.turfwatch_writer = RunWriter.spawn()
        process.crawl(crawler, **(spider_args or {}))
    # The spiders are built by now, and what they built lives as long as the crawl (the spaCy pipeline too, when
    # flagging is not in its worker). Each full collection walked all of it again: about 120 ms a time, 8% of a
    # demo crawl. Frozen objects are left out of collections until unfreeze (garbage among them waits until then).
    gc.freeze()
    # Scrapy filters by LOG_LEVEL at its handler and sets the root logger to NOTSET (again as each crawl
    # starts), so every DEBUG line ("Crawled ...", "Scraped from ...": about three a page) was built as a
    # record and then thrown away. Its own logger's level is left alone: set it for the crawl.
    scrapy_logger = logging.getLogger("scrapy")
    scrapy_level = scrapy_logger.level
    scrapy_logger.setLevel(settings.get("LOG_LEVEL") or logging.DEBUG)
    try:
        process.start()
    finally:
        scrapy_logger.setLevel(scrapy_level)
        gc.unfreeze()
        # Every crawl is done with the flag worker; a writer whose crawl never opened its run is not needed.
        FlagWorker.close_shared()
        for crawler, _ in entries:
            if not crawler.turfwatch_writer.opened:
                crawler.turfwatch_writer.finish()
    results = []
    for crawler, outcome in entries:
        stats = crawler.stats.get_stats() if crawler.stats else {}
        results.append(RunResult(
            run_id=stats.get("turfwatch/run_id"),
            finish_reason=outcome.get("reason", stats.get("finish_reason", "unknown")),
            stats=stats,
        ))
    return results


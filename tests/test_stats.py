"""The crawl's stats collector keeps Scrapy's behaviour without the per-call detour."""
from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector
from scrapy.utils.test import get_crawler

from crawler import settings
from crawler.stats import CrawlStats


def test_crawls_use_it():
    assert settings.STATS_CLASS == "crawler.stats.CrawlStats"
    assert isinstance(get_crawler(settings_dict={"STATS_CLASS": settings.STATS_CLASS}).stats, CrawlStats)


def test_it_counts_as_scrapy_does():
    ours, scrapys = CrawlStats(get_crawler()), MemoryStatsCollector(get_crawler())
    for stats in (ours, scrapys):
        stats.inc_value("a")
        stats.inc_value("a", 2)
        stats.inc_value("b", start=10)
        stats.max_value("m", 3)
        stats.max_value("m", 1)
        stats.min_value("n", 3)
        stats.min_value("n", 1)
        stats.set_value("s", "x")
    assert ours.get_stats() == scrapys.get_stats() == {"a": 3, "b": 11, "m": 3, "n": 1, "s": "x"}
    assert ours.get_value("missing", 7) == 7
    # No wrapper is built per attribute: a method is the class's own, bound.
    assert type(ours).__getattribute__ is object.__getattribute__
    assert ours.inc_value.__func__ is MemoryStatsCollector.inc_value

"""The checks of a run's items that only count: schema validation and field coverage, done by the run's writer.

Both are Spidermon's, with its settings, stats keys and values: its ItemValidationPipeline (crawler/validation.py)
and the field counts of SPIDERMON_ADD_FIELD_COVERAGE. Nothing reads their counts before the run ends, when the
health checks do (crawler/monitors.py); items are stored whatever the counts say. In the crawl they took about
8% of its one thread, which Scrapy's downloads and parsing share. The run's writer (crawler/writer.py) receives
every item anyway and is idle most of the time, so it runs them on the other core and reports the counts; the
crawl adds them to its stats before the health checks run (`add_to_stats`).

The writer runs Spidermon's code itself, on a stand-in crawler: a copy of the crawl's Spidermon settings and a
stats collector of its own (crawler/stats.py).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from scrapy.exceptions import NotConfigured
from scrapy.settings import Settings
from spidermon.contrib.scrapy.extensions import Spidermon
from spidermon.utils.field_coverage import calculate_field_coverage

from crawler.stats import CrawlStats
from crawler.validation import ValidationPipeline

# Counted by the run's writer instead of the crawl. SPIDERMON_ADD_FIELD_COVERAGE stays off: it would count
# every item again in the crawl.
FIELD_COVERAGE_SETTING = "TURFWATCH_FIELD_COVERAGE"
# Spidermon's validation pipeline can change or drop an item; the writer checks items it has already stored.
_UNSUPPORTED = ("SPIDERMON_VALIDATION_DROP_ITEMS_WITH_ERRORS", "SPIDERMON_VALIDATION_ADD_ERRORS_TO_ITEMS")


def checks_settings(settings: Settings) -> dict[str, Any]:
    """What the writer needs of the crawl's settings for its checks (sent to it when the run opens)."""
    for name in _UNSUPPORTED:
        if settings.getbool(name):
            raise ValueError(f"{name} is not supported: items are validated by the run's writer after they "
                             "are handed over, so validation can count errors but not change or drop items")
    chosen = {name: settings[name] for name in settings if name.startswith("SPIDERMON_")}
    chosen[FIELD_COVERAGE_SETTING] = field_coverage(settings)
    return chosen


def field_coverage(settings: Settings) -> bool:
    """Whether the writer counts field coverage: asked for, Spidermon on, and not counted by Spidermon itself."""
    return (settings.getbool(FIELD_COVERAGE_SETTING) and settings.getbool("SPIDERMON_ENABLED")
            and not settings.getbool("SPIDERMON_ADD_FIELD_COVERAGE"))


class ItemChecks:
    """Validation and field counts of one run's items, as Spidermon would count them in the crawl."""

    def __init__(self, settings: dict[str, Any]):
        crawler = SimpleNamespace(settings=Settings(settings))
        crawler.stats = CrawlStats(crawler)  # the crawl's own collector, without Scrapy's per-call detour
        self.stats = crawler.stats
        try:
            self.validation = ValidationPipeline.from_crawler(crawler)  # a pass-through when Spidermon is off
        except NotConfigured:  # no schemas
            self.validation = None
        self.coverage = Spidermon(crawler) if settings.get(FIELD_COVERAGE_SETTING) else None
        self._spider = SimpleNamespace(crawler=crawler)  # what Spidermon's item_scraped reads its settings from

    def check(self, item) -> None:
        if self.validation is not None:
            self.validation.process_item(item)
        if self.coverage is not None:
            self.coverage.item_scraped(item, None, self._spider)

    def counts(self) -> dict[str, Any]:
        return self.stats.get_stats()


def add_to_stats(stats, counts: dict[str, Any], field_coverage: bool) -> None:
    """The writer's counts into the crawl's stats; then the coverage shares, as Spidermon adds them when the
    spider closes."""
    for key, value in counts.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            stats.inc_value(key, value)
        else:
            stats.set_value(key, value)
    if field_coverage:
        for key, value in calculate_field_coverage(stats.get_stats()).items():
            stats.set_value(key, value)

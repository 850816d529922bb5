"""Spidermon monitors run when a crawl closes: a failed one marks the run `degraded` with its reason."""

from __future__ import annotations

import warnings

from scrapy.exceptions import ScrapyDeprecationWarning
from spidermon import MonitorSuite, monitors
from spidermon.contrib.scrapy.monitors.base import BaseScrapyMonitor

from crawler import health

# Spidermon's runner still calls Spider.log(), which Scrapy 2.19 deprecates: a WARNING in every
# crawl's log that is not about the crawl, and that an analyst reading the log would chase.
warnings.filterwarnings("ignore", message=r"Spider\.log\(\) is deprecated", category=ScrapyDeprecationWarning)

# Spidermon reports a failed check as a unittest failure; this hides our frames, so the
# log shows the one-line reason instead of a traceback.
__unittest = True


class _HealthMonitor(BaseScrapyMonitor):
    """A thin wrapper over one check of crawler.health; the short reason goes into the stats."""

    check_name = ""

    def reason(self) -> str | None:
        raise NotImplementedError

    def test_check(self):
        if self.data.stats.get("finish_reason") != "finished":
            self.skipTest("the run did not finish: it is `failed` already")
        reason = self.reason()
        if reason:
            # Read back by StorePipeline (status `degraded`) and `turfwatch crawl` (exit code).
            self.crawler.stats.set_value(health.DEGRADED_PREFIX + self.check_name, reason)
        self.assertIsNone(reason, msg=reason)


@monitors.name("Field coverage")
class FieldCoverageMonitor(_HealthMonitor):
    """Listings carry title, seller and URL."""

    check_name = "coverage"

    def reason(self):
        return health.coverage(self.data.stats, self.crawler.settings.getdict("SPIDERMON_FIELD_COVERAGE_RULES"))


@monitors.name("Item validation")
class ItemValidationMonitor(_HealthMonitor):
    """Items match crawler/schemas/*.json."""

    check_name = "validation"

    def reason(self):
        return health.validation_errors(self.data.stats,
                                        self.crawler.settings.getint("SPIDERMON_MAX_ITEM_VALIDATION_ERRORS", 0))


@monitors.name("HTTP errors")
class HttpErrorShareMonitor(_HealthMonitor):
    """4xx and 5xx answers stay a small share of all answers."""

    check_name = "http_errors"

    def reason(self):
        s = self.crawler.settings
        return health.http_error_share(self.data.stats, s.getdict("TURFWATCH_MAX_HTTP_ERROR_SHARE"),
                                       s.getlist("TURFWATCH_HTTP_CODES_EXPECTED"))


@monitors.name("Pages not parsed")
class UnparsedPagesMonitor(_HealthMonitor):
    """Fetched pages yield their items (markup drift shows here first)."""

    check_name = "unparsed"

    def reason(self):
        s = self.crawler.settings
        return health.unparsed_share(self.data.stats, s.getfloat("TURFWATCH_MAX_UNPARSED_SHARE", 0.02),
                                     s.getfloat("TURFWATCH_MAX_UNPARSED_SEARCH_SHARE", 0.1))


@monitors.name("Spider exceptions")
class SpiderExceptionMonitor(_HealthMonitor):
    """Callbacks do not raise."""

    check_name = "spider_exceptions"

    def reason(self):
        return health.spider_exceptions(self.data.stats, self.crawler.settings.getint("TURFWATCH_MAX_SPIDER_EXCEPTIONS", 0))


@monitors.name("Item count against history")
class ItemCountHistoryMonitor(_HealthMonitor):
    """As many listings as earlier healthy runs of the same crawl (same spider, same arguments)."""

    check_name = "item_count"

    def reason(self):
        s = self.crawler.settings
        spider = self.crawler.spider
        history = health.history_counts(
            s.get("TURFWATCH_DB"), spider.name, getattr(spider, "run_args", {}) or {},
            self.data.stats.get("turfwatch/run_id"), s.getint("TURFWATCH_HISTORY_RUNS", 5),
        )
        return health.item_count_vs_history(int(self.data.stats.get("turfwatch/listings", 0)), history,
                                            s.getfloat("TURFWATCH_MIN_ITEMS_RATIO", 0.5),
                                            s.getint("TURFWATCH_HISTORY_MIN_RUNS", 1))


class RunHealthSuite(MonitorSuite):
    """Every check of a finished crawl (SPIDERMON_SPIDER_CLOSE_MONITORS)."""

    monitors = [FieldCoverageMonitor, ItemValidationMonitor, HttpErrorShareMonitor, UnparsedPagesMonitor,
                SpiderExceptionMonitor, ItemCountHistoryMonitor]

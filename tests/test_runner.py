"""run_crawls keeps what was built before the crawl (spiders, the spaCy pipeline) out of garbage collection,
and lets no logger build records below LOG_LEVEL while it crawls."""

import gc
import logging
from types import SimpleNamespace

import pytest
from scrapy.settings import Settings

from crawler import runner


class _Pipeline:
    """Stands for the spaCy pipeline a spider builds when it is created."""


def _tracked(obj) -> bool:
    """Whether the collector tracks obj in one of its generations (a frozen object is in none)."""
    return any(o is obj for o in gc.get_objects())


class _Process:
    """Just enough of CrawlerProcess to see what the collector tracks while the crawl runs."""

    def __init__(self, fail: bool):
        self.fail = fail
        self.built = []
        self.seen = {}
        self.crawlers = []

    def create_crawler(self, spider):
        crawler = SimpleNamespace(signals=SimpleNamespace(connect=lambda *a, **k: None), stats=None)
        self.crawlers.append(crawler)
        return crawler

    def crawl(self, crawler, **spider_args):
        # Tracked by the collector: an instance with a __dict__ holding a list.
        pipeline = _Pipeline()
        pipeline.parts = [[] for _ in range(3)]
        self.built.append(pipeline)

    def start(self):
        # As Scrapy does when each crawl starts (install_scrapy_root_handler).
        logging.root.setLevel(logging.NOTSET)
        self.seen = {"frozen": gc.get_freeze_count(), "pipeline_tracked": _tracked(self.built[0]),
                     "debug_built": logging.getLogger("scrapy.core.engine").isEnabledFor(logging.DEBUG)}
        if self.fail:
            raise RuntimeError("reactor failed")


@pytest.fixture(autouse=True)
def _root_level_restored():
    """The stand-in sets the root logger to NOTSET, as Scrapy does; the tests after these must not inherit it."""
    before = logging.root.level
    yield
    logging.root.setLevel(before)


def _run(monkeypatch, fail=False, process=None) -> _Process:
    process = process or _Process(fail)
    monkeypatch.setattr(runner, "CrawlerProcess", lambda settings: process)
    runner.run_crawls([("fiverr", {})], settings=Settings({"LOG_LEVEL": "INFO"}))
    return process


def test_what_was_built_before_the_crawl_is_frozen_while_it_runs_and_thawed_after(monkeypatch):
    assert gc.get_freeze_count() == 0
    process = _run(monkeypatch)
    assert process.seen["frozen"] > 0
    assert process.seen["pipeline_tracked"] is False  # frozen objects are in no generation
    assert gc.get_freeze_count() == 0
    assert _tracked(process.built[0])


def test_a_failed_crawl_thaws_the_heap_too(monkeypatch):
    process = _Process(fail=True)
    with pytest.raises(RuntimeError, match="reactor failed"):
        _run(monkeypatch, process=process)
    assert gc.get_freeze_count() == 0
    # ... and the run's writer spawned for it, whose run never opened, has been told to end and has ended.
    (crawler,) = process.crawlers
    assert crawler.turfwatch_writer.proc.poll() == 0


def test_scrapy_builds_no_debug_records_below_log_level_and_its_level_comes_back(monkeypatch):
    scrapy_logger = logging.getLogger("scrapy")
    before = scrapy_logger.level
    assert _run(monkeypatch).seen["debug_built"] is False
    assert scrapy_logger.level == before
    with pytest.raises(RuntimeError, match="reactor failed"):
        _run(monkeypatch, fail=True)
    assert scrapy_logger.level == before

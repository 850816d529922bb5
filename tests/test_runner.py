"""run_crawls keeps what was built before the crawl (spiders, the spaCy pipeline) out of garbage collection."""

import gc

import pytest

from crawler import runner


class _Pipeline:
    """Stands for the spaCy pipeline a spider builds when it is created."""


class _Process:
    """Just enough of CrawlerProcess to see what the collector tracks while the crawl runs."""

    def __init__(self, settings, fail=False):
        self.fail = fail
        self.built = []
        self.seen = {}

    def create_crawler(self, spider):
        crawler = type("Crawler", (), {})()
        crawler.signals = type("Signals", (), {"connect": lambda *a, **k: None})()
        crawler.stats = None
        return crawler

    def crawl(self, crawler, **spider_args):
        # Tracked by the collector: an instance with a __dict__ holding a list.
        pipeline = _Pipeline()
        pipeline.parts = [[] for _ in range(3)]
        self.built.append(pipeline)

    def start(self):
        tracked = {id(o) for o in gc.get_objects()}
        self.seen = {"frozen": gc.get_freeze_count(), "pipeline_tracked": id(self.built[0]) in tracked}
        if self.fail:
            raise RuntimeError("reactor failed")


def _run(monkeypatch, fail=False):
    processes = []

    def make(settings):
        processes.append(_Process(settings, fail))
        return processes[-1]

    monkeypatch.setattr(runner, "CrawlerProcess", make)
    runner.run_crawls([("fiverr", {})], settings=None)
    return processes[0]


def test_what_was_built_before_the_crawl_is_frozen_while_it_runs_and_thawed_after(monkeypatch):
    assert gc.get_freeze_count() == 0
    process = _run(monkeypatch)
    assert process.seen["frozen"] > 0
    assert process.seen["pipeline_tracked"] is False  # frozen objects are in no generation
    assert gc.get_freeze_count() == 0
    assert any(o is process.built[0] for o in gc.get_objects())


def test_a_failed_crawl_thaws_the_heap_too(monkeypatch):
    with pytest.raises(RuntimeError, match="reactor failed"):
        _run(monkeypatch, fail=True)
    assert gc.get_freeze_count() == 0

"""The item checks the run's writer makes (crawler/item_checks.py): the counts Spidermon made in the crawl."""

from __future__ import annotations

import pytest
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler
from spidermon.contrib.scrapy.extensions import Spidermon
from spidermon.contrib.scrapy.pipelines import ItemValidationPipeline

from crawler import health, settings
from crawler.item_checks import ItemChecks, add_to_stats, checks_settings, field_coverage
from crawler.items import Removal
from crawler.store import Store
from crawler.writer import RunWriter
from tests.test_validation import _items, _listing, _settings


def _spidermon_in_the_crawl(items) -> dict:
    """The stats Spidermon's own pipeline and extension make of these items in a crawl that counts there."""
    crawler = get_crawler(settings_dict={**_settings(), "SPIDERMON_ADD_FIELD_COVERAGE": True})
    crawler.stats.open_spider()
    pipeline = ItemValidationPipeline.from_crawler(crawler)
    extension = Spidermon.from_crawler(crawler)
    spider = crawler._create_spider("t")
    for item in items:
        pipeline.process_item(item)
        extension.item_scraped(item, None, spider)
    extension._add_field_coverage_to_stats()
    return crawler.stats.get_stats()


def _ours(items) -> dict:
    crawler = get_crawler(settings_dict=_settings())
    crawler.stats.open_spider()
    checks = ItemChecks(checks_settings(crawler.settings))
    for item in items:
        checks.check(item)
    add_to_stats(crawler.stats, checks.counts(), field_coverage(crawler.settings))
    return crawler.stats.get_stats()


def test_same_stats_as_spidermon_counting_in_the_crawl():
    items = _items() + [Removal("fiverr", "https://www.fiverr.com/bob/gone", 404, listing_id="9")]
    expected = _spidermon_in_the_crawl(items)
    assert expected["spidermon/validation/items/errors"] == 5  # the test items do break the schemas
    assert expected["spidermon_field_coverage/Listing/title"] == 0.8  # and lack fields: one of five has no title
    assert _ours(items) == expected


def test_the_writers_counts_degrade_a_run_in_the_health_checks():
    stats = _ours([_listing(), _listing(title="x" * 1001), _listing(title=""), _listing(title="")])
    assert "title" in health.validation_errors(stats, settings.SPIDERMON_MAX_ITEM_VALIDATION_ERRORS)
    assert "Listing/title 50%" in health.coverage(stats, settings.SPIDERMON_FIELD_COVERAGE_RULES)


def test_crawl_settings_count_coverage_once():
    crawl = Settings(_settings())
    assert field_coverage(crawl) and not crawl.getbool("SPIDERMON_ADD_FIELD_COVERAGE")
    assert not field_coverage(Settings({**_settings(), "SPIDERMON_ADD_FIELD_COVERAGE": True}))  # Spidermon counts


@pytest.mark.parametrize("name", ["SPIDERMON_VALIDATION_DROP_ITEMS_WITH_ERRORS",
                                  "SPIDERMON_VALIDATION_ADD_ERRORS_TO_ITEMS"])
def test_settings_that_would_change_items_are_refused(name):
    with pytest.raises(ValueError, match=name):
        checks_settings(Settings({**_settings(), name: True}))


def _storable(**changes):
    return _listing(flags=[], **changes)  # the validation tests' flags lack what the store needs


def test_the_writer_reports_the_counts(tmp_path):
    db = tmp_path / "t.db"
    writer = RunWriter.start(db, None, checks=checks_settings(Settings(_settings())))
    for item in (_storable(), _storable(listing_id="8", title="x" * 1001)):
        writer.save(item)
    report = writer.finish()
    assert report.complete and report.stored == 2 and report.checks_error is None
    assert report.checks["spidermon/validation/items"] == 2
    assert report.checks["spidermon/validation/fields/errors/field_too_long/title"] == 1
    assert report.checks["spidermon_item_scraped_count/Listing/title"] == 2


def test_checks_that_fail_are_reported_and_cost_no_item(tmp_path):
    db = tmp_path / "t.db"
    broken = {**checks_settings(Settings(_settings())), "SPIDERMON_VALIDATION_SCHEMAS": ["crawler.schemas.NO_SUCH"]}
    writer = RunWriter.start(db, None, checks=broken)
    writer.save(_storable())
    report = writer.finish()
    assert report.complete and report.stored == 1
    assert report.checks == {} and "NO_SUCH" in report.checks_error
    with Store(db) as store:
        assert store.db.execute("SELECT count(*) FROM listings").fetchone()[0] == 1


def test_a_spawned_writer_waits_for_its_run_and_one_never_opened_exits_quietly(tmp_path):
    unused = RunWriter.spawn()
    report = unused.finish()
    assert report.complete and report.stored == 0 and report.errors == []
    writer = RunWriter.spawn()
    writer.open(tmp_path / "t.db", None, checks_settings(Settings(_settings())))
    writer.save(_storable())
    report = writer.finish()
    assert report.stored == 1 and report.checks["spidermon/validation/items"] == 1

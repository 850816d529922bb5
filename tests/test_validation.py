"""Item validation (crawler/validation.py): Spidermon's checks and stats, with the jsonschema validator built once."""

from __future__ import annotations

import pytest
from scrapy.utils.test import get_crawler
from spidermon.contrib.scrapy.pipelines import ItemValidationPipeline
from spidermon.contrib.validation.jsonschema import validator as spidermon_validator

from crawler import health, settings, validation
from crawler.items import Listing, Seller


def _settings() -> dict:
    return {name: getattr(settings, name) for name in dir(settings) if name.isupper()}


def _pipeline(cls=None):
    """The validation pipeline as the crawl settings name it, built by Scrapy's own component loading."""
    from scrapy.utils.misc import build_from_crawler, load_object

    crawler = get_crawler(settings_dict=_settings())
    path = next(p for p, order in settings.ITEM_PIPELINES.items() if order == 400)
    return build_from_crawler(cls or load_object(path), crawler), crawler.stats


def _listing(**changes) -> Listing:
    listing = Listing(marketplace="fiverr", listing_id="7", url="https://www.fiverr.com/bob/write-reviews",
                      seller_id="bob", title="I will write reviews", description="Five star reviews.",
                      tags=["reviews", "google"], packages=[{"title": "Basic", "price": 5.0, "duration": 1}],
                      faq=[{"question": "Real?", "answer": "Yes"}], fetched_at="2026-01-01T00:00:00Z",
                      flags=[{"rule_id": "r", "field": "title", "start": 0, "end": 1, "category": "c", "text": "I",
                              "score": 1.0}])
    for key, value in changes.items():
        setattr(listing, key, value)
    return listing


def _items() -> list:
    seller = Seller(marketplace="fiverr", seller_id="bob", profile_url="https://www.fiverr.com/bob",
                    rating=4.5, fetched_at="2026-01-01T00:00:00Z")
    return [
        _listing(),
        _listing(title="x" * 1001),
        _listing(title="", rating=7.5, url="javascript:alert(1)"),
        _listing(tags="not a list", packages=[{"price": -1}], side="nobody"),
        _listing(flags=[{"rule_id": "r"}], rating_count=1.5, seller_id=None),
        seller,
        Seller(marketplace="Fiverr!", seller_id="", profile_url="ftp://x", rating="high"),
    ]


def test_settings_use_the_reusing_pipeline():
    pipeline, _ = _pipeline()
    assert isinstance(pipeline, validation.ValidationPipeline)
    assert isinstance(pipeline, ItemValidationPipeline)
    assert set(pipeline.validators) == {"Listing", "Seller"}


def test_a_schema_error_is_counted_and_degrades_the_run():
    pipeline, stats = _pipeline()
    for item in (_listing(), _listing(title="x" * 1001)):
        assert pipeline.process_item(item) is item  # counted, never dropped: the store still gets it
    counts = stats.get_stats()
    assert counts["spidermon/validation/items"] == 2
    assert counts["spidermon/validation/items/errors"] == 1
    assert counts["spidermon/validation/fields/errors"] == 1
    assert counts["spidermon/validation/fields/errors/field_too_long/title"] == 1
    assert counts["spidermon/validation/validators/listing/jsonschema"] is True
    reason = health.validation_errors(counts, settings.SPIDERMON_MAX_ITEM_VALIDATION_ERRORS)
    assert reason is not None and "title" in reason


def test_same_stats_as_spidermons_own_pipeline():
    ours, our_stats = _pipeline()
    theirs, their_stats = _pipeline(ItemValidationPipeline)
    assert not isinstance(theirs, validation.ValidationPipeline)
    for item in _items():
        ours.process_item(item)
        theirs.process_item(item)
    expected = their_stats.get_stats()
    assert expected["spidermon/validation/items/errors"] == 5  # the test items do break the schemas
    assert our_stats.get_stats() == expected


def test_same_errors_as_spidermons_validator():
    from dataclasses import asdict

    from spidermon.contrib.validation import JSONSchemaValidator

    from crawler.schemas import LISTING

    ours, theirs = validation.ReusedJSONSchemaValidator(LISTING), JSONSchemaValidator(LISTING)
    for item in _items()[:5]:
        assert ours.validate(asdict(item)) == theirs.validate(asdict(item))


def test_the_jsonschema_validator_is_built_once_per_schema(monkeypatch):
    built = []
    real = validation.validator_for

    def counting(schema, *args, **kwargs):
        built.append(schema["title"])
        return real(schema, *args, **kwargs)

    def per_item(*args, **kwargs):
        raise AssertionError("Spidermon's per-item validator construction was used")

    monkeypatch.setattr(validation, "validator_for", counting)
    monkeypatch.setattr(spidermon_validator, "validator_for", per_item)
    pipeline, stats = _pipeline()
    assert sorted(built) == ["Listing", "Seller"]
    for item in _items() * 3:
        pipeline.process_item(item)
    assert sorted(built) == ["Listing", "Seller"]
    assert stats.get_value("spidermon/validation/items") == len(_items()) * 3


@pytest.mark.parametrize("value", [
    "text", 3, 2.5, True, None, [], {}, ["a", 1, None, [2.0, {"k": "v"}]], {"a": [1, {"b": (1, 2)}], "c": {1, 2}},
    ("t", ["u"]), Seller(marketplace="m", seller_id="s", profile_url="https://x"),
    [Listing(marketplace="m", listing_id="1", url="https://x", seller_id="s", title="t")],
])
def test_plain_is_itemadapters_asdict(value):
    from itemadapter import ItemAdapter

    expected = ItemAdapter._asdict(value)
    got = validation.plain(value)
    assert got == expected and type(got) is type(expected)
    if isinstance(value, (list, dict)):
        assert got is not value  # a copy, as itemadapter makes

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
    """The validation pipeline on the crawl settings, built by Scrapy's own component loading (the run's
    writer builds it from the same settings: crawler/item_checks.py)."""
    from scrapy.utils.misc import build_from_crawler

    crawler = get_crawler(settings_dict=_settings())
    return build_from_crawler(cls or validation.ValidationPipeline, crawler), crawler.stats


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


def test_the_writers_checks_use_the_reusing_pipeline():
    from scrapy.settings import Settings

    from crawler.item_checks import ItemChecks, checks_settings

    pipeline = ItemChecks(checks_settings(Settings(_settings()))).validation
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


# --- the error-free fast path -------------------------------------------------------------------

TRICKY = [
    None, True, False, 0, 1, -1, 1.0, 1.5, -0.5, 5, 5.0, 5.0001, float("nan"), float("inf"), "", "a", "A1",
    "x" * 200, "x" * 201, "x" * 1000, "x" * 1001, "https://x/" + "y" * 2038, "https://x/" + "y" * 2039, "abc\n",
    "fiverr", "Fiverr", "https://x", "https://x y", "http://", "USD", "usd", "US", "seller", "buyer", "Seller",
    "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z\n", "2026-01-01 00:00:00", [], ["a"], [1], [None], [{}], ("t",),
    ["x"] * 20, ["x"] * 21, ["x"] * 100, ["x"] * 101, [{"title": "t", "price": 5, "duration": 2}],
    [{"price": -1}], [{"price": None, "duration": 1.0}], [{"duration": 1.5}], [{"title": 3}], [{"question": None}],
    [{"rule_id": "r", "field": "f", "start": 0, "end": 1, "category": "c", "text": "t", "score": 1}],
    [{"rule_id": "r"}], {}, {"a": 1},
]


def _base_items() -> list[dict]:
    from dataclasses import asdict

    return [validation.plain(asdict(item)) for item in _items()[:1] + _items()[5:6]] + [
        validation.plain(asdict(_listing(packages=[], faq=[], flags=[], tags=[], rating=None, price=None)))]


def _mutants():
    import random

    from crawler.schemas import LISTING, SELLER

    rng = random.Random(7)
    for schema in (LISTING, SELLER):
        bases = [b for b in _base_items() if ("listing_id" in b) == (schema is LISTING)]
        fields = list(schema["properties"]) + ["extra"]
        for base in bases:
            yield schema, base
            for field in fields:
                yield schema, {k: v for k, v in base.items() if k != field}
                for value in TRICKY:
                    yield schema, {**base, field: value}
            for _ in range(1500):
                item = dict(base)
                for field in rng.sample(fields, 3):
                    item[field] = rng.choice(TRICKY)
                yield schema, item
        yield schema, ["not", "an", "object"]


def test_fast_path_vouches_exactly_for_the_items_jsonschema_finds_no_error_in():
    from jsonschema.validators import validator_for

    from crawler.schemas import LISTING, SELLER

    checks = {id(s): validation.error_free_check(s, validator_for(s)) for s in (LISTING, SELLER)}
    assert all(checks.values()), "the item schemas only use keywords the fast path knows"
    valid = invalid = 0
    for schema, item in _mutants():
        jsonschema_ok = next(validator_for(schema)(schema).iter_errors(item), None) is None
        assert checks[id(schema)](item) == jsonschema_ok, (schema["title"], item)
        valid += jsonschema_ok
        invalid += not jsonschema_ok
    assert valid > 100 and invalid > 1000


def test_fast_path_gives_spidermons_results():
    from spidermon.contrib.validation import JSONSchemaValidator

    from crawler.schemas import LISTING, SELLER

    ours = {id(s): validation.ReusedJSONSchemaValidator(s) for s in (LISTING, SELLER)}
    theirs = {id(s): JSONSchemaValidator(s) for s in (LISTING, SELLER)}
    for n, (schema, item) in enumerate(_mutants()):
        if n % 7 == 0:  # a sample: spidermon's validator builds a jsonschema validator per item
            assert ours[id(schema)].validate(item) == theirs[id(schema)].validate(item), item


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"format": "email"}}},
    {"type": "object", "properties": {"a": {"$ref": "#/$defs/x"}}, "$defs": {"x": {}}},
    {"items": {"type": "string"}, "prefixItems": [{"type": "integer"}]},
    {"enum": [1, "a"]},
    {"type": "integer", "multipleOf": 2},
    {"type": "frobnicate"},
    {"properties": {"a": {"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer"}}},
    {"properties": {"a": False}},
])
def test_fast_path_stands_aside_for_keywords_it_does_not_know(schema):
    from jsonschema.validators import validator_for

    assert validation.error_free_check(schema, validator_for(schema)) is None

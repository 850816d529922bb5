"""Checks on the spiders' code that Scrapy would otherwise repeat on every request."""
from __future__ import annotations

import inspect

from scrapy.spiderloader import SpiderLoader
from scrapy.utils.misc import is_generator_with_return_value
from scrapy.utils.project import get_project_settings

from crawler import settings


def _our_functions():
    loader = SpiderLoader.from_settings(get_project_settings())
    for name in loader.list():
        for klass in inspect.getmro(loader.load(name)):
            if klass.__module__.startswith(("spiders.", "crawler.")):
                for attr, value in vars(klass).items():
                    value = getattr(value, "__func__", value)  # static and class methods too
                    if inspect.isfunction(value):
                        yield f"{klass.__name__}.{attr}", value


def test_no_callback_is_a_generator_that_returns_a_value():
    """Such a value would be lost silently; crawls skip Scrapy's per-request check (settings), so it is made here."""
    assert settings.WARN_ON_GENERATOR_RETURN_VALUE is False
    functions = dict(_our_functions())
    assert {"FiverrSpider.parse_gig", "MarketplaceSpider.listing_page_request"} <= set(functions)
    assert any(inspect.isgeneratorfunction(f) for f in functions.values())
    assert [name for name, f in functions.items() if is_generator_with_return_value(f)] == []


def test_the_check_would_catch_one():
    def parse(response):
        yield {"a": 1}
        return "lost"

    assert is_generator_with_return_value(parse)

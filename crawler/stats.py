"""The crawl's stats collector: Scrapy's in-memory one, without a Python detour on every call.

Scrapy 2.13 wraps every attribute access of a stats collector in a `__getattribute__` that builds a
name, looks for a cached wrapper and checks each call for a deprecated `spider` argument. A crawl
makes dozens of stats calls per item (Spidermon's field coverage counts every field of every item),
so that detour cost about 3% of a demo crawl. Nothing in turfwatch passes `spider`; the methods still
accept it, only the deprecation warning is gone.
"""
from __future__ import annotations

from scrapy.statscollectors import MemoryStatsCollector


class CrawlStats(MemoryStatsCollector):
    __getattribute__ = object.__getattribute__

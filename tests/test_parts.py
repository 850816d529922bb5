"""`part` and `of` split every list a spider starts from, so N nodes never fetch the same start page twice."""

from __future__ import annotations

import asyncio

from spiders.configured import ConfiguredSpider
from spiders.fiverr import FiverrSpider

QUERIES = "a,b,c,d,e"
URLS = ",".join(f"https://www.fiverr.com/s{i}" for i in range(5))


def test_queries_and_start_urls_are_split_between_parts():
    parts = [FiverrSpider(queries=QUERIES, start_urls=URLS, part=k, of=2) for k in (0, 1)]
    assert [p.queries for p in parts] == [["a", "c", "e"], ["b", "d"]]
    assert sorted(parts[0].start_urls + parts[1].start_urls) == sorted(URLS.split(","))
    assert not set(parts[0].start_urls) & set(parts[1].start_urls)
    assert FiverrSpider(queries=QUERIES, start_urls=URLS).start_urls == URLS.split(",")


def test_a_configured_sites_own_start_urls_are_split_too(tmp_path):
    config = tmp_path / "site.yaml"
    config.write_text("name: split\nbase_url: https://split.example\n"
                      "start_urls: [/c/1, /c/2, /c/3, /c/4, /c/5]\nsearch: {listing_links: 'a::attr(href)'}\n"
                      "listing: {title: h1, description: p, seller_id: '.seller'}\n")
    parts = [ConfiguredSpider(config=str(config), recheck="0", part=k, of=2) for k in (0, 1)]
    got = [_start_urls(p) for p in parts]
    assert got[0] == ["https://split.example/c/1", "https://split.example/c/3", "https://split.example/c/5"]
    assert got[1] == ["https://split.example/c/2", "https://split.example/c/4"]


def _start_urls(spider) -> list[str]:
    async def collect():
        return [r.url async for r in spider.start()]
    return asyncio.run(collect())

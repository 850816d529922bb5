"""Configured spider: any marketplace described by a site file (sites/*.yaml or -a config=FILE), no code."""

from __future__ import annotations

from urllib.parse import quote_plus, urljoin, urlsplit

from scrapy import Request
from scrapy.http import Response

from crawler.distributed import split_part
from crawler.items import Listing, Removal, Seller, utc_now
from crawler.pages.common import canonical_url, first
from crawler.siteconfig import SiteConfig, load_config, number
from spiders.base import GONE_STATUSES, MarketplaceSpider


class ConfiguredSpider(MarketplaceSpider):
    """`-a site=NAME` (a file in sites/) or `-a config=FILE`; the file's `name` is the marketplace."""

    name = "configured"

    def __init__(self, *args, config: str | None = None, site: str | None = None, **kwargs):
        if not (config or site):
            raise ValueError("the configured spider needs -a site=NAME (sites/NAME.yaml) or -a config=FILE")
        self.site: SiteConfig = load_config(config or site)
        # Per instance: one process may run several configured sites at once.
        self.marketplace = self.site.name
        self.default_base_url = self.site.base_url
        self.default_queries = tuple(self.site.queries)
        super().__init__(*args, **kwargs)
        self.max_pages = min(self.max_pages, self.site.max_pages) if "max_pages" not in kwargs else self.max_pages
        self.run_args["site"] = self.site.name
        self.run_args["config"] = str(self.site.path) if self.site.path else None

    def _url(self, path_or_url: str) -> str:
        return urljoin(self.base_url + "/", path_or_url)

    def search_url(self, query: str, page: int) -> str:
        return self._url(self.site.search_url.replace("{query}", quote_plus(query)).replace("{page}", str(page)))

    async def start(self):
        site_urls = split_part([self._url(u) for u in self.site.start_urls], self.part, self.of)
        for url in self.start_urls or site_urls:
            yield Request(url, callback=self.parse_search, cb_kwargs={"query": None, "page": 1})
        for listing_id, url in self.known_listings():
            yield self.listing_request(url, listing_id=listing_id)
        if self.site.search_url:
            for query in self.queries:
                yield Request(self.search_url(query, 1), callback=self.parse_search, cb_kwargs={"query": query, "page": 1})

    def _page(self, response: Response):
        ctype = response.headers.get("Content-Type", b"").decode("latin-1")
        return self.site.page(response.text, ctype)

    def parse_search(self, response: Response, query: str | None, page: int):
        view = self._page(response)
        self.crawler.stats.inc_value("turfwatch/search_pages")
        links = self.site.search["listing_links"].values(view)
        for link in dict.fromkeys(links):
            if self.first_request(url := response.urljoin(link)):
                yield self.listing_request(url)
        if page >= self.max_pages or not links:
            return
        nxt = self.site.search["next_page"].first(view) if "next_page" in self.site.search else None
        if nxt:
            yield Request(response.urljoin(nxt), callback=self.parse_search, cb_kwargs={"query": query, "page": page + 1})
        elif query is not None and "{page}" in (self.site.search_url or ""):
            yield Request(self.search_url(query, page + 1), callback=self.parse_search,
                          cb_kwargs={"query": query, "page": page + 1})

    def listing_request(self, url: str, listing_id: str | None = None) -> Request:
        return self.listing_page_request(url, self.parse_listing, listing_id=listing_id)

    async def parse_listing(self, response: Response, listing_id: str | None = None):
        url = canonical_url(response.url)
        if response.status in GONE_STATUSES:
            yield Removal(self.marketplace, url, response.status, listing_id=listing_id)
            return
        view = self._page(response)
        get = {k: f.first(view) for k, f in self.site.listing.items() if k not in ("tags", "images")}
        title, seller_id = get.get("title"), get.get("seller_id")
        if not title or not seller_id:
            self.crawler.stats.inc_value("turfwatch/unparsed_listing")
            self.logger.error("%s: no title or seller_id on %s (selectors out of date?)", self.site.name, response.url)
            return
        seller_url = response.urljoin(get["seller_url"]) if get.get("seller_url") else None
        listing = Listing(
            marketplace=self.marketplace, listing_id=first(get.get("id"), urlsplit(url).path), url=url,
            seller_id=seller_id, title=title, description=get.get("description") or "",
            tags=self.site.listing["tags"].values(view) if "tags" in self.site.listing else [],
            price=number(get.get("price")), currency=get.get("currency") or "USD", category=get.get("category"),
            rating=number(get.get("rating")), rating_count=int(number(get.get("rating_count")) or 0) or None,
            image_urls=[response.urljoin(u) for u in self.site.listing["images"].values(view)]
            if "images" in self.site.listing else [],
            fetched_at=utc_now(), side=self.site.side,
        )
        if seller := self.first_sighting(Seller(self.marketplace, seller_id, canonical_url(seller_url) if seller_url else "")):
            yield seller
        yield await self.judge(listing)
        if request := self.seller_request(listing, seller_url, self.parse_seller, seller_id=seller_id):
            yield request

    def parse_seller(self, response: Response, seller_id: str):
        view = self._page(response)
        get = {k: f.first(view) for k, f in self.site.seller.items() if k != "listing_links"}
        links = self.site.seller["listing_links"].values(view) if "listing_links" in self.site.seller else []
        yield Seller(self.marketplace, first(get.get("id"), seller_id), canonical_url(response.url),
                     display_name=get.get("display_name"), country=get.get("country"),
                     member_since=get.get("member_since"),
                     listing_urls=[canonical_url(response.urljoin(u)) for u in links])
        for link in links:
            if self.first_request(url := response.urljoin(link)):
                yield self.listing_request(url)

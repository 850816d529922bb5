"""PeoplePerHour spider: Hourlie lists (by query, or all) -> Hourlie pages -> profiles of flagged sellers."""

from __future__ import annotations

from parsel import Selector
from scrapy import Request
from scrapy.http import Response

from crawler.items import Removal
from crawler.pages import peopleperhour as pages
from spiders.base import GONE_STATUSES, MarketplaceSpider


class PeoplePerHourSpider(MarketplaceSpider):
    name = "peopleperhour"
    marketplace = pages.MARKETPLACE
    routes = {"list": "parse_list", "hourlie": "parse_hourlie", "profile": "parse_profile"}
    page_kind = staticmethod(pages.page_kind)
    default_base_url = "https://www.peopleperhour.com"
    default_queries = ("reviews", "google reviews", "amazon reviews", "trustpilot", "ratings", "testimonials",
                       "reseñas", "bewertungen")

    async def start(self):
        for url in self.start_urls:
            yield Request(url, callback=self.route)
        for listing_id, url in self.known_listings():
            yield self.hourlie_request(url, listing_id=listing_id)
        for query in self.queries:
            # `-a queries=*` lists every Hourlie: /hire-freelancers?page=N.
            q = None if query == "*" else query
            yield Request(pages.list_url(self.base_url, q), callback=self.parse_list, cb_kwargs={"page": 1})

    def parse_list(self, response: Response, page: int = 1):
        found = pages.parse_list(response.text, response.url)
        self.crawler.stats.inc_value("turfwatch/search_pages")
        for url in found.urls:
            if self.first_request(url):
                yield self.hourlie_request(url)
        if found.next_url and page < self.max_pages:
            yield Request(found.next_url, callback=self.parse_list, cb_kwargs={"page": page + 1})

    def hourlie_request(self, url: str, listing_id: str | None = None) -> Request:
        return self.listing_page_request(url, self.parse_hourlie, listing_id=listing_id)

    async def parse_hourlie(self, response: Response, listing_id: str | None = None):
        if response.status in GONE_STATUSES:
            yield Removal(self.marketplace, pages.canonical_url(response.url), response.status,
                          listing_id=listing_id or pages.hourlie_id(response.url))
            return
        sel = Selector(text=response.text)  # one parse for the listing and its seller
        listing = pages.parse_hourlie(sel, response.url)
        if listing is None:
            self.crawler.stats.inc_value("turfwatch/unparsed_listing")
            self.logger.error("No Hourlie could be read from %s", response.url)
            return
        if seller := self.first_sighting(pages.seller_of(sel, listing, self.base_url)):
            yield seller
        yield await self.judge(listing)
        if request := self.seller_request(listing, pages.profile_url(self.base_url, listing.seller_id),
                                          self.parse_profile):
            yield request

    def parse_profile(self, response: Response):
        seller = pages.parse_profile(response.text, response.url)
        if seller is None:
            self.crawler.stats.inc_value("turfwatch/unparsed_seller")
            return
        yield seller
        for url in seller.listing_urls:
            if self.first_request(url):
                yield self.hourlie_request(url)

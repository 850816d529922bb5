"""SEOClerks spider: search queries and review categories -> service pages -> user pages of flagged sellers."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import Response

from crawler.items import Removal
from crawler.pages import seoclerks as pages
from spiders.base import GONE_STATUSES, MarketplaceSpider, split_arg


class SeoclerksSpider(MarketplaceSpider):
    name = "seoclerks"
    marketplace = pages.MARKETPLACE
    routes = {"cards": "parse_cards", "service": "parse_service", "user": "parse_user"}
    page_kind = staticmethod(pages.page_kind)
    default_base_url = "https://www.seoclerks.com"
    default_queries = ("reviews", "google reviews", "amazon reviews", "trustpilot", "ratings", "testimonials",
                       "remove negative reviews", "reseñas", "bewertungen")

    def __init__(self, *args, categories=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.categories = split_arg(categories) or list(pages.REVIEW_CATEGORIES)
        self.run_args["categories"] = self.categories

    async def start(self):
        for url in self.start_urls:
            yield Request(url, callback=self.route)
        for listing_id, url in self.known_listings():
            yield self.service_request(url, listing_id=listing_id)
        for category in self.categories:
            yield Request(pages.category_url(self.base_url, category), callback=self.parse_cards, cb_kwargs={"page": 1})
        for query in self.queries:
            yield Request(pages.search_url(self.base_url, query), callback=self.parse_cards, cb_kwargs={"page": 1})

    def parse_cards(self, response: Response, page: int = 1):
        cards = pages.parse_cards(response.text, response.url)
        self.crawler.stats.inc_value("turfwatch/search_pages")
        if not cards.cards and b"listbit" not in response.body:
            self.logger.warning("No service cards on %s (markup changed?)", response.url)
        for card in cards.cards:
            if self.first_request(card.url):
                yield self.service_request(card.url, card)
        if cards.next_url and page < self.max_pages:
            yield Request(cards.next_url, callback=self.parse_cards, cb_kwargs={"page": page + 1})

    def service_request(self, url: str, card: pages.ServiceCard | None = None, listing_id: str | None = None) -> Request:
        return self.listing_page_request(url, self.parse_service, card=card, listing_id=listing_id)

    async def parse_service(self, response: Response, card: pages.ServiceCard | None = None, listing_id: str | None = None):
        if response.status in GONE_STATUSES:
            yield Removal(self.marketplace, pages.canonical_url(response.url), response.status,
                          listing_id=listing_id or (card.service_id if card else None))
            return
        listing = pages.parse_service(response.text, response.url, card)
        if listing is None:
            self.crawler.stats.inc_value("turfwatch/unparsed_listing")
            self.logger.error("No service could be read from %s", response.url)
            return
        if seller := self.first_sighting(pages.seller_of(listing, self.base_url)):
            yield seller
        yield await self.judge(listing)
        if request := self.seller_request(listing, pages.user_url(self.base_url, listing.seller_id),
                                          self.parse_user):
            yield request

    def parse_user(self, response: Response):
        seller = pages.parse_user(response.text, response.url)
        if seller is None:
            self.crawler.stats.inc_value("turfwatch/unparsed_seller")
            return
        yield seller
        for url in seller.listing_urls:
            if self.first_request(url):
                yield self.service_request(url)

"""Fiverr spider: search queries -> gig pages -> seller pages of sellers with a flagged gig."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import Response

from crawler.items import Removal
from crawler.pages import fiverr as pages
from spiders.base import GONE_STATUSES, MarketplaceSpider


class FiverrSpider(MarketplaceSpider):
    name = "fiverr"
    marketplace = pages.MARKETPLACE
    routes = {"search": "parse_search", "category": "parse_search", "gig": "parse_gig", "seller": "parse_seller"}
    page_kind = staticmethod(pages.page_kind)
    default_base_url = "https://www.fiverr.com"
    # Aimed at review selling: the offer words sellers must use to be found,
    # in the seven languages the flagger reads.
    default_queries = (
        "reviews",
        "amazon reviews",
        "google reviews",
        "trustpilot reviews",
        "5 star reviews",
        "product reviews",
        "app reviews",
        "ratings",
        "feedback",
        "testimonials",
        "remove negative reviews",
        "reseñas",
        "bewertungen",
        "avis",
        "avaliações",
        "recensioni",
        "beoordelingen",
    )

    async def start(self):
        for url in self.start_urls:
            yield Request(url, callback=self.route)
        for listing_id, url in self.known_listings():
            yield self.gig_request(url, listing_id=listing_id)
        for query in self.queries:
            yield Request(pages.search_url(self.base_url, query), callback=self.parse_search, cb_kwargs={"query": query})

    def parse_search(self, response: Response, query: str | None = None):
        data = pages.props(response.text)
        if data is None:
            self.crawler.stats.inc_value("turfwatch/no_props")
            self.logger.error("No perseus-initial-props JSON on %s (markup changed?)", response.url)
            return
        page = pages.parse_search(data, self.base_url)
        self.crawler.stats.inc_value("turfwatch/search_pages")
        # The page's JSON announces results, yet no gig could be read: a renamed key looks exactly
        # like this (markup drift). A page past the last one is legitimately empty.
        if not page.gigs and response.status == 200 and page.total and (page.page - 1) * page.page_size < page.total:
            self.crawler.stats.inc_value("turfwatch/unparsed_search")
            self.logger.error("Search page announces %s results but none could be read: %s (markup changed?)",
                              page.total, response.url)
        for gig in page.gigs:
            if self.first_request(gig.url):
                yield self.gig_request(gig.url, gig)
        if page.has_more and query is not None and page.page < self.max_pages:
            yield Request(
                pages.search_url(self.base_url, query, page.page + 1),
                callback=self.parse_search,
                cb_kwargs={"query": query},
            )

    def gig_request(self, url: str, summary: pages.GigSummary | None = None, listing_id: str | None = None) -> Request:
        return self.listing_page_request(url, self.parse_gig, summary=summary, listing_id=listing_id)

    async def parse_gig(self, response: Response, summary: pages.GigSummary | None = None, listing_id: str | None = None):
        if response.status in GONE_STATUSES:
            known = listing_id or (summary.gig_id if summary else None)
            yield Removal(self.marketplace, pages.canonical_url(response.url), response.status, listing_id=known)
            return
        data = pages.props(response.text)
        listing = pages.parse_gig(data, response.url, summary) if data else None
        if listing is None:
            self.crawler.stats.inc_value("turfwatch/unparsed_gig")
            self.logger.error("No gig could be read from %s", response.url)
            return
        seller = self.first_sighting(pages.seller_from_gig(data, self.base_url))
        if seller is not None:
            yield seller
        yield await self.judge(listing)
        if request := self.seller_request(listing, pages.seller_url(self.base_url, listing.seller_id),
                                          self.parse_seller):
            yield request

    def parse_seller(self, response: Response):
        data = pages.props(response.text)
        seller = pages.parse_seller(data, response.url) if data else None
        if seller is None:
            self.crawler.stats.inc_value("turfwatch/unparsed_seller")
            self.logger.error("No seller could be read from %s", response.url)
            return
        yield seller
        for url in seller.listing_urls:
            if self.first_request(url):
                yield self.gig_request(url)

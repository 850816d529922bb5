"""Freelancer.com spider (buyers' side): API project search -> each project -> owners of flagged projects."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import Response

from crawler.items import Removal
from crawler.pages import freelancer as pages
from spiders.base import GONE_STATUSES, MarketplaceSpider

# Projects per API page; the API's own maximum is larger, but a smaller page retries cheaper.
PAGE_SIZE = 50


class FreelancerSpider(MarketplaceSpider):
    """Buyers post projects; one asking for reviews makes its owner a buyer lead."""

    name = "freelancer"
    marketplace = pages.MARKETPLACE
    default_base_url = "https://www.freelancer.com"
    default_queries = ("reviews", "amazon reviews", "google reviews", "trustpilot reviews", "5 star reviews",
                       "ratings", "product testers", "remove negative reviews", "reseñas", "bewertungen")

    async def start(self):
        for url in self.start_urls:
            yield Request(url, callback=self.parse_projects, cb_kwargs={"query": None, "offset": 0, "page": 1})
        for listing_id, _url in self.known_listings():
            yield self.project_request(listing_id)
        for query in self.queries:
            yield Request(pages.search_url(self.base_url, query, PAGE_SIZE), callback=self.parse_projects,
                          cb_kwargs={"query": query, "offset": 0, "page": 1})

    def parse_projects(self, response: Response, query: str | None, offset: int, page: int):
        found = pages.parse_projects(pages.loads(response.body))
        self.crawler.stats.inc_value("turfwatch/search_pages")
        for project in found.projects:
            # One request per project: each listing gets its own capture as evidence.
            if self.first_request(pages.project_api_url(self.base_url, project["id"])):
                yield self.project_request(project["id"])
        offset += len(found.projects)
        more = offset < found.total if found.total is not None else len(found.projects) >= PAGE_SIZE
        if query is not None and found.projects and more and page < self.max_pages:
            yield Request(pages.search_url(self.base_url, query, PAGE_SIZE, offset), callback=self.parse_projects,
                          cb_kwargs={"query": query, "offset": offset, "page": page + 1})

    def project_request(self, project_id) -> Request:
        return self.listing_page_request(pages.project_api_url(self.base_url, project_id), self.parse_project,
                                         project_id=str(project_id))

    async def parse_project(self, response: Response, project_id: str):
        if response.status in GONE_STATUSES:
            yield Removal(self.marketplace, response.url, response.status, listing_id=project_id)
            return
        project = pages.project_of(pages.loads(response.body))
        listing = pages.parse_project(project, self.base_url) if project else None
        if listing is None:
            self.crawler.stats.inc_value("turfwatch/unparsed_listing")
            self.logger.error("No project could be read from %s", response.url)
            return
        yield await self.judge(listing)
        if request := self.seller_request(listing, pages.user_api_url(self.base_url, listing.seller_id),
                                          self.parse_user):
            yield request

    def parse_user(self, response: Response):
        seller = pages.parse_user(pages.loads(response.body), self.base_url)
        if seller is not None:
            yield seller

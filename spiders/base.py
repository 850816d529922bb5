"""What every turfwatch spider shares: arguments, politeness to the start host, and flagging."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import scrapy

from crawler.distributed import parse_part, split_part
from crawler.flag_worker import FlagWorker, FlagWorkerGone, verdict
from crawler.items import Listing, Seller


def split_arg(value: Any) -> list[str]:
    """A spider argument that may be a list, or a comma/newline separated string."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).replace("\n", ",").split(",") if part.strip()]


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() not in ("0", "false", "no", "off", "")


# A listing page answering these is gone: a fact to record (a Removal), not an error to retry.
GONE_STATUSES = (404, 410)


class MarketplaceSpider(scrapy.Spider):
    """Base of the marketplace spiders. Subclasses set `marketplace`,
    `default_base_url` and `default_queries`, and route pages to page objects."""

    marketplace: str = ""
    default_base_url: str = ""
    default_queries: tuple[str, ...] = ()
    #: page kind (as `page_kind(url)` tells it) -> name of the callback that reads it
    routes: dict[str, str] = {}

    @staticmethod
    def listing_page_request(url: str, callback, **cb_kwargs) -> scrapy.Request:
        """A request for a listing page whose 404/410 answer reaches `callback`, to be recorded as a removal."""
        return scrapy.Request(url, callback=callback, cb_kwargs=cb_kwargs,
                              meta={"handle_httpstatus_list": list(GONE_STATUSES)})

    @staticmethod
    def page_kind(url: str) -> str:
        return "other"

    def route(self, response):
        """Start URLs may be any page of the marketplace; send each to its parser."""
        callback = self.routes.get(self.page_kind(response.url))
        if callback is None:
            self.logger.warning("Not a page turfwatch reads: %s", response.url)
            return None
        return getattr(self, callback)(response)

    def __init__(
        self,
        *args: Any,
        base_url: str | None = None,
        queries: Any = None,
        queries_file: str | None = None,
        start_urls: Any = None,
        max_pages: Any = None,
        follow_sellers: Any = "1",
        recheck: Any = "1",
        part: Any = None,
        of: Any = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        queries_list = split_arg(queries)
        if queries_file:
            lines = Path(queries_file).read_text(encoding="utf-8").splitlines()
            queries_list += [q.strip() for q in lines if q.strip() and not q.lstrip().startswith("#")]
        self.queries = queries_list or list(self.default_queries)
        # Several Scrapyd nodes: part k of n crawls every n-th query and every n-th start URL.
        self.part, self.of = parse_part(part, of)
        self.queries = split_part(self.queries, self.part, self.of)
        self.start_urls = split_part(split_arg(start_urls), self.part, self.of)
        # Page JSON is seller-controlled: links in it must not walk the crawl off the site.
        self.allowed_domains = [urlsplit(self.base_url).hostname or ""]
        self.max_pages = int(max_pages) if max_pages not in (None, "") else 20
        self.follow_sellers = _truthy(follow_sellers)
        self.recheck = _truthy(recheck)
        # Recorded in the runs table, so a run can be repeated exactly.
        self.run_args = {
            "base_url": self.base_url, "queries": self.queries, "start_urls": self.start_urls,
            "max_pages": self.max_pages, "follow_sellers": self.follow_sellers, "recheck": self.recheck,
            **({"part": self.part, "of": self.of} if self.of > 1 else {}),
        }
        self._flagger = None
        self.flag_worker = None  # crawler/flag_worker.py, when the crawl has one (from_crawler)
        self._sellers_seen: set[str] = set()
        self._requested: set[str] = set()

    def known_listings(self) -> list[tuple[str, str]]:
        """(listing_id, url) of flagged listings already in the database, fetched
        again so that edits and removals are recorded even when search no longer
        shows them. URLs are re-rooted on base_url: same site, maybe another host name."""
        from crawler.store import Store

        if not self.recheck:
            return []
        db_path = Path(self.settings.get("TURFWATCH_DB") or "")
        if not db_path.is_file():
            return []
        with Store(db_path, read_only=True) as store:
            rows = store.db.query(
                "SELECT listing_id, url FROM listings WHERE marketplace = ? AND sells_reviews = 1"
                " AND removed_at IS NULL ORDER BY listing_id",
                [self.marketplace],
            )
            return [(row["listing_id"], self.base_url + urlsplit(row["url"]).path) for row in rows]

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        spider = super().from_crawler(crawler, *args, **kwargs)
        # The flagger is ready before the engine opens, not on the first gig page:
        # no request waits on it, and the run's clock measures crawling.
        if crawler.settings.getbool("TURFWATCH_FLAG_WORKER"):
            worker = FlagWorker.shared()
            if worker.wait_ready():
                spider.flag_worker = worker
            else:
                spider.logger.error("%s: judging in this process", worker.gone)
        if spider.flag_worker is None:
            spider.flagger  # noqa: B018
        return spider

    @property
    def flagger(self):
        # Imported late: `scrapy list` and offline parse tests need no spaCy pipeline.
        if self._flagger is None:
            from crawler.flagging import get_flagger

            self._flagger = get_flagger()
        return self._flagger

    def first_request(self, url: str) -> bool:
        """Whether this run has not asked for `url` yet (it has now). Scrapy's dupefilter drops a second
        request too, but only after it was built and had passed every spider middleware; and a listing shows
        up in several searches and on its seller's page (235 of a demo crawl's 532 requests were repeats)."""
        if url in self._requested:
            return False
        self._requested.add(url)
        return True

    def seller_request(self, listing: Listing, seller_url: str | None, callback, **cb_kwargs) -> scrapy.Request | None:
        """The request for the page of a flagged listing's seller: all of a flagged seller's listings are
        evidence, not only those search showed. None when the listing is not flagged, following is off, or
        this run has asked for that page already."""
        if listing.sells_reviews and self.follow_sellers and seller_url and self.first_request(seller_url):
            return scrapy.Request(seller_url, callback=callback, cb_kwargs=cb_kwargs)
        return None

    def first_sighting(self, seller: Seller | None) -> Seller | None:
        """A seller as a listing page shows it, the first time this run meets them; None after that.
        Their other listing pages show the same, and each such page's capture is linked to the seller
        through its listing (crawler/store.py). Sellers read from their own pages always go through."""
        if seller is None or seller.seller_id in self._sellers_seen:
            return None
        self._sellers_seen.add(seller.seller_id)
        return seller

    async def judge(self, listing: Listing) -> Listing:
        """Flag the listing in place; the spider needs the verdict to decide whom to follow. The flag worker
        judges it when the crawl has one (crawler/flag_worker.py); this process does when it has none, or
        once it has gone."""
        fields = {"title": listing.title, "description": listing.description, "tags": listing.tags,
                  "packages": listing.packages, "faq": listing.faq}
        result = None
        if self.flag_worker is not None:
            try:
                result = await self.flag_worker.judge(fields)
            except FlagWorkerGone as exc:
                self.logger.error("%s: judging in this process from now on", exc)
                self.flag_worker = None
        if result is None:
            result = verdict(self.flagger.judge(fields))
        listing.language, listing.score, listing.sells_reviews, listing.flags = result
        return listing

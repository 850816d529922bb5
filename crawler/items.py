"""The records a crawl produces: one listing model and one seller model for every marketplace."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache


def utc_now() -> str:
    """ISO-8601 UTC timestamp with seconds, the one time format of the project."""
    return _utc_second(int(time.time()))


@lru_cache(maxsize=1)  # every item of a second gets the same text; formatting it was 1% of a crawl
def _utc_second(second: int) -> str:
    return datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Listing:
    """One gig / service / hourlie / project as the marketplace showed it."""

    marketplace: str
    listing_id: str
    url: str  # canonical: no tracking query; the dedupe key on the wire
    seller_id: str  # the marketplace username
    title: str
    description: str = ""  # plain text; flag offsets point into this exact string
    tags: list[str] = field(default_factory=list)
    packages: list[dict] = field(default_factory=list)  # {title, description, price, duration}
    faq: list[dict] = field(default_factory=list)  # {question, answer}
    price: float | None = None
    currency: str = "USD"
    rating: float | None = None
    rating_count: int | None = None
    category: str | None = None
    image_urls: list[str] = field(default_factory=list)
    fetched_at: str = field(default_factory=utc_now)
    capture_id: str | None = None  # WARC record of the page this was read from
    # "buyer" when the account asks for the service (a project post), so its lead is a buyer lead.
    side: str = "seller"
    # Filled in by the flagger before the listing leaves the spider.
    language: str | None = None
    score: float = 0.0
    sells_reviews: bool = False
    flags: list[dict] = field(default_factory=list)


@dataclass
class Removal:
    """A listing URL that answered 404/410: the listing is gone, its evidence stays."""

    marketplace: str
    url: str
    status: int
    listing_id: str | None = None  # known when the URL came from the store
    fetched_at: str = field(default_factory=utc_now)


@dataclass
class Seller:
    """The account behind listings; a seller with flagged listings becomes a lead."""

    marketplace: str
    seller_id: str
    profile_url: str
    display_name: str | None = None
    country: str | None = None
    level: str | None = None
    rating: float | None = None
    rating_count: int | None = None
    member_since: str | None = None
    listing_urls: list[str] = field(default_factory=list)
    # True only when listing_urls is the seller's whole list (their profile page),
    # so listings missing from it can be marked removed.
    listings_complete: bool = False
    fetched_at: str = field(default_factory=utc_now)
    capture_id: str | None = None

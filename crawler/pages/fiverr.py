"""Fiverr page objects: search, gig and seller pages read from their `perseus-initial-props` JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator
from urllib.parse import quote, urlencode, urljoin, urlsplit

from crawler.items import Listing, Seller, utc_now
from crawler.pages.common import (
    canonical_url,
    clean_text,
    dig,
    embedded_json,
    first,
    html_to_text,
    to_float,
    to_int,
    url_cache,
)

MARKETPLACE = "fiverr"
PROPS_ID = "perseus-initial-props"
PAGE_SIZE = 48


@dataclass
class GigSummary:
    """A gig as a search or category page shows it."""

    gig_id: str
    title: str  # as displayed: "I will ..."
    seller_name: str
    url: str  # canonical
    seller_display_name: str | None = None
    seller_country: str | None = None
    seller_level: str | None = None
    price: float | None = None
    rating: float | None = None
    rating_count: int | None = None
    promoted: bool = False
    image_url: str | None = None


@dataclass
class SearchPage:
    gigs: list[GigSummary] = field(default_factory=list)
    page: int = 1
    page_size: int = PAGE_SIZE
    total: int | None = None
    has_more: bool = False


def props(html: Any) -> dict | None:
    return embedded_json(html, PROPS_ID)


def search_url(base_url: str, query: str, page: int = 1) -> str:
    params = {"query": query, "source": "top-bar", "search_in": "everywhere"}
    if page > 1:
        params["page"] = str(page)
    return urljoin(base_url, "/search/gigs?" + urlencode(params))


@url_cache(maxsize=4096)  # every gig page names its seller
def seller_url(base_url: str, seller_name: str) -> str:
    """Profile URL; the name is seller-controlled, so it is quoted, never trusted as a path."""
    return urljoin(base_url + "/", quote(seller_name, safe=""))


def display_title(title: str) -> str:
    """Search JSON omits the "I will " that the site shows before every gig title."""
    title = title.strip()
    return title if title.lower().startswith("i will ") else f"I will {title}"


def _gig_objects(data: dict) -> list[dict]:
    items = data.get("items")
    if not isinstance(items, list) or not items:
        # Older pages: listings[0].gigs[] (with `pos` instead of `position`).
        items = dig(data, "listings", 0, "gigs", default=[])
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def parse_search(data: dict, base_url: str) -> SearchPage:
    """Gigs and paging of a search or category page."""
    gigs = []
    for item in _gig_objects(data):
        gig_id = first(item.get("gig_id"), item.get("gigId"))
        seller_name = clean_text(item.get("seller_name")).strip()
        gig_url = item.get("gig_url")
        if gig_id is None or not seller_name or not isinstance(gig_url, str):
            continue
        rating = item.get("seller_rating") if isinstance(item.get("seller_rating"), dict) else {}
        image = next(
            (a.get("cloud_img_main_gig") for a in item.get("assets") or [] if isinstance(a, dict) and a.get("cloud_img_main_gig")),
            None,
        )
        gigs.append(
            GigSummary(
                gig_id=str(gig_id),
                title=display_title(clean_text(item.get("title"))),
                seller_name=seller_name,
                url=canonical_url(gig_url, base_url),
                seller_display_name=item.get("seller_display_name"),
                seller_country=item.get("seller_country"),
                seller_level=item.get("seller_level"),
                price=to_float(first(item.get("price_i"), dig(item, "packages", "recommended", "price"))),
                rating=to_float(first(item.get("buying_review_rating"), rating.get("score"))),
                rating_count=to_int(first(item.get("buying_review_rating_count"), rating.get("count"))),
                promoted=item.get("type") == "promoted_gigs",
                image_url=image,
            )
        )
    pagination = dig(data, "appData", "pagination", default={})
    raw = data.get("rawListingData") if isinstance(data.get("rawListingData"), dict) else {}
    page = to_int(pagination.get("page")) or 1
    page_size = to_int(pagination.get("page_size")) or PAGE_SIZE
    total = to_int(first(pagination.get("total"), raw.get("num_found"), dig(data, "tracking", "numberOfResults")))
    has_more = raw.get("has_more")
    if has_more is None:
        has_more = total is not None and page * page_size < total
    return SearchPage(gigs=gigs, page=page, page_size=page_size, total=total, has_more=bool(has_more) and bool(gigs))


def _packages(data: dict) -> list[dict]:
    packages = []
    for package in dig(data, "packages", "packageList", default=[]):
        if not isinstance(package, dict):
            continue
        cents = to_float(package.get("price"))
        packages.append(
            {
                "title": clean_text(package.get("title")),
                "description": clean_text(package.get("description")),
                # Gig pages give package prices in cents, search pages in dollars.
                "price": None if cents is None else cents / 100,
                "duration": to_int(package.get("duration")),
            }
        )
    return packages


def parse_gig(data: dict, url: str, summary: GigSummary | None = None) -> Listing | None:
    """The full listing of a gig page; None when the page carries no gig."""
    general = data.get("general") if isinstance(data.get("general"), dict) else {}
    gig_id = first(general.get("gigId"), summary and summary.gig_id)
    seller_name = first(clean_text(dig(data, "seller", "user", "name")).strip(), summary and summary.seller_name)
    title = first(clean_text(general.get("gigTitle")), clean_text(dig(data, "openGraph", "title")), summary and summary.title)
    if gig_id is None or not seller_name or not title:
        return None
    packages = _packages(data)
    prices = [p["price"] for p in packages if p["price"] is not None]
    faq = [
        {"question": clean_text(qa.get("question")), "answer": html_to_text(clean_text(qa.get("answer")))}
        for qa in dig(data, "faq", "questionsAndAnswers", default=[])
        if isinstance(qa, dict)
    ]
    tags = [clean_text(t.get("name")) for t in dig(data, "tags", "tagsGigList", default=[]) if isinstance(t, dict) and t.get("name")]
    images = [s.get("image_url") for s in dig(data, "gallery", "slides", default=[]) if isinstance(s, dict) and isinstance(s.get("image_url"), str)]
    return Listing(
        marketplace=MARKETPLACE,
        listing_id=str(gig_id),
        url=canonical_url(url),
        seller_id=seller_name,
        title=display_title(title),
        description=html_to_text(clean_text(dig(data, "description", "content"))),
        tags=tags,
        packages=packages,
        faq=faq,
        price=min(prices) if prices else (summary.price if summary else None),
        rating=to_float(first(dig(data, "reviews", "average_valuation"), summary and summary.rating)),
        rating_count=to_int(first(dig(data, "reviews", "total_count"), summary and summary.rating_count)),
        category=first(general.get("subCategoryName"), general.get("categoryName")),
        image_urls=images or ([summary.image_url] if summary and summary.image_url else []),
        fetched_at=utc_now(),
    )


def seller_from_gig(data: dict, base_url: str) -> Seller | None:
    """What a gig page says about its seller (the seller page says more)."""
    user = dig(data, "seller", "user", default={})
    name = clean_text(user.get("name")).strip() if isinstance(user, dict) else ""
    if not name:
        return None
    rating = dig(data, "seller", "rating", default={})
    return Seller(
        marketplace=MARKETPLACE,
        seller_id=name,
        profile_url=canonical_url(seller_url(base_url, name)),
        display_name=user.get("displayName"),
        country=user.get("country"),
        level=dig(data, "seller", "sellerLevel"),
        rating=to_float(rating.get("score")) if isinstance(rating, dict) else None,
        rating_count=to_int(rating.get("count")) if isinstance(rating, dict) else None,
        member_since=user.get("joinedAt"),
    )


def _gig_urls(data: Any) -> Iterator[str]:
    """Every `gig_url` anywhere in the JSON: the seller page layout was never seen saved."""
    if isinstance(data, dict):
        value = data.get("gig_url")
        if isinstance(value, str):
            yield value
        for child in data.values():
            yield from _gig_urls(child)
    elif isinstance(data, list):
        for child in data:
            yield from _gig_urls(child)


def parse_seller(data: dict, url: str) -> Seller | None:
    """A seller page: the profile and the canonical URLs of all their gigs."""
    seller = seller_from_gig(data, url)
    if seller is None:
        return None
    seller.profile_url = canonical_url(url)
    urls = dict.fromkeys(canonical_url(u, url) for u in _gig_urls(data))
    seller.listing_urls = list(urls)
    # Only a page that carries the seller's gig list can tell that a gig is gone.
    seller.listings_complete = isinstance(dig(data, "gigs", "gigs"), list)
    return seller


def page_kind(url: str) -> str:
    """Route a Fiverr URL by its path: search, category, gig, seller or other."""
    path = [p for p in urlsplit(url).path.split("/") if p]
    if path[:2] == ["search", "gigs"]:
        return "search"
    if path[:1] == ["categories"]:
        return "category"
    if len(path) == 2 and path[0] not in ("users", "search"):
        return "gig"
    if len(path) == 1:
        return "seller"
    return "other"

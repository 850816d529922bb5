"""SEOClerks page objects: service cards (search, category, user pages), service pages and user pages.

Cards follow the saved real markup (`li.listbitsep`); the service and user page markup was not
seen, so every field has fallbacks (h1 / og:title / card image alt, any `/user/` link)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urljoin, urlsplit

from parsel import Selector

from crawler.items import Listing, Seller, utc_now
from crawler.pages.common import canonical_url, clean_text, first, html_to_text, price, to_int

MARKETPLACE = "seoclerks"
# Review selling lives mostly here (marketplaces.md).
REVIEW_CATEGORIES = ("product-book-reviews", "reputation-management")
_SERVICE_PATH = re.compile(r"^/([^/]+)/(\d+)/([^/]+)/?$")


@dataclass
class ServiceCard:
    service_id: str
    url: str  # canonical
    title: str  # the full title (image alt); the link text is cut with "…"
    seller: str | None = None
    price: float | None = None
    snippet: str = ""
    positive: int | None = None
    negative: int | None = None
    level: str | None = None


@dataclass
class CardPage:
    cards: list[ServiceCard] = field(default_factory=list)
    next_url: str | None = None


def search_url(base_url: str, query: str, page: int = 1) -> str:
    # Not seen on the real site: our demo's search path.
    params = {"query": query, **({"page": str(page)} if page > 1 else {})}
    return urljoin(base_url + "/", "search?" + urlencode(params))


def category_url(base_url: str, category: str, page: int = 1) -> str:
    return urljoin(base_url + "/", f"categories/{quote(category)}" + (f"?page={page}" if page > 1 else ""))


def user_url(base_url: str, name: str) -> str:
    return urljoin(base_url + "/", "user/" + quote(name, safe=""))


def service_id(url: str) -> str | None:
    match = _SERVICE_PATH.match(urlsplit(url).path)
    return match.group(2) if match else None


def user_name(href: str | None) -> str | None:
    """`/user/<name>` -> name."""
    parts = [p for p in urlsplit(href or "").path.split("/") if p]
    return parts[1] if len(parts) >= 2 and parts[0] == "user" else None


def _rating(sel: Selector, label: str) -> str | None:
    return first(*(t.strip() for t in sel.css(f'span[data-original-title="{label}"] ::text').getall()))


def parse_cards(html: str | Selector, url: str) -> CardPage:
    """Service cards of a search, category or user page, and the next page link."""
    sel = html if isinstance(html, Selector) else Selector(text=html)
    page = CardPage()
    for li in sel.css("li.listbitsep"):
        link = first(li.css("div.h4bit a.listbit::attr(href)").get(), li.css("a.listbit::attr(href)").get(),
                     li.css("a::attr(href)").get())
        if not link:
            continue
        full = canonical_url(link, url)
        sid = service_id(full)
        if sid is None:
            continue
        title = first(clean_text(li.css("img::attr(alt)").get()).strip(),
                      clean_text(" ".join(li.css("a.listbit ::text").getall())).strip())
        page.cards.append(ServiceCard(
            service_id=sid, url=full, title=title or "",
            seller=user_name(li.css('a[href*="/user/"]::attr(href)').get()),
            price=price(" ".join(li.css("a.pull-right ::text").getall())),
            snippet=html_to_text(li.css("div.listview").get()),
            positive=to_int(_rating(li, "Positive Ratings")), negative=to_int(_rating(li, "Negative Ratings")),
            level=_rating(li, "User Level"),
        ))
    nxt = first(sel.css('a[rel="next"]::attr(href)').get(), sel.css("ul.pagination li.next a::attr(href)").get())
    page.next_url = urljoin(url, nxt) if nxt else None
    return page


def parse_service(html: str | Selector, url: str, card: ServiceCard | None = None) -> Listing | None:
    """A service page (our design where unseen); the card fills what the page lacks."""
    sel = html if isinstance(html, Selector) else Selector(text=html)
    sid = first(sel.css("[data-service-id]::attr(data-service-id)").get(), service_id(url), card and card.service_id)
    title = first(clean_text(" ".join(sel.css("h1 ::text").getall())).strip(),
                  clean_text(sel.css('meta[property="og:title"]::attr(content)').get()).strip(),
                  card and card.title)
    seller = first(user_name(sel.css('.seller-box a[href*="/user/"]::attr(href)').get()),
                   user_name(sel.css('a[href*="/user/"]::attr(href)').get()), card and card.seller)
    if not sid or not title or not seller:
        return None
    description = first(html_to_text(sel.css("div.service-description").get()),
                        html_to_text(sel.css('[itemprop="description"]').get()),
                        clean_text(sel.css('meta[name="description"]::attr(content)').get()),
                        card and card.snippet) or ""
    tags = [t.strip() for t in sel.css("a.service-tag::text, .tags a::text").getall() if t.strip()]
    positive_text, negative_text = _rating(sel, "Positive Ratings"), _rating(sel, "Negative Ratings")
    positive = to_int(positive_text) if positive_text else (card and card.positive)
    negative = to_int(negative_text) if negative_text else (card and card.negative)
    count = (positive or 0) + (negative or 0) if positive is not None or negative is not None else None
    category = first(sel.css("ol.breadcrumb a::text").get(), urlsplit(url).path.split("/")[1] if service_id(url) else None)
    return Listing(
        marketplace=MARKETPLACE, listing_id=str(sid), url=canonical_url(url), seller_id=seller, title=title,
        description=description, tags=tags,
        price=first(price(" ".join(sel.css(".service-price ::text").getall())), card and card.price),
        # Thumbs up share as a 5-point rating, so leads sort alike across marketplaces.
        rating=round(5 * positive / count, 2) if count else None, rating_count=count, category=category,
        image_urls=[urljoin(url, u) for u in sel.css("#service img::attr(src)").getall()], fetched_at=utc_now(),
    )


def parse_user(html: str | Selector, url: str) -> Seller | None:
    sel = html if isinstance(html, Selector) else Selector(text=html)
    name = first(user_name(url), clean_text(sel.css("h1.username::text").get()).strip())
    if not name:
        return None
    cards = parse_cards(sel, url).cards
    return Seller(
        marketplace=MARKETPLACE, seller_id=name, profile_url=canonical_url(url),
        display_name=first(clean_text(sel.css(".display-name::text").get()).strip(), None),
        country=first(clean_text(sel.css(".user-country::text").get()).strip(), None),
        member_since=first(clean_text(sel.css(".member-since::text").get()).strip(), None),
        listing_urls=[c.url for c in cards],
        # Whether a user page lists every service was never seen: do not infer removals from it.
        listings_complete=False,
    )


def page_kind(url: str) -> str:
    path = [p for p in urlsplit(url).path.split("/") if p]
    if path[:1] == ["search"] or path[:1] == ["categories"]:
        return "cards"
    if path[:1] == ["user"] and len(path) == 2:
        return "user"
    if service_id(url):
        return "service"
    return "other"


def seller_of(listing: Listing, base_url: str) -> Seller:
    """The little a service page says about its seller; the user page says more."""
    return Seller(marketplace=MARKETPLACE, seller_id=listing.seller_id,
                  profile_url=canonical_url(user_url(base_url, listing.seller_id)))

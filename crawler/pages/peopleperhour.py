"""PeoplePerHour page objects: Hourlie lists (`/hire-freelancers`), Hourlie pages, freelancer profiles.

Only the list URL and the job-page classes were seen on the real site; card and Hourlie markup
is read from several candidates (links to `/hourlie/…/<id>`, h1, JSON-LD Product, `div.price-tag`)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urljoin, urlsplit

from parsel import Selector

from crawler.items import Listing, Seller, utc_now
from crawler.pages.common import canonical_url, clean_text, dig, first, html_to_text, price, to_float

MARKETPLACE = "peopleperhour"
_HOURLIE_PATH = re.compile(r"^/hourlie/[^/]+/(\d+)/?$")


@dataclass
class HourliePage:
    urls: list[str] = field(default_factory=list)  # canonical Hourlie URLs, in page order
    next_url: str | None = None


def list_url(base_url: str, query: str | None = None, page: int = 1) -> str:
    params = {**({"q": query} if query else {}), **({"page": str(page)} if page > 1 else {})}
    return urljoin(base_url + "/", "hire-freelancers" + ("?" + urlencode(params) if params else ""))


def profile_url(base_url: str, name: str) -> str:
    return urljoin(base_url + "/", "freelancer/" + quote(name, safe=""))


def hourlie_id(url: str) -> str | None:
    match = _HOURLIE_PATH.match(urlsplit(url).path)
    return match.group(1) if match else None


def freelancer_name(href: str | None) -> str | None:
    """`/freelancer/<name>` (real profiles add a category segment before the name: take the last)."""
    parts = [p for p in urlsplit(href or "").path.split("/") if p]
    return parts[-1] if len(parts) >= 2 and parts[0] == "freelancer" else None


def _hourlie_urls(sel: Selector, url: str) -> list[str]:
    """Canonical URLs of the Hourlies linked from a page, once each, in page order."""
    # Any link to a Hourlie: the card markup was never seen saved.
    urls = [canonical_url(h, url) for h in sel.css('a[href*="/hourlie/"]::attr(href)').getall()]
    return [u for u in dict.fromkeys(urls) if hourlie_id(u)]


def parse_list(html: str | Selector, url: str) -> HourliePage:
    sel = html if isinstance(html, Selector) else Selector(text=html)
    nxt = first(sel.css('a[rel="next"]::attr(href)').get(), sel.css("li.next a::attr(href)").get())
    return HourliePage(urls=_hourlie_urls(sel, url), next_url=urljoin(url, nxt) if nxt else None)


def _json_ld(sel: Selector) -> dict:
    for raw in sel.css('script[type="application/ld+json"]::text').getall():
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        for obj in data if isinstance(data, list) else [data]:
            if isinstance(obj, dict) and obj.get("@type") in ("Product", "Service", "Offer"):
                return obj
    return {}


def parse_hourlie(html: str | Selector, url: str) -> Listing | None:
    sel = html if isinstance(html, Selector) else Selector(text=html)
    ld = _json_ld(sel)
    hid = first(hourlie_id(url), sel.css("[data-hourlie-id]::attr(data-hourlie-id)").get(), ld.get("productID"))
    title = first(clean_text(" ".join(sel.css("h1 ::text").getall())).strip(), clean_text(ld.get("name")).strip())
    seller = first(freelancer_name(sel.css('a.member-name::attr(href)').get()),
                   freelancer_name(sel.css('a[href*="/freelancer/"]::attr(href)').get()))
    if not hid or not title or not seller:
        return None
    description = first(html_to_text(sel.css("div.hourlie-description").get()),
                        html_to_text(sel.css("div.project-description").get()), clean_text(ld.get("description"))) or ""
    return Listing(
        marketplace=MARKETPLACE, listing_id=str(hid), url=canonical_url(url), seller_id=seller, title=title,
        description=description, tags=[t.strip() for t in sel.css("a.tag-item::text").getall() if t.strip()],
        price=first(price(" ".join(sel.css("div.price-tag ::text").getall())), to_float(dig(ld, "offers", "price"))),
        currency=first(dig(ld, "offers", "priceCurrency"), "USD"), fetched_at=utc_now(),
    )


def seller_of(html: str | Selector, listing: Listing, base_url: str) -> Seller:
    sel = html if isinstance(html, Selector) else Selector(text=html)
    return Seller(marketplace=MARKETPLACE, seller_id=listing.seller_id,
                  profile_url=canonical_url(profile_url(base_url, listing.seller_id)),
                  display_name=first(clean_text(sel.css("a.member-name::text").get()).strip(), None),
                  country=first(clean_text(sel.css(".member-location::text").get()).strip(), None))


def parse_profile(html: str | Selector, url: str) -> Seller | None:
    sel = html if isinstance(html, Selector) else Selector(text=html)
    name = first(freelancer_name(url), sel.css("[data-username]::attr(data-username)").get())
    if not name:
        return None
    return Seller(marketplace=MARKETPLACE, seller_id=name, profile_url=canonical_url(url),
                  display_name=first(clean_text(sel.css("h1::text").get()).strip(), None),
                  country=first(clean_text(sel.css(".member-location::text").get()).strip(), None),
                  listing_urls=_hourlie_urls(sel, url))


def page_kind(url: str) -> str:
    path = [p for p in urlsplit(url).path.split("/") if p]
    if path[:1] == ["hire-freelancers"]:
        return "list"
    if hourlie_id(url):
        return "hourlie"
    if path[:1] == ["freelancer"]:
        return "profile"
    return "other"

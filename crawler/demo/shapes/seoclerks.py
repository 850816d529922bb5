"""SEOClerks-shaped pages: `li.listbitsep` service cards, service pages, `/user/<name>` profiles.

Cards follow the saved real page (marketplaces.md). The search URL, the service page and the
user page were not seen: their markup here is our design, and the parser reads it tolerantly."""

from __future__ import annotations

from crawler.demo.shapes.catalog import ShapeCatalog
from crawler.demo.shapes.web import (ROBOTS, Reply, document, esc, int_arg, not_found, ok, page_of, paragraphs,
                                     slug_words, url)

PAGE_SIZE = 20


def service_path(item: dict) -> str:
    return f"/{item['category']}/{item['id']}/{slug_words(item['title'])}"


def _ratings(item: dict) -> tuple[int, int]:
    return 3 + item["id"] % 90, item["id"] % 3


def card(cat: ShapeCatalog, item: dict) -> str:
    title = item["title"]
    shown = title if len(title) <= 45 else title[:44] + "\u2026"
    pos, neg = _ratings(item)
    href = esc(service_path(item))
    return (
        f'<li class="listbitsep"><div class="listbit-img"><a href="{href}"><img src="/images/{item["id"]}.png" '
        f'alt="{esc(title)}"></a></div><div class="h4bit"><a class="listbit" href="{href}">{esc(shown)}</a></div>'
        f'<div class="listview">{esc(item["description"][:120])}</div>'
        f'<a class="pull-right" href="{href}">${item["price"]:g}</a>'
        f'<div class="listbit-user"><a href="/user/{esc(item["account"])}">{esc(item["account"])}</a> '
        f'<span data-original-title="Positive Ratings">{pos}</span> '
        f'<span data-original-title="Negative Ratings">{neg}</span> '
        f'<span data-original-title="User Level">{1 + item["id"] % 4}</span></div></li>'
    )


def listing_page(cat: ShapeCatalog, items: list[dict], page: int, heading: str, next_url: str | None) -> str:
    cards = "".join(card(cat, item) for item in items)
    pager = f'<ul class="pagination"><li><a rel="next" href="{esc(next_url)}">Next</a></li></ul>' if next_url else ""
    return document(heading, f'<h1>{esc(heading)}</h1><ul class="listbits">{cards}</ul>{pager}')


def service_page(cat: ShapeCatalog, item: dict) -> str:
    pos, neg = _ratings(item)
    acc = cat.accounts[item["account"]]
    tags = "".join(f'<a class="service-tag" href="{esc(url("/search", query=t))}">{esc(t)}</a>' for t in item["tags"])
    body = (
        f'<div id="service" data-service-id="{item["id"]}"><h1 class="service-title">{esc(item["title"])}</h1>'
        f'<ol class="breadcrumb"><li><a href="/categories/{esc(item["category"])}">{esc(item["category"])}</a></li></ol>'
        f'<span class="service-price">${item["price"]:g}</span>'
        f'<div class="service-description">{paragraphs(item["description"])}</div>'
        f'<div class="service-tags">{tags}</div>'
        f'<div class="seller-box"><a href="/user/{esc(acc["name"])}">{esc(acc["name"])}</a>'
        f'<span class="seller-country">{esc(acc["country"])}</span>'
        f'<span data-original-title="Positive Ratings">{pos}</span>'
        f'<span data-original-title="Negative Ratings">{neg}</span></div></div>'
    )
    return document(item["title"], body)


def user_page(cat: ShapeCatalog, acc: dict) -> str:
    cards = "".join(card(cat, item) for item in cat.by_account[acc["name"]])
    body = (f'<div id="profile"><h1 class="username">{esc(acc["name"])}</h1>'
            f'<div class="display-name">{esc(acc["display_name"])}</div>'
            f'<span class="user-country">{esc(acc["country"])}</span>'
            f'<span class="member-since">{esc(acc["member_since"])}</span>'
            f'<div class="user-bio">{esc(acc["bio"])}</div></div><ul class="listbits user-services">{cards}</ul>')
    return document(acc["name"], body)


def route(cat: ShapeCatalog, segments: list[str], qs: dict) -> Reply:
    if segments == ["robots.txt"]:
        return ok(ROBOTS, "text/plain; charset=utf-8")
    page = max(1, int_arg(qs, "page"))
    if not segments:
        return ok(document("SEOClerks demo", '<a href="/categories/product-book-reviews">Book reviews</a>'))
    if segments == ["search"]:
        query = qs.get("query", [""])[0]
        items, more = page_of(cat.search(query), page, PAGE_SIZE)
        nxt = url("/search", query=query, page=page + 1) if more else None
        return ok(listing_page(cat, items, page, f"Search: {query}", nxt))
    if len(segments) == 2 and segments[0] == "categories":
        items, more = page_of(cat.in_category(segments[1]), page, PAGE_SIZE)
        nxt = url(f"/categories/{segments[1]}", page=page + 1) if more else None
        return ok(listing_page(cat, items, page, segments[1], nxt))
    if len(segments) == 2 and segments[0] == "user" and segments[1] in cat.accounts:
        return ok(user_page(cat, cat.accounts[segments[1]]))
    if len(segments) == 3 and segments[1].isdigit():
        item = cat.by_id.get(int(segments[1]))
        if item and item["category"] == segments[0]:
            return ok(service_page(cat, item))
    return not_found()

"""PeoplePerHour-shaped pages: Hourlies listed at `/hire-freelancers?page=N`, Hourlie pages, freelancer profiles.

Only the listing URL and the job-page classes (`a.tag-item`, `div.price-tag`) were seen on the
real site; the Hourlie card and page markup here is our design (plus JSON-LD, which real
product pages commonly carry), and the parser reads both tolerantly."""

from __future__ import annotations

import json

from crawler.demo.generate import slugify
from crawler.demo.shapes.catalog import ShapeCatalog
from crawler.demo.shapes.web import ROBOTS, Reply, document, esc, int_arg, not_found, ok, page_of, paragraphs, url

PAGE_SIZE = 20


def hourlie_path(item: dict) -> str:
    return f"/hourlie/{slugify(item['title'], 60)}/{item['id']}"


def card(cat: ShapeCatalog, item: dict) -> str:
    acc = cat.accounts[item["account"]]
    return (f'<li class="hourlie-card" data-hourlie-id="{item["id"]}">'
            f'<a class="hourlie-card__title" href="{esc(hourlie_path(item))}">{esc(item["title"])}</a>'
            f'<a class="hourlie-card__seller" href="/freelancer/{esc(acc["name"])}">{esc(acc["display_name"])}</a>'
            f'<span class="hourlie-card__price">${item["price"]:g}</span></li>')


def list_page(cat: ShapeCatalog, query: str, page: int) -> str:
    items, more = page_of(cat.search(query), page, PAGE_SIZE)
    cards = "".join(card(cat, item) for item in items)
    pager = (f'<nav class="pagination"><a rel="next" href="{esc(url("/hire-freelancers", q=query, page=page + 1))}">Next</a></nav>'
             if more else "")
    return document("Hire freelancers", f'<h1>Hourlies</h1><ul class="hourlies">{cards}</ul>{pager}')


def hourlie_page(cat: ShapeCatalog, item: dict) -> str:
    acc = cat.accounts[item["account"]]
    ld = {"@context": "https://schema.org", "@type": "Product", "productID": str(item["id"]), "name": item["title"],
          "description": item["description"], "offers": {"@type": "Offer", "price": item["price"], "priceCurrency": "USD"},
          "brand": {"@type": "Person", "name": acc["display_name"]}}
    tags = "".join(f'<a class="tag-item" href="{esc(url("/hire-freelancers", q=t))}">{esc(t)}</a>' for t in item["tags"])
    body = (f'<script type="application/ld+json">{json.dumps(ld).replace("<", chr(92) + "u003c")}</script>'
            f'<div class="hourlie" data-hourlie-id="{item["id"]}"><h1>{esc(item["title"])}</h1>'
            f'<div class="price-tag">${item["price"]:g}</div>'
            f'<div class="hourlie-description">{paragraphs(item["description"])}</div><div class="tags">{tags}</div>'
            f'<div class="member-card"><a class="member-name" href="/freelancer/{esc(acc["name"])}">{esc(acc["display_name"])}</a>'
            f'<span class="member-location">{esc(acc["country"])}</span></div></div>')
    return document(item["title"], body)


def profile_page(cat: ShapeCatalog, acc: dict) -> str:
    links = "".join(f'<li><a href="{esc(hourlie_path(i))}">{esc(i["title"])}</a></li>' for i in cat.by_account[acc["name"]])
    body = (f'<div class="freelancer-profile" data-username="{esc(acc["name"])}"><h1>{esc(acc["display_name"])}</h1>'
            f'<span class="member-location">{esc(acc["country"])}</span><div class="about">{esc(acc["bio"])}</div>'
            f'<ul class="member-hourlies">{links}</ul></div>')
    return document(acc["display_name"], body)


def route(cat: ShapeCatalog, segments: list[str], qs: dict) -> Reply:
    if segments == ["robots.txt"]:
        return ok(ROBOTS, "text/plain; charset=utf-8")
    if not segments:
        return ok(document("PeoplePerHour demo", '<a href="/hire-freelancers">Hourlies</a>'))
    if segments == ["hire-freelancers"]:
        return ok(list_page(cat, qs.get("q", [""])[0], max(1, int_arg(qs, "page"))))
    if len(segments) == 3 and segments[0] == "hourlie" and segments[2].isdigit():
        item = cat.by_id.get(int(segments[2]))
        if item:
            return ok(hourlie_page(cat, item))
    if len(segments) == 2 and segments[0] == "freelancer" and segments[1] in cat.accounts:
        return ok(profile_page(cat, cat.accounts[segments[1]]))
    return not_found()

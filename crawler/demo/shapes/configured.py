"""Shapes of marketplaces turfwatch reads by configuration only (sites/*.yaml): HTML cards, embedded JSON, a table.

All three are invented site designs, so the configurable spider is shown on CSS, XPath and JSON paths."""

from __future__ import annotations

from crawler.demo.generate import slugify
from crawler.demo.shapes.catalog import ShapeCatalog
from crawler.demo.shapes.web import (ROBOTS, Reply, document, esc, int_arg, json_script, not_found, ok, page_of,
                                     paragraphs, url)

PAGE_SIZE = 12


def _common(segments: list[str]) -> Reply | None:
    if segments == ["robots.txt"]:
        return ok(ROBOTS, "text/plain; charset=utf-8")
    if not segments:
        return ok(document("demo", "<p>A marketplace.</p>"))
    return None


# --- gigbazaar: server-rendered cards, rel=next paging ------------------------------------

def _gig_path(item: dict) -> str:
    return f"/gig/{item['id']}-{slugify(item['title'], 50)}"


def gigbazaar(cat: ShapeCatalog, segments: list[str], qs: dict) -> Reply:
    if (reply := _common(segments)) is not None:
        return reply
    if segments == ["find"]:
        term, page = qs.get("term", [""])[0], max(1, int_arg(qs, "p"))
        items, more = page_of(cat.search(term), page, PAGE_SIZE)
        cards = "".join(f'<article class="gig-card"><h3><a class="gig-card__link" href="{esc(_gig_path(i))}">'
                        f'{esc(i["title"])}</a></h3><span class="by">{esc(i["account"])}</span></article>' for i in items)
        pager = f'<a rel="next" class="pager-next" href="{esc(url("/find", term=term, p=page + 1))}">more</a>' if more else ""
        return ok(document(f"Find {term}", f'<main class="results">{cards}</main>{pager}'))
    if len(segments) == 2 and segments[0] == "gig":
        item = cat.by_id.get(int(segments[1].split("-", 1)[0])) if segments[1].split("-", 1)[0].isdigit() else None
        if item:
            acc = cat.accounts[item["account"]]
            tags = "".join(f"<li>{esc(t)}</li>" for t in item["tags"])
            body = (f'<div class="gig" data-gig-id="{item["id"]}"><h1 class="gig-title">{esc(item["title"])}</h1>'
                    f'<meta itemprop="price" content="{item["price"]:g}"><section id="about">{paragraphs(item["description"])}</section>'
                    f'<ul class="tags">{tags}</ul><aside><a class="seller-name" href="/u/{esc(acc["name"])}">{esc(acc["display_name"])}</a>'
                    f'</aside></div>')
            return ok(document(item["title"], body))
    if len(segments) == 2 and segments[0] == "u" and segments[1] in cat.accounts:
        acc = cat.accounts[segments[1]]
        gigs = "".join(f'<li><a href="{esc(_gig_path(i))}">{esc(i["title"])}</a></li>' for i in cat.by_account[acc["name"]])
        body = (f'<div class="profile"><h2 class="profile-name">{esc(acc["display_name"])}</h2>'
                f'<span class="profile-country">{esc(acc["country"])}</span><p class="bio">{esc(acc["bio"])}</p>'
                f'<ul class="gigs">{gigs}</ul></div>')
        return ok(document(acc["display_name"], body))
    return not_found()


# --- taskhive: everything in one embedded JSON state ---------------------------------------

def taskhive(cat: ShapeCatalog, segments: list[str], qs: dict) -> Reply:
    if (reply := _common(segments)) is not None:
        return reply
    state = None
    if segments == ["search"]:
        q, page = qs.get("q", [""])[0], max(1, int_arg(qs, "page"))
        items, more = page_of(cat.search(q), page, PAGE_SIZE)
        state = {"search": {"query": q, "page": page,
                            "results": [{"id": i["id"], "title": i["title"], "url": f"/t/{i['id']}"} for i in items],
                            "next_url": url("/search", q=q, page=page + 1) if more else None}}
    elif len(segments) == 2 and segments[0] == "t" and segments[1].isdigit() and int(segments[1]) in cat.by_id:
        item = cat.by_id[int(segments[1])]
        acc = cat.accounts[item["account"]]
        state = {"task": {"id": item["id"], "title": item["title"], "body": item["description"], "labels": item["tags"],
                          "price": {"amount": item["price"], "currency": "USD"},
                          "owner": {"handle": acc["name"], "name": acc["display_name"], "country": acc["country"],
                                    "url": f"/p/{acc['name']}"}}}
    elif len(segments) == 2 and segments[0] == "p" and segments[1] in cat.accounts:
        acc = cat.accounts[segments[1]]
        state = {"profile": {"handle": acc["name"], "name": acc["display_name"], "country": acc["country"],
                             "since": acc["member_since"],
                             "tasks": [{"id": i["id"], "url": f"/t/{i['id']}"} for i in cat.by_account[acc["name"]]]}}
    if state is None:
        return not_found()
    return ok(document("TaskHive", '<div id="app">Loading…</div>' + json_script("__HIVE_STATE__", state)))


# --- servicebay: an old-style table, "more" link paging -------------------------------------

def servicebay(cat: ShapeCatalog, segments: list[str], qs: dict) -> Reply:
    if (reply := _common(segments)) is not None:
        return reply
    if segments == ["offers"]:
        kw, page = qs.get("keyword", [""])[0], max(1, int_arg(qs, "page"))
        items, more = page_of(cat.search(kw), page, PAGE_SIZE)
        rows = "".join(f'<tr class="offer"><td class="t"><a href="/offer/{i["id"]}">{esc(i["title"])}</a></td>'
                       f'<td class="who"><a href="/member/{esc(i["account"])}">{esc(i["account"])}</a></td>'
                       f'<td class="p">${i["price"]:g}</td></tr>' for i in items)
        more_link = f'<a class="more" href="{esc(url("/offers", keyword=kw, page=page + 1))}">More offers</a>' if more else ""
        return ok(document("Offers", f'<table class="offers">{rows}</table>{more_link}'))
    if len(segments) == 2 and segments[0] == "offer" and segments[1].isdigit() and int(segments[1]) in cat.by_id:
        item = cat.by_id[int(segments[1])]
        body = (f'<dl class="offer" id="offer-{item["id"]}"><dt>Title</dt><dd class="title">{esc(item["title"])}</dd>'
                f'<dt>Description</dt><dd class="text">{paragraphs(item["description"])}</dd>'
                f'<dt>Price</dt><dd class="price">${item["price"]:g}</dd>'
                f'<dt>Member</dt><dd class="member"><a href="/member/{esc(item["account"])}">{esc(item["account"])}</a></dd></dl>')
        return ok(document(item["title"], body))
    if len(segments) == 2 and segments[0] == "member" and segments[1] in cat.accounts:
        acc = cat.accounts[segments[1]]
        offers = "".join(f'<li><a href="/offer/{i["id"]}">{esc(i["title"])}</a></li>' for i in cat.by_account[acc["name"]])
        return ok(document(acc["name"], f'<h1>{esc(acc["name"])}</h1><ul class="offers">{offers}</ul>'))
    return not_found()

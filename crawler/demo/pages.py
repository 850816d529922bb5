"""Render demo pages in Fiverr's shapes: HTML with the data in a perseus-initial-props JSON script."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
import unicodedata
import uuid
from urllib.parse import quote, urlencode

from crawler.demo.content import PAGE_SIZE, Catalog

_NS = uuid.UUID("6f1c1a52-6d2e-4f57-9a49-0d8c6f0e2b11")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
CURRENCY = {"name": "USD", "rate": 1, "template": "${{amount}}", "forceRound": True, "forceRoundFromAmount": 1000, "symbol": "$"}
# 1x1 transparent PNG served for every gig image.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
ROBOTS_TXT = "User-agent: *\nDisallow: /users/\n"


def embed_json(obj) -> str:
    """JSON safe inside a <script> element: no "<", ">" or "&" can end it or open a comment."""
    text = json.dumps(obj, ensure_ascii=False)
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(ch, esc)
    return text


def esc(text) -> str:
    """Visible HTML text: escaped, control characters dropped (the JSON keeps them)."""
    return html.escape(_CONTROL_RE.sub("", str(text)))


def description_html(text: str) -> str:
    """Plain paragraphs to the HTML Fiverr serves: one <p> per blank-line paragraph, <br> for line breaks."""
    paras = [p for p in text.split("\n\n") if p.strip()]
    return "".join("<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paras)


def document(title: str, props: dict | None, body: str) -> str:
    script = ""
    if props is not None:
        script = f'<script type="application/json" id="perseus-initial-props">{embed_json(props)}</script>'
    return ("<!DOCTYPE html><html lang=\"en-US\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title></head><body>{body}{script}</body></html>")


def not_found() -> str:
    return document("Page not found | Fiverr demo", None, "<h1>404</h1><p>This page does not exist.</p>")


def home(total: int) -> str:
    return document("Fiverr demo", None,
                    f"<h1>Fiverr demo marketplace</h1><p>{total} gigs.</p>"
                    '<form action="/search/gigs"><input name="query"><input type="hidden" name="source" value="top-bar">'
                    '<input type="hidden" name="search_in" value="everywhere"><button>Search</button></form>')


def _tag_slug(tag: str) -> str:
    ascii_tag = unicodedata.normalize("NFKD", tag).encode("ascii", "ignore").decode().lower()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_tag)) or quote(tag, safe="")


def _short_title(gig: dict) -> str:
    return gig["title"].removeprefix("I will ")


def _image(base_url: str, gig: dict) -> str:
    return f"{base_url}/images/gigs/{gig['gig_id']}/main.png"


def _item(gig: dict, seller: dict, pos: int, base_url: str, funnel: str, query: str) -> dict:
    gid = gig["gig_id"]
    impression = str(uuid.uuid5(_NS, f"{query}|{gid}"))
    pkg = gig["packages"][0]
    recommended = {"id": pkg["id"], "extra_fast": False, "price": pkg["price"], "duration": pkg["duration"],
                   "price_tier": 0, "type": "cheapest"}
    item = {
        "gigId": gid, "pos": pos, "type": "promoted_gigs" if gig["promoted"] else None,
        "is_fiverr_choice": False, "packages": {"recommended": recommended},
        "sellerId": str(seller["seller_id"]),
        "gigQueryParams": {"context_type": "auto", "funnel": funnel, "ref": ""},
        "impressionId": impression, "gig_id": gid,
        "category_id": gig["category_id"], "sub_category_id": gig["sub_category_id"],
        "is_pro": gig["is_pro"], "is_featured": False,
        "cached_slug": gig["slug"], "title": _short_title(gig),
        "seller_name": seller["username"], "seller_id": seller["seller_id"],
        "seller_country": seller["country"],
        "seller_img": f"{base_url}/images/sellers/{seller['seller_id']}.png",
        "seller_display_name": seller["display_name"], "seller_online": gid % 3 == 0,
        "status": "APPROVED", "offer_consultation": False,
        "assets": [{"cloud_img_main_gig": _image(base_url, gig), "type": "ImageAsset", "id": f"{gid}_1"}],
        "seller_languages": [{"code": gig["lang"], "level": 4}],
        "buying_review_rating_count": gig["rating"]["count"], "buying_review_rating": gig["rating"]["score"],
        "seller_url": f"/{seller['username']}", "seller_level": seller["level"],
        "seller_rating": {"count": seller["rating"]["count"], "score": seller["rating"]["score"]},
        "gig_url": f"/{seller['username']}/{gig['slug']}", "is_seller_unavailable": False,
        "price_i": gig["price"], "package_i": pkg["id"], "extra_fast": False,
        "num_of_packages": len(gig["packages"]), "u_id": f"{gid}_0",
    }
    if gig["promoted"]:
        item["auction"] = {"id": str(uuid.uuid5(_NS, f"auction|{gid}"))}
    return item


def search_page(catalog: Catalog, query: str, page: int, base_url: str, host: str) -> str:
    hits = catalog.search(query)
    total = len(hits)
    offset = (page - 1) * PAGE_SIZE
    chunk = hits[offset:offset + PAGE_SIZE]
    has_more = offset + PAGE_SIZE < total
    funnel = hashlib.md5(f"funnel|{query}|{page}".encode()).hexdigest()
    ref_ctx = hashlib.md5(f"ref|{query}".encode()).hexdigest()
    items = [_item(g, catalog.sellers[g["seller"]], i, base_url, funnel, query) for i, g in enumerate(chunk)]
    raw_gigs = [{"pk_i": it["gigId"], "uuid": it["impressionId"], "position": it["pos"], "type": it["type"],
                 "packages": it["packages"], "seller_id": it["sellerId"]} for it in items]
    promoted = sum(1 for it in items if it["type"] == "promoted_gigs")
    props = {
        "listingQuery": query, "flow": "search", "flowName": "gigSearchFlow", "currency": CURRENCY,
        "countryCode": "US", "assumedLanguage": "en", "knownCrawler": False,
        "listingAttributes": {"id": funnel, "query": query, "activeFilters": {}, "sortBy": "auto",
                              "pageSize": PAGE_SIZE, "page": page, "offset": offset},
        "rawListingData": {"gigs": raw_gigs, "num_found": total,
                           "next_page_offset": offset + PAGE_SIZE if has_more else None,
                           "has_more": has_more},
        "appData": {"pagination": {"page": page, "offset": offset, "page_size": PAGE_SIZE, "total": total},
                    "sorting": {"sortBy": "auto"}, "user": {"loggedIn": False, "userCountry": "US"},
                    "flow": "search", "searchApiPath": "search", "baseUrl": host},
        "listings": [{"gigs": items, "context": {"pageCtxId": funnel, "refCtxId": ref_ctx, "currentPage": "Search",
                                                 "sourceComponent": "top-bar"}}],
        "tracking": {"filters": "", "numberOfResults": total, "page": page, "sort": "auto", "pageName": "Search",
                     "query": query, "hasPromotedGigs": promoted > 0, "promotedGigsCount": promoted},
        "seoData": {"seo": {"meta": {"meta_title": f"Fiverr / Search Results for '{query}'"}}},
        "items": items,
    }
    cards = []
    for it in items:
        params = urlencode({"context_referrer": "search_gigs", "source": "top-bar", "ref_ctx_id": ref_ctx,
                            "pos": it["pos"], "funnel": funnel, "imp_id": it["impressionId"]})
        cards.append(f'<div class="gig-card-layout"><a href="{esc(it["gig_url"])}?{esc(params)}">'
                     f'<img src="{esc(it["assets"][0]["cloud_img_main_gig"])}" alt=""><p>I will {esc(it["title"])}</p></a>'
                     f'<a href="{esc(it["seller_url"])}">{esc(it["seller_display_name"])}</a>'
                     f'<span class="price">From ${it["price_i"]}</span></div>')
    nav = ""
    if has_more:
        nxt = urlencode({"query": query, "source": "pagination", "search_in": "everywhere", "page": page + 1})
        nav = f'<nav class="pagination"><a rel="next" href="/search/gigs?{esc(nxt)}">Next</a></nav>'
    body = (f"<h1>Results for &quot;{esc(query)}&quot;</h1><p>{total} services available</p>"
            f'<div class="listing-container">{"".join(cards)}</div>{nav}')
    return document(f"Fiverr / Search Results for '{query}'", props, body)


def gig_page(catalog: Catalog, gig: dict, base_url: str) -> str:
    seller = catalog.sellers[gig["seller"]]
    desc_html = description_html(gig["description"])
    url = f"{base_url}/{seller['username']}/{gig['slug']}"
    props = {
        "general": {"gigId": gig["gig_id"], "gigTitle": gig["title"], "categoryName": gig["category_name"],
                    "subCategoryName": gig["sub_category_name"], "categoryId": gig["category_id"],
                    "subCategoryId": gig["sub_category_id"], "isPro": gig["is_pro"], "gigStatus": "approved"},
        "seller": _seller_block(seller),
        "description": {"content": desc_html},
        "reviews": {"average_valuation": gig["rating"]["score"], "total_count": gig["rating"]["count"], "reviews": []},
        "packages": {"packageList": [{"id": p["id"], "title": p["title"], "description": p["description"],
                                      "price": p["price"] * 100, "duration": p["duration"]} for p in gig["packages"]]},
        "tags": {"tagsGigList": [{"name": t, "slug": _tag_slug(t)} for t in gig["tags"]]},
        "faq": {"questionsAndAnswers": [{"question": f["question"], "answer": f["answer"]} for f in gig["faq"]]},
        "gallery": {"slides": [{"image_url": _image(base_url, gig), "type": "image"}]},
        "openGraph": {"title": gig["title"], "description": " ".join(gig["description"].split())[:200],
                      "url": url, "image": _image(base_url, gig)},
        "currency": CURRENCY,
    }
    packages = "".join(f'<li>{esc(p["title"])}: {esc(p["description"])} (${p["price"]}, {p["duration"]} days)</li>'
                       for p in gig["packages"])
    body = (f'<h1>{esc(gig["title"])}</h1><a class="seller-link" href="/{esc(seller["username"])}">'
            f'{esc(seller["display_name"])}</a><div class="description">{desc_html}</div><ul class="packages">{packages}</ul>')
    return document(f"{gig['title']} | Fiverr demo", props, body)


def _seller_block(seller: dict) -> dict:
    return {"user": {"id": seller["seller_id"], "name": seller["username"], "displayName": seller["display_name"],
                     "country": seller["country"], "joinedAt": seller["member_since"]},
            "sellerLevel": seller["level"],
            "rating": {"score": seller["rating"]["score"], "count": seller["rating"]["count"]}}


def seller_page(catalog: Catalog, seller: dict, base_url: str) -> str:
    gigs = catalog.by_seller[seller["username"]]
    block = _seller_block(seller)
    block["description"] = seller["description"]
    props = {
        "seller": block,
        "gigs": {"gigs": [{"gig_id": g["gig_id"], "title": _short_title(g), "gig_url": f"/{seller['username']}/{g['slug']}",
                           "price_i": g["price"], "cached_slug": g["slug"],
                           "image": _image(base_url, g)} for g in gigs]},
    }
    links = "".join(f'<li><a href="/{esc(seller["username"])}/{esc(g["slug"])}">{esc(g["title"])}</a></li>' for g in gigs)
    body = (f'<h1>{esc(seller["display_name"])}</h1><p class="username">@{esc(seller["username"])}</p>'
            f'<p class="bio">{esc(seller["description"])}</p><ul class="gigs">{links}</ul>')
    return document(f"{seller['display_name']} | Fiverr demo", props, body)

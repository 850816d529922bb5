"""Later "days" of the demo marketplace: gigs edited, removed and relisted, as a second crawl would see them."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from crawler.demo.content import Catalog


@dataclass
class DayChanges:
    """What changed since day 1, so tests and the demo can check what a crawl recorded."""

    edited: list[int] = field(default_factory=list)  # gig ids whose text or price changed
    removed: list[int] = field(default_factory=list)  # gig ids gone (404, off their seller page)
    relisted: list[tuple[int, int, str]] = field(default_factory=list)  # (old gig id, new gig id, new seller)


def _review_gigs_of_multi_sellers(catalog: Catalog) -> list[dict]:
    """Review gigs of sellers with two or more of them: their seller page survives a removal."""
    return [
        g for g in catalog.gigs
        if g["sells_reviews"] and sum(x["sells_reviews"] for x in catalog.by_seller[g["seller"]]) >= 2
    ]


def catalog_for_day(base: Catalog, day: int) -> tuple[Catalog, DayChanges]:
    """The catalog as it stands on `day` (1 = as shipped). Deterministic."""
    changes = DayChanges()
    if day <= 1:
        return base, changes
    sellers = copy.deepcopy(base.sellers)
    gigs = {g["gig_id"]: copy.deepcopy(g) for g in base.gigs}
    candidates = _review_gigs_of_multi_sellers(base)
    # Sellers reword and reprice offers between crawls...
    for gig in candidates[0:9:3]:
        edited = gigs[gig["gig_id"]]
        edited["description"] += "\n\nNew: drip-feed delivery over 14 days so nothing looks sudden."
        edited["price"] = edited["price"] + 5
        for package in edited["packages"]:
            package["price"] += 5
        changes.edited.append(gig["gig_id"])
    # ...take some down, leaving their other gigs up...
    removed_sellers = set()
    for gig in [g for g in candidates[1:12:3] if g["gig_id"] not in changes.edited]:
        if gig["seller"] in removed_sellers:
            continue
        removed_sellers.add(gig["seller"])
        del gigs[gig["gig_id"]]
        changes.removed.append(gig["gig_id"])
    # ...and one offer comes back under a fresh account with the same text.
    old = next(g for g in candidates[2:] if g["gig_id"] in gigs and g["seller"] not in removed_sellers
               and g["gig_id"] not in changes.edited)
    new_seller = copy.deepcopy(sellers[old["seller"]])
    new_seller["username"] = "fresh_start_" + str(new_seller["seller_id"] % 1000)
    new_seller["seller_id"] += 1
    new_seller["display_name"] = "Fresh Start"
    new_seller["member_since"] = "2026-11-01"
    new_seller["rating"] = {"score": 0, "count": 0}
    sellers[new_seller["username"]] = new_seller
    relist = copy.deepcopy(old)
    relist["gig_id"] = old["gig_id"] + 1_000_000
    relist["seller"] = new_seller["username"]
    relist["slug"] = old["slug"] + "-fast"
    relist["rating"] = {"score": 0, "count": 0}
    gigs[relist["gig_id"]] = relist
    del gigs[old["gig_id"]]
    changes.removed.append(old["gig_id"])
    changes.relisted.append((old["gig_id"], relist["gig_id"], new_seller["username"]))
    return Catalog(sellers, sorted(gigs.values(), key=lambda g: g["gig_id"])), changes

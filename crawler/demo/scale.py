"""A demo catalog replicated N times under new seller accounts: the same site shape, N times the crawl."""

from __future__ import annotations

from crawler.demo.content import Catalog

# Copies get ids far above the generated ones, so no copy collides with an original.
_ID_STEP = 1_000_000_000


def scale_catalog(catalog: Catalog, scale: int) -> Catalog:
    """The catalog plus `scale - 1` copies of every seller and gig (usernames `<name>-x<k>`)."""
    if scale <= 1:
        return catalog
    sellers = dict(catalog.sellers)
    gigs = list(catalog.gigs)
    for k in range(1, scale):
        for name, seller in catalog.sellers.items():
            sellers[f"{name}-x{k}"] = {**seller, "username": f"{name}-x{k}", "seller_id": seller["seller_id"] + k * _ID_STEP}
        gigs += [{**g, "gig_id": g["gig_id"] + k * _ID_STEP, "seller": f"{g['seller']}-x{k}"} for g in catalog.gigs]
    return Catalog(sellers, sorted(gigs, key=lambda g: g["gig_id"]))

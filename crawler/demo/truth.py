"""Ground truth of the demo marketplace: which sellers and gigs sell reviews, and lead scoring."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from crawler.demo.content import Catalog, load_catalog


@dataclass
class GroundTruth:
    review_sellers: set[str]
    all_sellers: set[str]
    gig_labels: dict[str, int]  # gig id (str) -> sells_reviews 0/1
    gig_category: dict[str, str]  # gig id (str) -> review_fabrication | incentivized_reviews | review_suppression | fake_engagement | none
    gig_seller: dict[str, str] = field(default_factory=dict)  # gig id (str) -> seller username
    side: str = "seller"  # "buyer" on a marketplace of buyer projects: review_sellers are then review buyers

    def score(self, lead_sellers: Iterable[str]) -> dict:
        leads = set(lead_sellers)
        found = leads & self.review_sellers
        innocent = leads - self.review_sellers  # unknown usernames are wrong leads too
        n, m = len(self.review_sellers), len(leads)
        return {
            "review_sellers": n,
            "found": len(found),
            "recall": len(found) / n if n else 0.0,
            "leads": m,
            "innocent_leads": len(innocent),
            "innocent_share": len(innocent) / m if m else 0.0,
            "missed": sorted(self.review_sellers - leads),
            "innocent": sorted(innocent),
        }


def truth_from_catalog(catalog: Catalog) -> GroundTruth:
    gigs = catalog.gigs
    return GroundTruth(
        review_sellers={g["seller"] for g in gigs if g["sells_reviews"]},
        all_sellers=set(catalog.sellers),
        gig_labels={str(g["gig_id"]): int(g["sells_reviews"]) for g in gigs},
        gig_category={str(g["gig_id"]): g["category"] for g in gigs},
        gig_seller={str(g["gig_id"]): g["seller"] for g in gigs},
    )


def load_truth(data_dir: str | Path | None = None) -> GroundTruth:
    """The ground truth without starting a server."""
    return truth_from_catalog(load_catalog(data_dir))

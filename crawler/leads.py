"""How much a seller looks like a review seller, from the flags on their listings."""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence


def lead_score(listing_scores: Sequence[float], categories: Collection[str], platforms: Collection[str]) -> float:
    """0..1: the strongest listing, raised by repetition, breadth of platforms and categories.

    One strong listing already makes a lead; more flagged listings, platforms
    and kinds of offer push it towards 1 with diminishing returns, so a seller
    with ten weak hits does not outrank one with a blatant offer by count alone."""
    if not listing_scores:
        return 0.0
    best = max(listing_scores)
    breadth = (len(listing_scores) - 1) + 0.5 * max(len(platforms) - 1, 0) + 0.5 * max(len(categories) - 1, 0)
    return round(best + (1 - best) * (1 - math.exp(-0.35 * breadth)), 4)

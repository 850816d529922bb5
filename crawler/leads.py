"""How much a seller looks like a review seller: one formula for the flagger and the store."""

from __future__ import annotations

from collections.abc import Collection, Iterable

# The triage states of a lead. Here, not in the store: the CLI offers them without loading sqlite-utils.
LEAD_STATUSES = ("new", "confirmed", "dismissed", "reported", "removed")


def lead_score(listing_scores: Iterable[float], categories: Collection[str], platforms: Collection[str]) -> float:
    """0..1 from the scores of a seller's flagged listings, the review categories and platforms they touch.

    One flagged listing scores its own listing score scaled to 0.6; each further
    flagged listing and each further platform or kind of offer adds independent
    weight, so a seller with many review gigs across platforms approaches 1,
    while ten weak hits never outrank a blatant offer by count alone."""
    scores = sorted(listing_scores, reverse=True)
    if not scores:
        return 0.0
    miss = 1.0 - 0.6 * scores[0]
    for s in scores[1:]:
        miss *= 1.0 - 0.25 * s
    miss *= 0.85 ** max(0, len(platforms) - 1)
    miss *= 0.9 ** max(0, len(categories) - 1)
    return round(1.0 - miss, 3)

"""Turn flags into a listing score and decision, and a seller's listings into a lead score."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from .rules import REVIEW_CATEGORIES

if TYPE_CHECKING:
    from .flagger import Flag, Judgement

DECISION_THRESHOLD = 0.5  # listing score at which a listing counts as selling reviews
PLATFORM_BONUS = 0.04  # per supporting cue that names a platform / account pool
SUPPORT_BONUS = 0.02


def flag_score(severity: float, support: Iterable[str]) -> float:
    """Rule severity, nudged up by each independent kind of supporting evidence."""
    support = set(support)
    bonus = PLATFORM_BONUS * bool(support & {"platform", "target"})
    bonus += SUPPORT_BONUS * len(support & {"fake_source", "fake_source_bare", "review_count", "stars_high",
                                            "stars_low", "incentive", "competitor", "negative"})
    return round(min(0.99, severity + bonus), 3)


def listing_score(flags: Iterable["Flag"]) -> float:
    """Noisy-OR over the best flag of each rule in the review categories (fake_engagement never counts)."""
    best: dict[str, float] = {}
    for f in flags:
        if f.category in REVIEW_CATEGORIES:
            best[f.rule_id] = max(best.get(f.rule_id, 0.0), f.score)
    miss = 1.0
    for s in best.values():
        miss *= 1.0 - s
    return round(1.0 - miss, 3)


def sells_reviews(score: float) -> bool:
    return score >= DECISION_THRESHOLD


def seller_lead_score(judgements: Iterable["Judgement"]) -> float:
    """0..1 lead strength for one seller: worst listing, how many listings sell reviews, how many platforms.

    One flagged listing scores its own listing score scaled to 0.6; each further
    flagged listing and each further platform targeted adds independent weight,
    so a seller with many review gigs across platforms approaches 1.
    """
    scores: list[float] = []
    platforms: set[str] = set()
    categories: set[str] = set()
    for j in judgements:
        if j.sells_reviews:
            scores.append(j.score)
            platforms |= set(j.platforms)
            categories |= set(j.categories) & REVIEW_CATEGORIES
    if not scores:
        return 0.0
    scores.sort(reverse=True)
    miss = 1.0 - 0.6 * scores[0]
    for s in scores[1:]:
        miss *= 1.0 - 0.25 * s
    miss *= 0.85 ** max(0, len(platforms) - 1)
    miss *= 0.9 ** max(0, len(categories) - 1)
    return round(1.0 - miss, 3)

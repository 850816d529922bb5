"""Turn flags into a listing score and decision, and a seller's listings into a lead score."""
from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from crawler.leads import lead_score

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
    """0..1 lead strength for one seller from the judgements of their listings (formula in crawler.leads)."""
    flagged = [j for j in judgements if j.sells_reviews]
    platforms = set().union(*(j.platforms for j in flagged))
    categories = set().union(*(j.categories for j in flagged)) & REVIEW_CATEGORIES
    return lead_score([j.score for j in flagged], categories, platforms)

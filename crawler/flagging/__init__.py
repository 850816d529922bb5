"""Flag marketplace listings that sell fake, incentivized or suppressed reviews (rules in rules/*.yaml)."""
from .flagger import Flag, Flagger, Judgement, get_flagger, listing_fields
from .rules import CATEGORIES, REVIEW_CATEGORIES, Rule
from .score import seller_lead_score

__all__ = ["Flag", "Flagger", "Judgement", "get_flagger", "seller_lead_score", "listing_fields", "Rule",
           "CATEGORIES", "REVIEW_CATEGORIES"]

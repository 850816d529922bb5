"""Flag marketplace listings that sell fake, incentivized or suppressed reviews (rules in rules/*.yaml)."""
from .rules import CATEGORIES, REVIEW_CATEGORIES, Rule
from .score import seller_lead_score

# The flagger imports spaCy (most of a second): loaded on first use, so commands that
# never flag (`turfwatch leads`, `runs`, `export`) start at once.
_FLAGGER_NAMES = {"Flag", "Flagger", "Judgement", "get_flagger", "listing_fields"}


def __getattr__(name: str):
    if name in _FLAGGER_NAMES:
        from . import flagger

        return getattr(flagger, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["Flag", "Flagger", "Judgement", "get_flagger", "seller_lead_score", "listing_fields", "Rule",
           "CATEGORIES", "REVIEW_CATEGORIES"]

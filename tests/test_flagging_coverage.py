"""Coverage pass driven by the labeling guide: phrasing classes the rules must generalise over, in several languages."""
import pytest

from crawler.flagging import get_flagger

POSITIVE = [
    "I will review your product on Amazon",  # the verb "review" with the buyer's thing and a platform
    "Valuterò il tuo ristorante su TripAdvisor",
    "Positive reviews for your restaurant",  # noun-phrase title, no platform
    "Valoraciones de 5 estrellas para tu app en Google Play",
    "Avis Google 5 étoiles pour votre entreprise",  # Romance word order: review noun before the platform
    "Comprare recensioni Google per il tuo negozio",
    "I will make those reviews disappear",  # removal with neither platform nor "negative"
    "Bewertungen löschen lassen",
    "Supprimer des avis",
    "Suppression d'avis négatifs sur Google",  # elided article
    "avaliaç0es no Google para seu negócio",  # digit for a letter with the accent lost
    "GMB reviews",  # seller shorthand
    "G-reviews for local biz",
    "Trustpilot reviews | 5★ | non drop",  # title split by bars
    "I will write fake reviews",
    "Cerco persone che lascino recensioni a 5 stelle sul mio profilo Google",  # buyer's post
    {"title": "I will optimize your Google Business Profile",
     "description": "Premium package: optimization plus 20 five-star reviews."},  # review offer in a package
    {"title": "Creazione negozio", "packages": [{"title": "Premium", "description": "Negozio + 20 recensioni a 5 stelle"}]},
    "Nettoyage de vos avis négatifs",  # cleaning nouns as removal
    "Sbarazzati delle recensioni a 1 stella",  # reflexive "get rid of"
    "🌟🌟🌟🌟🌟 Google Maps",  # star glyphs for a platform, no review word
]

NEGATIVE = [
    "I will contact buyers who left negative feedback and resolve their issues",
    "Ich übersetze Ihre App Store Bewertungen",
    "I will optimize your Amazon listing to get more positive reviews",
    "I will teach you how to get more 5 star reviews on Google",
    "I will review your Amazon listing and give actionable feedback",
    "I will remove the reviews section from your Shopify theme",
    "⭐⭐⭐⭐⭐ Quality Facebook Page Likes - 2000",  # engagement only
    "I will build a Yelp clone with reviews and ratings",  # development work
    "Suche jemanden, der auf unsere Google Bewertungen antwortet",  # buyer wants replies
    {"title": "I will optimize your google business profile for local seo",
     "description": "2000 positive reviews and counting. Your satisfaction is my priority."},
]


def _listing(x):
    return x if isinstance(x, dict) else {"title": x}


@pytest.mark.parametrize("listing", POSITIVE, ids=str)
def test_coverage_positive(listing):
    assert get_flagger().judge(_listing(listing)).sells_reviews


@pytest.mark.parametrize("listing", NEGATIVE, ids=str)
def test_coverage_negative(listing):
    assert not get_flagger().judge(_listing(listing)).sells_reviews

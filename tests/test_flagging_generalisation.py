"""Phenomena the rules must generalise over (seller phrasing not in the dev set), in several languages."""
import pytest

from crawler.flagging import get_flagger

POSITIVE = [
    "I will post 10 r*v*e*w*s on your amazon product",  # several masks in one word
    "Te dejo r3señas positivas en tu ficha de G00gle",  # leet inside a non-English word
    "I will add 15 G.M.B. reviews to your business",  # dotted initialism, no clause break
    "T.P. r3vs for your shop - 20 pack",
    "I will boost your TP score with 5 star ratings",  # weak alias before a score word
    "I will publish customer experiences on TP from different UK and US profiles",  # weak alias after "on"
    "Ik laat negatieve reviews verdwijnen van uw bedrijf",  # removal without a platform
    "Valoraciones de 5 estrellas en TripAdvisor para tu restaurante",  # stars on a platform
    "5 stelle su Google per la tua attività da profili diversi",
    "Customers get a coupon code after they post a 5-star review on your Google listing",  # review gating
    "Vos clients reçoivent une remise de 10% s'ils laissent un avis 5 étoiles sur Google",
    "I will post honest words on your listing from real USA profiles",  # euphemism + pool, no platform
    "Testimonials written by our team for your Trustpilot page",  # seller-authored
    "Reseñas de Google permanentes para tu negocio, reposición gratis",  # retention promise
]

NEGATIVE = [
    "Extract business name, phone, website, rating and all Google Maps reviews for any keyword",  # data work
    "I review your Google reviews for policy violations and submit removal requests through Google",
    "Gestirò e risponderò alle recensioni su TripAdvisor e Google",  # replying
    "Beantwortung Ihrer Google Bewertungen, freundlich und professionell",
    "I will review your Shopify store and send conversion feedback on your checkout",  # CRO critique
    "I will add aggregate rating schema so gold stars show in Google results for your website",  # tooling
    "Klaviyo flows for your store - welcome discount, abandoned cart and review request emails",
    "I will replace your old review app with Judge.me and keep all existing reviews",
    "I will write 5 star product descriptions for your Etsy shop",
]


@pytest.mark.parametrize("text", POSITIVE)
def test_generalised_positive(text):
    assert get_flagger().judge({"title": text}).sells_reviews


@pytest.mark.parametrize("text", NEGATIVE)
def test_generalised_negative(text):
    assert not get_flagger().judge({"title": text}).sells_reviews

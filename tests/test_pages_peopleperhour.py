"""PeoplePerHour page objects on saved pages: Hourlie lists, Hourlie pages (HTML and JSON-LD), profiles."""

from pathlib import Path

from crawler.pages import peopleperhour as pages

FIX = Path(__file__).parent / "fixtures" / "peopleperhour"
BASE = "https://www.peopleperhour.com"


def test_list_page_links_and_next():
    page = pages.parse_list((FIX / "hire-freelancers.html").read_text(), BASE + "/hire-freelancers?q=reviews")
    assert page.urls and all(pages.hourlie_id(u) for u in page.urls)
    assert len(page.urls) == len(set(page.urls))


def test_hourlie_page_becomes_a_listing():
    listing = pages.parse_hourlie((FIX / "hourlie-page.html").read_text(), BASE + "/hourlie/write-and-post/135012")
    assert listing.listing_id == "135012" and listing.seller_id == "maya_fivestar"
    assert listing.title.startswith("Write and post") and "Trustpilot" in listing.description
    assert listing.price and listing.tags


def test_hourlie_read_from_json_ld_when_the_markup_differs():
    html = """<html><head><script type="application/ld+json">{"@type": "Product", "productID": "42", "name": "Get reviews",
      "description": "Five star reviews on Google from local guides", "offers": {"price": 30, "priceCurrency": "GBP"}}</script></head>
      <body><a href="/freelancer/marketing/jane-doe-seo">Jane</a></body></html>"""
    listing = pages.parse_hourlie(html, BASE + "/hourlie/get-reviews/42")
    assert (listing.title, listing.seller_id, listing.price, listing.currency) == ("Get reviews", "jane-doe-seo", 30.0, "GBP")
    assert listing.description.startswith("Five star")


def test_profile_lists_hourlies():
    seller = pages.parse_profile((FIX / "freelancer-profile.html").read_text(), BASE + "/freelancer/maya_fivestar")
    assert seller.seller_id == "maya_fivestar" and seller.display_name == "Maya R." and seller.listing_urls


def test_list_url_pages():
    assert pages.list_url(BASE) == BASE + "/hire-freelancers"
    assert pages.list_url(BASE, None, 3) == BASE + "/hire-freelancers?page=3"
    assert pages.list_url(BASE, "google reviews", 2) == BASE + "/hire-freelancers?q=google+reviews&page=2"

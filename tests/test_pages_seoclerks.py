"""SEOClerks page objects on saved pages: cards (the real 2017 card shape), service and user pages."""

from pathlib import Path

from crawler.pages import seoclerks as pages

FIX = Path(__file__).parent / "fixtures" / "seoclerks"
BASE = "https://www.seoclerks.com"

# The card shape of the saved real home page, with its quirks: cut title, alt holds the full one.
REAL_CARD = """<ul><li class="listbitsep"><div class="h4bit"><a class="listbit"
 href="/Reviews/123456/Amazon-Reviews">I will post 10 Amazon reviews for your book and…</a></div>
 <a href="/Reviews/123456/Amazon-Reviews"><img alt="I will post 10 Amazon reviews for your book and Goodreads too"></a>
 <div class="listview">Verified looking <b>reviews</b> from different accounts</div>
 <a class="pull-right" href="/Reviews/123456/Amazon-Reviews">$7</a>
 <a href="https://www.seoclerks.com/user/bookstar">bookstar</a>
 <span data-original-title="Positive Ratings"> 41 </span><span data-original-title="Negative Ratings">2</span>
 <span data-original-title="User Level">3</span></li>
 <li class="listbitsep"><div class="h4bit">no link here</div></li></ul>"""


def test_real_card_shape_reads_full_title_price_seller_and_ratings():
    page = pages.parse_cards(REAL_CARD, BASE + "/")
    (card,) = page.cards  # the broken card is skipped, not a crash
    assert card.service_id == "123456" and card.url == BASE.lower() + "/Reviews/123456/Amazon-Reviews"
    assert card.title.endswith("Goodreads too") and card.price == 7.0 and card.seller == "bookstar"
    assert (card.positive, card.negative, card.level) == (41, 2, "3")
    assert "reviews" in card.snippet


def test_category_page_cards_and_next_link():
    page = pages.parse_cards((FIX / "category-page.html").read_text(), BASE + "/categories/reputation-management")
    assert len(page.cards) >= 10 and len({c.service_id for c in page.cards}) == len(page.cards)
    assert all(c.seller and c.title and c.price for c in page.cards)
    assert all("…" not in c.title for c in page.cards), "full titles come from the image alt"


def test_service_page_becomes_a_listing():
    url = BASE + "/reputation-management/999/Some-Slug"
    listing = pages.parse_service((FIX / "service-page.html").read_text(), url)
    assert listing.marketplace == "seoclerks" and listing.seller_id == "fivestarmaya"
    assert listing.title.startswith("I will") and len(listing.description) > 100 and listing.tags
    assert listing.price and listing.rating_count and listing.side == "seller"
    assert listing.url == "https://www.seoclerks.com/reputation-management/999/Some-Slug"


def test_service_page_falls_back_to_the_card():
    card = pages.ServiceCard("77", BASE + "/x/77/Y", "Card title", seller="someone", price=5.0, snippet="Snippet text")
    listing = pages.parse_service("<html><body><p>redesigned</p></body></html>", BASE + "/x/77/Y", card)
    assert (listing.listing_id, listing.title, listing.seller_id, listing.description, listing.price) == (
        "77", "Card title", "someone", "Snippet text", 5.0)
    assert pages.parse_service("<html></html>", BASE + "/about") is None


def test_user_page_lists_the_services():
    seller = pages.parse_user((FIX / "user-page.html").read_text(), BASE + "/user/fivestarmaya")
    assert seller.seller_id == "fivestarmaya" and seller.display_name and seller.country
    assert seller.listing_urls and all("/user/" not in u for u in seller.listing_urls)
    assert seller.listings_complete is False


def test_routing():
    assert pages.page_kind(BASE + "/search?query=x") == "cards"
    assert pages.page_kind(BASE + "/categories/product-book-reviews") == "cards"
    assert pages.page_kind(BASE + "/user/bob") == "user"
    assert pages.page_kind(BASE + "/Reviews/1/X") == "service"
    assert pages.page_kind(BASE + "/help") == "other"

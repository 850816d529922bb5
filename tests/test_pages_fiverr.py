"""Fiverr page objects against the real saved search page, the real challenge page and gig/seller shapes."""

from __future__ import annotations

import copy

import pytest
from parsel import Selector
from scrapy.http import HtmlResponse

from crawler.blocks import challenge_vendor
from crawler.pages import fiverr
from crawler.pages.common import canonical_url, html_to_text
from tests.conftest import wrap_props

BASE = "https://www.fiverr.com"


def test_real_search_page_gives_all_48_gigs(real_search_props):
    html = wrap_props(real_search_props)
    page = fiverr.parse_search(fiverr.props(html), BASE)
    assert len(page.gigs) == 48
    assert page.page == 1 and page.page_size == 48 and page.total == 215759 and page.has_more
    ids = [g.gig_id for g in page.gigs]
    # Promoted slots repeat gigs that also rank organically on the same page.
    assert len(set(ids)) == 45
    assert {g.gig_id for g in page.gigs if not g.promoted} | {g.gig_id for g in page.gigs if g.promoted} == set(ids)
    first = page.gigs[0]
    assert first.gig_id == "384419107"
    assert first.title == "I will build custom website as full stack website developer, website development"
    assert first.seller_name == "code_minds"
    assert first.price == 100.0
    assert first.rating == 5.0 and first.rating_count == 618
    assert first.url == f"{BASE}/code_minds/rebuild-website-development-website-builder-full-stack-front-end-web-developer"
    assert first.promoted
    for gig in page.gigs:
        assert gig.title.startswith("I will ") and len(gig.title) > len("I will ")
        assert gig.seller_name and gig.price and gig.price > 0
        assert gig.url.startswith(f"{BASE}/{gig.seller_name}/") and "?" not in gig.url
        assert gig.rating is None or 0 <= gig.rating <= 5


def test_older_layout_listings_gigs_is_read(real_search_props):
    data = copy.deepcopy(real_search_props)
    data.pop("items")
    page = fiverr.parse_search(data, BASE)
    assert len(page.gigs) == 48


def test_search_page_with_missing_keys_does_not_raise():
    data = {"items": [{"gig_id": 1}, {"gig_id": 2, "seller_name": "a", "gig_url": "/a/b", "price_i": None}, "junk", None]}
    page = fiverr.parse_search(data, BASE)
    assert [g.gig_id for g in page.gigs] == ["2"]
    assert page.total is None and not page.has_more


def test_empty_last_page_has_no_more():
    page = fiverr.parse_search({"items": [], "rawListingData": {"has_more": True}}, BASE)
    assert page.gigs == [] and not page.has_more


def test_challenge_page_is_recognised_as_a_block(challenge_page):
    assert challenge_vendor(403, challenge_page) == "perimeterx"
    # ...and it has no listing JSON, which is exactly why it must not be read as "no results".
    assert fiverr.props(challenge_page.decode("utf-8")) is None


def test_ordinary_pages_are_not_blocks(real_search_props):
    assert challenge_vendor(200, wrap_props(real_search_props).encode()) is None
    assert challenge_vendor(200, b"<p>I will solve any captcha for you</p>") is None


@pytest.mark.parametrize(
    "url, canonical",
    [
        (f"{BASE}/code_minds/some-gig?context_referrer=search_gigs&pos=3&funnel=abc&imp_id=9", f"{BASE}/code_minds/some-gig"),
        ("https://WWW.Fiverr.com/code_minds/some-gig/#reviews", f"{BASE}/code_minds/some-gig"),
        ("/seller/gig?ref_ctx_id=1", f"{BASE}/seller/gig"),
    ],
)
def test_canonical_gig_url_drops_tracking(url, canonical):
    assert canonical_url(url, BASE) == canonical


def test_huge_urls_are_canonical_but_not_remembered():
    """URLs are remembered (a crawl meets most twice or more), but not the huge ones a page may hold."""
    from crawler.pages import common

    huge = f"/seller/{'x' * 100_000}?pos=1"
    before = common.canonical_url.cache_info().currsize
    assert canonical_url(huge, BASE) == f"{BASE}/seller/{'x' * 100_000}"
    assert common.canonical_url.cache_info().currsize == before
    assert canonical_url("/seller/gig-only-here?pos=2", BASE) == f"{BASE}/seller/gig-only-here"
    assert common.canonical_url.cache_info().currsize == before + 1


GIG_PAGE = {
    "general": {"gigId": 77, "gigTitle": "I will write <b>stuff</b>", "subCategoryName": "Articles"},
    "seller": {"user": {"id": 5, "name": "writer_1", "displayName": "W", "country": "DE", "joinedAt": "2020-01-01"},
               "sellerLevel": "level_one_seller", "rating": {"score": 4.9, "count": 12}},
    "description": {"content": "<p>First &amp; best.</p><p>Second<br>line</p>"},
    "reviews": {"average_valuation": 4.8, "total_count": 11},
    "packages": {"packageList": [{"title": "Basic", "description": "one", "price": 1500, "duration": 2},
                                  {"title": "Pro", "description": "three", "price": 4500, "duration": 5}]},
    "tags": {"tagsGigList": [{"name": "articles"}, {"name": "blog"}]},
    "faq": {"questionsAndAnswers": [{"question": "Q?", "answer": "<p>A.</p>"}]},
    "gallery": {"slides": [{"image_url": "https://img/1.png"}]},
}


def test_gig_page_to_listing():
    listing = fiverr.parse_gig(GIG_PAGE, f"{BASE}/writer_1/write-stuff?pos=2")
    assert listing.listing_id == "77" and listing.seller_id == "writer_1"
    assert listing.url == f"{BASE}/writer_1/write-stuff"
    assert listing.title == "I will write <b>stuff</b>"  # kept verbatim: escaping is the output's job
    assert listing.description == "First & best.\nSecond\nline"
    assert listing.packages[0] == {"title": "Basic", "description": "one", "price": 15.0, "duration": 2}
    assert listing.price == 15.0 and listing.rating == 4.8 and listing.rating_count == 11
    assert listing.tags == ["articles", "blog"] and listing.faq == [{"question": "Q?", "answer": "A."}]
    seller = fiverr.seller_from_gig(GIG_PAGE, BASE)
    assert seller.seller_id == "writer_1" and seller.country == "DE" and seller.profile_url == f"{BASE}/writer_1"


def test_gig_page_without_gig_is_none():
    assert fiverr.parse_gig({"general": {}}, f"{BASE}/a/b") is None
    assert fiverr.parse_gig({"general": {"gigId": 1, "gigTitle": None}, "seller": "x"}, f"{BASE}/a/b") is None


def test_seller_page_lists_every_gig_url():
    data = {
        "seller": {"user": {"name": "writer_1"}},
        "gigs": {"gigs": [{"gig_url": "/writer_1/a?pos=1"}, {"gig_url": "/writer_1/b"}, {"gig_url": "/writer_1/a"}]},
    }
    seller = fiverr.parse_seller(data, f"{BASE}/writer_1")
    assert seller.listing_urls == [f"{BASE}/writer_1/a", f"{BASE}/writer_1/b"]


def test_seller_url_is_quoted():
    assert fiverr.seller_url(BASE, "../../etc/passwd?x") == f"{BASE}/..%2F..%2Fetc%2Fpasswd%3Fx"


@pytest.mark.parametrize(
    "url, kind",
    [
        (f"{BASE}/search/gigs?query=x", "search"),
        (f"{BASE}/categories/online-marketing/seo", "category"),
        (f"{BASE}/someone/some-gig", "gig"),
        (f"{BASE}/someone", "seller"),
        (f"{BASE}/users/someone/portfolio", "other"),
    ],
)
def test_page_kind(url, kind):
    assert fiverr.page_kind(url) == kind


def test_html_to_text_handles_junk():
    assert html_to_text(None) == ""
    assert html_to_text("<script>alert(1)</script><style>p{}</style><p>a &lt;b&gt;</p>") == "a <b>"


def test_props_from_scrapy_response(real_search_props):
    response = HtmlResponse(url=f"{BASE}/search/gigs?query=x", body=wrap_props(real_search_props).encode(), encoding="utf-8")
    assert fiverr.props(response.text)["listingQuery"] == "custom website development"


def test_start_urls_are_routed_by_page_kind(tmp_path):
    """A start URL may be any Fiverr page: a seller page given alone still yields that seller's listings."""
    import sqlite3
    import subprocess
    import sys

    from crawler.demo import DemoMarketplace

    with DemoMarketplace() as demo:
        seller = sorted(demo.truth.review_sellers)[0]
        db = tmp_path / "r.db"
        result = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "crawl", "fiverr", "--base-url", demo.base_url, "--db", str(db),
             "-a", f"start_urls={demo.base_url}/{seller}", "-a", "queries=zzzqqq",
             "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "TURFWATCH_PROGRESS_INTERVAL=0"],
            capture_output=True, text=True, timeout=300,
        )
        expected = len(demo.catalog.by_seller[seller])
    assert result.returncode in (0, 3), result.stderr[-2000:]
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT COUNT(*) FROM listings WHERE seller_id = ?", [seller]).fetchone()[0]
    assert stored == expected > 0


@pytest.mark.parametrize(
    "html",
    [
        '<SCRIPT type="application/json" ID="perseus-initial-props">{"a": 1}</SCRIPT>',
        "<script id='perseus-initial-props' type='application/json'>{\"a\": 1}</script>",
        '<script>var x = "perseus-initial-props";</script><script id=perseus-initial-props>{"a": 1}</script>',
    ],
)
def test_embedded_json_finds_the_script_however_it_is_written(html):
    from crawler.pages.common import embedded_json

    assert embedded_json(html, "perseus-initial-props") == {"a": 1}
    assert embedded_json(Selector(text=html), "perseus-initial-props") == {"a": 1}

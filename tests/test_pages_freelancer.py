"""Freelancer.com API page objects on saved replies: both envelopes, a buyer's project, its owner."""

import json
from pathlib import Path

from crawler.pages import freelancer as pages

FIX = Path(__file__).parent / "fixtures" / "freelancer"
BASE = "https://www.freelancer.com"


def load(name):
    return json.loads((FIX / name).read_text())


def test_projects_under_result_or_bare():
    data = load("projects-active.json")
    nested = pages.parse_projects(data)
    bare = pages.parse_projects({"projects": data["result"]["projects"]})
    assert len(nested.projects) == 5 and nested.total >= 5
    assert [p["id"] for p in bare.projects] == [p["id"] for p in nested.projects] and bare.total is None
    assert pages.parse_projects(None).projects == [] and pages.parse_projects({"result": []}).projects == []


def test_project_is_a_buyer_listing():
    project = pages.project_of(load("project.json"))
    listing = pages.parse_project(project, BASE)
    assert listing.side == "buyer" and listing.seller_id == str(project["owner_id"])
    assert listing.url == BASE + "/projects/" + project["seo_url"]
    assert listing.title == project["title"] and listing.description and listing.tags
    assert listing.price == project["budget"]["minimum"] and listing.currency == "USD"
    # A reply without `result` around the project is read too.
    assert pages.parse_project(pages.project_of(project), BASE).listing_id == listing.listing_id


def test_user_reply_becomes_the_buyer_account():
    seller = pages.parse_user(load("user.json"), BASE)
    assert seller.seller_id.isdigit() and seller.display_name and seller.country
    assert seller.profile_url.startswith(BASE + "/u/") and seller.member_since.endswith("Z")


def test_urls():
    url = pages.search_url(BASE, "amazon reviews", 50, 100)
    assert url.startswith(BASE + "/api/projects/0.1/projects/active/?query=amazon+reviews&limit=50&offset=100")
    assert pages.user_api_url(BASE, 7) == BASE + "/api/users/0.1/users/7/"

"""Marketplaces by configuration: validation errors, selectors on saved pages, and a site added by a new YAML file only."""

import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from crawler.demo import DemoMarketplace
from crawler.siteconfig import SITES_DIR, SiteConfigError, all_configs, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent
FIX = Path(__file__).parent / "fixtures" / "configured"

MINIMAL = {"name": "xsite", "base_url": "https://x.example", "search_url": "/s?q={query}",
           "search": {"listing_links": "a::attr(href)"},
           "listing": {"title": "h1::text", "description": "div.d", "seller_id": "a.s::text"}}


def with_(change: dict, drop: str | None = None) -> dict:
    raw = json.loads(json.dumps(MINIMAL))
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        target = raw
        for p in parents:
            target = target.setdefault(p, {})
        target[last] = value
    if drop:
        *parents, last = drop.split(".")
        target = raw
        for p in parents:
            target = target[p]
        del target[last]
    return raw


@pytest.mark.parametrize("change, drop, message", [
    ({}, "name", "name: required"),
    ({"name": "Bad Name"}, None, "name: required: lowercase"),
    ({"base_url": "ftp://x"}, None, "base_url: required: an http(s) URL"),
    ({"side": "both"}, None, "side: seller or buyer"),
    ({"search_url": "/s"}, None, "search_url: must contain {query}"),
    ({}, "search_url", "search_url: give search_url or start_urls"),
    ({"listing.title": "h1[::text"}, None, "listing.title: bad css selector"),
    ({"listing.title": "xpath://h1[@"}, None, "listing.title: bad xpath selector"),
    ({"listing.title": "json:task..title"}, None, "listing.title: bad json selector"),
    ({"listing.price": {"select": "b", "regex": "("}}, None, "listing.price: bad regex"),
    ({"listing.colour": "b"}, None, "listing.colour: unknown field"),
    ({}, "listing.seller_id", "listing.seller_id: required"),
    ({"selectors": {}}, None, "selectors: unknown key"),
    ({"max_pages": 0}, None, "max_pages: a whole number"),
])
def test_bad_configs_fail_with_one_clear_line(change, drop, message):
    with pytest.raises(SiteConfigError) as err:
        parse_config(with_(change, drop), "sites/x.yaml")
    text = str(err.value)
    assert text.startswith("sites/x.yaml: ") and message in text and "\n" not in text


def test_shipped_configs_are_valid():
    names = {c.name for c in all_configs()}
    assert {"gigbazaar", "taskhive"} <= names
    with pytest.raises(SiteConfigError, match="no site config 'nope'"):
        load_config("nope")


def test_css_xpath_and_regex_fields_on_a_saved_page():
    site = load_config(SITES_DIR / "gigbazaar.yaml")
    view = site.page((FIX / "gigbazaar-gig.html").read_text())
    assert site.listing["title"].first(view).startswith("I will")
    assert site.listing["seller_id"].first(view) and "/" not in site.listing["seller_id"].first(view)
    assert float(site.listing["price"].first(view)) > 0  # xpath @content
    assert site.listing["tags"].values(view) and len(site.listing["description"].first(view)) > 50
    search = site.page((FIX / "gigbazaar-find.html").read_text())
    assert len(site.search["listing_links"].values(search)) == 12 and site.search["next_page"].first(search)


def test_json_paths_into_an_embedded_script():
    site = load_config(SITES_DIR / "taskhive.yaml")
    view = site.page((FIX / "taskhive-task.html").read_text())
    assert site.listing["id"].first(view).isdigit() and site.listing["seller_url"].first(view).startswith("/p/")
    assert site.listing["tags"].values(view) and site.listing["description"].first(view)
    search = site.page((FIX / "taskhive-search.html").read_text())
    assert all(u.startswith("/t/") for u in site.search["listing_links"].values(search))


SERVICEBAY = """
    # Written by an analyst: no code changed to add this site.
    name: servicebay
    base_url: https://servicebay.example
    queries: [reviews, ratings, bewertungen, reseñas]
    search_url: /offers?keyword={query}&page={page}
    search:
      listing_links: "table.offers tr.offer td.t a::attr(href)"
      next_page: "a.more::attr(href)"
    listing:
      id: {select: "dl.offer::attr(id)", regex: "offer-(\\\\d+)"}
      title: "dd.title::text"
      description: "dd.text"
      price: "dd.price::text"
      seller_id: "dd.member a::text"
      seller_url: "dd.member a::attr(href)"
    seller:
      listing_links: "ul.offers a::attr(href)"
"""


def test_a_new_site_added_by_yaml_only_is_crawled(tmp_path):
    config = tmp_path / "servicebay.yaml"
    config.write_text(textwrap.dedent(SERVICEBAY), encoding="utf-8")
    assert yaml.safe_load(config.read_text())["name"] == "servicebay"
    db = tmp_path / "t.db"
    with DemoMarketplace() as demo:
        done = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "crawl", "configured", "-a", f"config={config}",
             "--base-url", demo.base_urls["servicebay"], "--db", str(db),
             "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0"],
            cwd=ROOT, capture_output=True, text=True, timeout=300)
        truth = demo.truths["servicebay"]
    assert done.returncode == 0, done.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        leads = [r[0] for r in conn.execute("SELECT seller_id FROM leads WHERE marketplace = 'servicebay'")]
        ids = [r[0] for r in conn.execute("SELECT listing_id FROM listings")]
    report = truth.score(leads)
    assert report["recall"] >= 0.95 and report["innocent_share"] <= 0.05, report
    assert ids and all(i.isdigit() for i in ids), "the id regex took the number out of offer-123"


def test_config_errors_reach_the_cli_as_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nbase_url: https://b.example\nsearch_url: /s?q={query}\nsearch: {listing_links: 'a['}\n"
                   "listing: {title: h1, description: p, seller_id: b}\n")
    done = subprocess.run([sys.executable, "-m", "crawler.cli", "crawl", "configured", "-a", f"config={bad}",
                           "--db", str(tmp_path / "t.db")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "search.listing_links: bad css selector" in done.stderr
    assert "Traceback" not in done.stderr

"""Run health: threshold tables for every check, and a real crawl of a drifted demo page marked degraded."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import jsonschema
import pytest

from crawler import health
from crawler.demo import DemoMarketplace
from crawler.demo.faults import Faults
from crawler.pages import fiverr as pages
from crawler.settings import SPIDERMON_VALIDATION_SCHEMAS
from crawler.store import Store
from tests.conftest import wrap_props
from tests.crawl_helpers import crawl_command

CRAWL_TIMEOUT_S = 300
QUICK = ["-s", "CONCURRENT_REQUESTS=16", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16",
         "-a", "queries=reviews"]  # on top of crawl_command's FAST settings


def crawl(base_url: str, db, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(crawl_command(base_url, db, *QUICK, *extra), capture_output=True, text=True,
                          timeout=CRAWL_TIMEOUT_S)


# --- threshold tables -----------------------------------------------------------

RULES = {"Listing/title": 0.99, "Listing/seller_id": 0.99, "Listing/url": 0.99}


@pytest.mark.parametrize("title, seller, url, items, failing", [
    (1.0, 1.0, 1.0, 100, None),
    (0.99, 1.0, 1.0, 100, None),  # at the threshold passes
    (0.98, 1.0, 1.0, 100, "Listing/title"),
    (1.0, 0.5, 1.0, 100, "Listing/seller_id"),
    (1.0, 1.0, 0.0, 100, "Listing/url"),
    (0.0, 0.0, 0.0, 0, None),  # no listings at all: the item-count checks speak for that
])
def test_coverage_threshold(title, seller, url, items, failing):
    stats = {"spidermon_item_scraped_count/Listing": items, "spidermon_field_coverage/Listing/title": title,
             "spidermon_field_coverage/Listing/seller_id": seller, "spidermon_field_coverage/Listing/url": url}
    reason = health.coverage(stats, RULES)
    assert (reason is None) == (failing is None)
    if failing:
        assert failing in reason


@pytest.mark.parametrize("counts, threshold, degraded", [
    ({"200": 100}, {"4xx": 0.2, "5xx": 0.05}, False),
    ({"200": 95, "500": 5}, {"4xx": 0.2, "5xx": 0.05}, False),  # exactly at the share
    ({"200": 94, "503": 6}, {"4xx": 0.2, "5xx": 0.05}, True),
    ({"200": 70, "404": 30}, {"4xx": 0.2, "5xx": 0.05}, False),  # 404: removed listings, expected
    ({"200": 70, "403": 30}, {"4xx": 0.2, "5xx": 0.05}, True),
    ({"200": 70, "403": 30}, {"4xx": 0.5, "5xx": 0.05}, False),  # the threshold is a setting
    ({}, {"4xx": 0.2, "5xx": 0.05}, False),
])
def test_http_error_share_threshold(counts, threshold, degraded):
    stats = {f"downloader/response_status_count/{c}": n for c, n in counts.items()}
    assert (health.http_error_share(stats, threshold, ignore=[404, 410]) is not None) == degraded


@pytest.mark.parametrize("unparsed, ok_pages, search_pages, max_share, max_search_share, degraded", [
    ({}, 100, 10, 0.02, 0.1, False),
    ({"turfwatch/unparsed_gig": 2}, 100, 10, 0.02, 0.1, False),
    ({"turfwatch/unparsed_gig": 3}, 100, 10, 0.02, 0.1, True),
    ({"turfwatch/unparsed_listing": 3}, 100, 10, 0.02, 0.1, True),  # the other marketplaces' spiders
    ({"turfwatch/no_props": 1, "turfwatch/unparsed_search": 4}, 100, 10, 0.02, 0.1, True),
    ({"turfwatch/unparsed_seller": 5}, 100, 10, 0.1, 0.1, False),
    ({"turfwatch/unparsed_search": 1}, 100, 10, 0.02, 0.1, False),  # 1 of 10 search pages: at the share
    ({"turfwatch/unparsed_search": 1}, 100, 4, 0.02, 0.1, True),  # 1 of 4 search pages
    ({"turfwatch/unparsed_search": 1}, 100, 4, 0.02, 0.5, False),
    ({"turfwatch/unparsed_search": 1}, 0, 0, 0.02, 1.0, True),
])
def test_unparsed_share_threshold(unparsed, ok_pages, search_pages, max_share, max_search_share, degraded):
    # turfwatch/search_pages counts search pages the spider parsed (with or without gigs).
    stats = {"downloader/response_status_count/200": ok_pages, "turfwatch/search_pages": search_pages, **unparsed}
    assert (health.unparsed_share(stats, max_share, max_search_share) is not None) == degraded


@pytest.mark.parametrize("count, history, ratio, min_runs, degraded", [
    (100, [100, 100, 100], 0.5, 1, False),
    (50, [100, 100, 100], 0.5, 1, False),  # exactly half passes
    (49, [100, 100, 100], 0.5, 1, True),
    (0, [100], 0.5, 1, True),
    (0, [], 0.5, 1, False),  # the first run of a crawl has nothing to compare with
    (0, [100], 0.5, 2, False),  # too little history
    (40, [10, 100, 100, 100, 1000], 0.5, 1, True),  # the median, not the mean
    (60, [10, 100, 100, 100, 1000], 0.5, 1, False),
    (80, [100, 100], 0.9, 1, True),
])
def test_item_count_against_history(count, history, ratio, min_runs, degraded):
    assert (health.item_count_vs_history(count, history, ratio, min_runs) is not None) == degraded


@pytest.mark.parametrize("errors, max_errors, degraded", [(0, 0, False), (1, 0, True), (5, 5, False), (6, 5, True)])
def test_validation_error_threshold(errors, max_errors, degraded):
    stats = {"spidermon/validation/fields/errors": errors} if errors else {}
    if errors:
        stats["spidermon/validation/fields/errors/field_too_long/title"] = errors
    assert (health.validation_errors(stats, max_errors) is not None) == degraded


@pytest.mark.parametrize("count, max_count, degraded", [(0, 0, False), (1, 0, True), (3, 5, False)])
def test_spider_exception_threshold(count, max_count, degraded):
    stats = {"spider_exceptions/count": count, "spider_exceptions/ValueError": count} if count else {}
    assert (health.spider_exceptions(stats, max_count) is not None) == degraded


def test_history_is_same_spider_same_arguments_healthy_runs_only(tmp_path):
    db = tmp_path / "h.db"
    args = {"queries": ["reviews"], "max_pages": 20}
    with Store(db) as store:
        for spider, run_args, status, listings in [
            ("fiverr", args, "ok", 100), ("fiverr", args, "degraded", 3), ("fiverr", {"queries": ["x"]}, "ok", 7),
            ("seoclerks", args, "ok", 9), ("fiverr", args, "failed", 0), ("fiverr", args, "ok", 120),
        ]:
            run_id = store.start_run(spider, run_args)
            store.finish_run(run_id, reason="finished" if status != "failed" else "blocked", status=status,
                             stats={}, counts={"listings": listings})
    assert health.history_counts(db, "fiverr", args, before_run=None, limit=5) == [120, 100]
    assert health.history_counts(db, "fiverr", args, before_run=6, limit=5) == [100]
    assert health.history_counts(db, "fiverr", args, before_run=None, limit=1) == [120]
    assert health.history_counts(tmp_path / "none.db", "fiverr", args, before_run=None, limit=5) == []


def test_degraded_reasons_are_read_back_in_order():
    stats = {"turfwatch/degraded/unparsed": "pages not parsed", "turfwatch/degraded/item_count": "item count",
             "turfwatch/listings": 3}
    assert health.degraded_reasons(stats) == ["item count", "pages not parsed"]


# --- schemas ----------------------------------------------------------------------


def _schema(name: str) -> dict:
    """The schema the setting names, loaded the way Spidermon loads it."""
    from spidermon.contrib.validation.jsonschema.tools import get_schema_from

    ref = next(p for cls, p in SPIDERMON_VALIDATION_SCHEMAS.items() if cls.__name__ == name)
    return get_schema_from(ref)


def test_schemas_accept_parsed_items(real_search_props):
    from dataclasses import asdict

    gig = {"general": {"gigId": 7, "gigTitle": "I will write reviews"}, "seller": {"user": {"name": "bob"}},
           "description": {"content": "<p>hi</p>"}, "packages": {"packageList": [{"title": "B", "price": 500}]}}
    listing = pages.parse_gig(pages.props(wrap_props(gig)), "https://www.fiverr.com/bob/write-reviews")
    seller = pages.seller_from_gig(pages.props(wrap_props(gig)), "https://www.fiverr.com")
    jsonschema.validate(asdict(listing), _schema("Listing"))
    jsonschema.validate(asdict(seller), _schema("Seller"))


@pytest.mark.parametrize("field, value", [
    ("title", ""), ("title", "x" * 1001), ("url", "javascript:alert(1)"), ("rating", 7.5), ("price", -1),
    ("seller_id", ""), ("tags", "not a list"),
])
def test_listing_schema_rejects(field, value):
    listing = {"marketplace": "fiverr", "listing_id": "1", "url": "https://www.fiverr.com/a/b", "seller_id": "a",
               "title": "I will", "fetched_at": "2026-01-01T00:00:00Z", field: value}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(listing, _schema("Listing"))


# --- a real crawl of a drifted demo ----------------------------------------------


def test_drifted_search_page_marks_the_run_degraded(tmp_path):
    """Run 1 sees the site as it was; run 2, same crawl, after search JSON renamed
    items->results and listings->lists: pages fetched, nothing extracted."""
    db = tmp_path / "drift.db"
    with DemoMarketplace() as site:
        first = crawl(site.base_url, db)
        port = site.port
    assert first.returncode == 0, first.stderr[-3000:]
    # Same port: base_url is a spider argument, and history compares runs with the same arguments.
    with DemoMarketplace(port=port, faults=Faults.parse("drift-search")) as site:
        second = crawl(site.base_url, db)
    assert second.returncode == 3, second.stderr[-3000:]
    last_line = second.stderr.strip().splitlines()[-1]
    assert "degraded" in last_line and "pages not parsed" in last_line and "item count" in last_line
    assert "Traceback" not in second.stderr  # a failed check is one line, not a traceback
    rows = sqlite3.connect(db).execute("SELECT status, status_reason, listings FROM runs ORDER BY id").fetchall()
    assert rows[0][:2] == ("ok", None) and rows[0][2] > 0
    # Only the known flagged listings, fetched again by URL, are still read.
    assert rows[1][0] == "degraded" and rows[1][2] < rows[0][2] / 2
    assert "unparsed_search" in rows[1][1] and "item count:" in rows[1][1]
    listed = subprocess.run([sys.executable, "-m", "crawler.cli", "runs", "--db", str(db)],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0
    assert "degraded" in listed.stdout and "pages not parsed" in listed.stdout


def test_drifted_gig_page_is_caught(tmp_path):
    """Gig JSON `general` renamed `gigGeneral`: gigs reached from seller pages cannot be read."""
    db = tmp_path / "drift-gig.db"
    with DemoMarketplace(faults=Faults.parse("drift-gig")) as site:
        run = crawl(site.base_url, db, "-s", "TURFWATCH_MAX_UNPARSED_SHARE=0")
    assert run.returncode == 3, run.stderr[-3000:]
    status, reason = sqlite3.connect(db).execute("SELECT status, status_reason FROM runs").fetchone()
    assert status == "degraded" and "unparsed_gig" in reason

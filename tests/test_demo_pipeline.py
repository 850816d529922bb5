"""`turfwatch demo` end to end: real HTTP crawls of the demo marketplace into a temporary SQLite file."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.demo.days import catalog_for_day
from crawler.demo.content import load_catalog

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("sellers", "listings", "flags")


def turfwatch(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crawler.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def last_seen(db: Path) -> dict[str, str]:
    with sqlite3.connect(db) as conn:
        return dict(conn.execute("SELECT listing_id, last_seen FROM listings"))


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    """Day 1 crawled twice, then day 2, with what the database held after each."""
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    first = turfwatch("demo", "--db", str(db))
    after_first = (counts(db), last_seen(db))
    second = turfwatch("demo", "--db", str(db))
    after_second = (counts(db), last_seen(db))
    snapshot = db.with_name("day1.db")
    with sqlite3.connect(db) as src, sqlite3.connect(snapshot) as dst:
        src.backup(dst)
    third = turfwatch("demo", "--db", str(db), "--day", "2")
    return {"db": db, "day1": snapshot, "runs": (first, second, third), "after": (after_first, after_second)}


def test_demo_finds_the_review_sellers(demo_runs):
    first = demo_runs["runs"][0]
    assert first.returncode == 0, first.stderr[-3000:]
    out = first.stdout
    assert "score  marketplace   side   account" in out and f"Database: {demo_runs['db']}" in out
    match = re.search(r"found (\d+) of (\d+) review sellers .*?; (\d+) of (\d+) leads innocent", out)
    assert match, out
    found, total, innocent, leads = map(int, match.groups())
    assert total >= 20 and found / total >= 0.95
    assert innocent / leads <= 0.05
    assert "[turfwatch] done:" in first.stderr, "progress is reported while it runs"
    assert "Traceback" not in first.stderr


def test_second_crawl_adds_no_rows_and_updates_last_seen(demo_runs):
    (counts1, seen1), (counts2, seen2) = demo_runs["after"]
    assert demo_runs["runs"][1].returncode == 0
    assert counts1 == counts2 and counts1["listings"] > 100 and counts1["flags"] > 0
    assert seen1.keys() == seen2.keys()
    assert all(seen2[k] >= seen1[k] for k in seen1)
    assert sum(seen2[k] > seen1[k] for k in seen1) > len(seen1) // 2


def test_every_flagged_listing_has_a_capture_and_warcs_pass_warcio_check(demo_runs):
    db = demo_runs["day1"]
    with sqlite3.connect(db) as conn:
        uncaptured = conn.execute(
            """SELECT l.listing_id FROM listings l WHERE l.sells_reviews = 1 AND NOT EXISTS (
                 SELECT 1 FROM captures c WHERE c.marketplace = l.marketplace AND c.listing_id = l.listing_id
                 AND c.content_hash = l.content_hash)"""
        ).fetchall()
        flagged = conn.execute("SELECT COUNT(*) FROM listings WHERE sells_reviews = 1").fetchone()[0]
        digests = conn.execute("SELECT sha256 FROM captures").fetchall()
    assert flagged > 0 and uncaptured == []
    assert all(re.fullmatch(r"[0-9a-f]{64}", d) for (d,) in digests)
    warcs = sorted((db.parent / "warc").glob("*.warc.gz"))
    assert len(warcs) >= 3, "one WARC file per run"
    check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", *map(str, warcs)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_day_two_records_edits_removals_and_the_relist(demo_runs):
    assert demo_runs["runs"][2].returncode == 0, demo_runs["runs"][2].stderr[-3000:]
    _, changes = catalog_for_day(load_catalog(), 2)
    db = demo_runs["db"]
    with sqlite3.connect(db) as conn:
        versions = dict(conn.execute("SELECT listing_id, COUNT(*) FROM listing_versions GROUP BY listing_id"))
        removed = dict(conn.execute("SELECT listing_id, removed_reason FROM listings WHERE removed_at IS NOT NULL"))
        links = conn.execute("SELECT listing_id, linked_listing_id, reason FROM listing_links").fetchall()
        old_flags = conn.execute("SELECT COUNT(*) FROM flags f JOIN listings l USING (marketplace, listing_id) "
                                 "WHERE l.removed_at IS NOT NULL").fetchone()[0]
    for gig_id in changes.edited:
        assert versions[str(gig_id)] == 2, f"edited gig {gig_id} should have two versions"
    assert {str(g) for g in changes.removed} == set(removed), removed
    assert old_flags > 0, "removed listings keep their evidence"
    (old_id, new_id, new_seller), = changes.relisted
    assert any(a == str(new_id) and b == str(old_id) and "other account" in reason for a, b, reason in links), links
    assert new_seller in demo_runs["runs"][2].stdout, "the relisting account is a new lead"


def test_cli_leads_formats_and_clear_errors(demo_runs):
    db = str(demo_runs["day1"])
    table = turfwatch("leads", "--db", db)
    as_csv = turfwatch("leads", "--db", db, "--format", "csv")
    as_json = turfwatch("leads", "--db", db, "--format", "json", "--limit", "2")
    assert table.returncode == as_csv.returncode == as_json.returncode == 0
    assert as_csv.stdout.splitlines()[0].startswith('"marketplace","seller_id"')
    import json

    assert len(json.loads(as_json.stdout)) == 2
    missing = turfwatch("leads", "--db", str(demo_runs["db"].with_name("nope.db")))
    assert missing.returncode == 1 and missing.stderr.startswith("Error: no database at")
    unknown = turfwatch("crawl", "nosuchsite", "--db", db)
    assert unknown.returncode == 1 and "no spider 'nosuchsite'" in unknown.stderr and "fiverr" in unknown.stderr
    for result in (missing, unknown):
        assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_triage_via_cli(demo_runs, tmp_path):
    db = tmp_path / "t.db"
    with sqlite3.connect(demo_runs["day1"]) as src, sqlite3.connect(db) as dst:
        src.backup(dst)
    with sqlite3.connect(db) as conn:
        seller = conn.execute("SELECT seller_id FROM leads ORDER BY score DESC LIMIT 1").fetchone()[0]
    done = turfwatch("triage", seller, "--status", "dismissed", "--note", "test", "--who", "ana", "--db", str(db))
    assert done.returncode == 0 and "new -> dismissed (by ana)" in done.stdout
    listed = turfwatch("leads", "--status", "dismissed", "--db", str(db), "--format", "json")
    assert seller in listed.stdout
    bad = turfwatch("triage", seller, "--status", "maybe", "--db", str(db))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_flag_command_explains_the_match():
    result = turfwatch("flag", "I will post 5 star google reviews on your business profile")
    assert result.returncode == 0, result.stderr
    assert "[[" in result.stdout and "FTC" in result.stdout


def test_explain_shows_span_rule_law_and_capture(demo_runs):
    db = demo_runs["day1"]
    with sqlite3.connect(db) as conn:
        listing_id, text = conn.execute(
            "SELECT listing_id, matched_text FROM flags WHERE marketplace = 'fiverr'"
            " ORDER BY score DESC, listing_id LIMIT 1").fetchone()
    result = turfwatch("explain", f"fiverr:{listing_id}", "--db", str(db))
    assert result.returncode == 0, result.stderr
    from crawler.formats import terminal_safe

    assert f"[[{terminal_safe(text.replace(chr(10), ' '))}]]" in result.stdout
    assert "SELLS REVIEWS" in result.stdout and "legal: FTC 16 CFR" in result.stdout
    assert "evidence: <urn:uuid:" in result.stdout and "sha256" in result.stdout
    missing = turfwatch("explain", "fiverr:0", "--db", str(db))
    assert missing.returncode == 1 and "no listing" in missing.stderr


def test_the_demo_hostile_seller_is_exported_safely(demo_runs, tmp_path):
    """The built-in demo's seller with `<script>alert(1)</script>` in a title and a description
    starting `=HYPERLINK(` is a lead; its case bundle shows the text and runs nothing."""
    import csv

    db = demo_runs["day1"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM leads WHERE seller_id = 'sam_builds_pages'").fetchone() == ("new",)
    result = turfwatch("export", "case", "fiverr:sam_builds_pages", "--db", str(db), "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    bundle = Path(result.stdout.strip().splitlines()[-1])
    assert "sam_builds_pages" not in bundle.name
    report = (bundle / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert "<script" not in report.lower() and "onerror=" not in report.replace("onerror=alert", "")
    with open(bundle / "listings.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    hostile = next(r for r in rows if "alert(1)" in r["title"])
    assert hostile["description"].startswith("'=HYPERLINK(")
    verify = turfwatch("verify", str(bundle))
    assert verify.returncode == 0, verify.stdout + verify.stderr

"""The SQLite store: migrations, idempotent upserts, first/last seen, versions of flags, leads."""

from __future__ import annotations

import dataclasses

import pytest

from crawler.items import Listing, Seller
from crawler.leads import lead_score
from crawler.store import Store, content_hash

FLAG = {
    "rule_id": "fab.offer_reviews", "rule_version": 1, "category": "review_fabrication", "field": "title",
    "start": 7, "end": 26, "text": "post google reviews", "score": 0.9, "legal": ["FTC 16 CFR 465.2"],
    "platform": "google", "explanation": "offers to post reviews",
}


def listing(listing_id="1", seller="bad_seller", flagged=True, seen="2026-01-01T00:00:00Z", **kw) -> Listing:
    return Listing(
        marketplace="fiverr", listing_id=listing_id, url=f"https://x/{seller}/{listing_id}", seller_id=seller,
        title=kw.pop("title", "I will post google reviews"), description=kw.pop("description", "desc"), tags=["a"], fetched_at=seen,
        score=0.9 if flagged else 0.0, sells_reviews=flagged, flags=[FLAG] if flagged else [], **kw,
    )


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "t.db") as s:
        yield s


def test_schema_is_migrated_and_recorded(store, tmp_path):
    assert {"runs", "sellers", "listings", "flags", "leads", "_sqlite_migrations"} <= set(store.db.table_names())
    names = [r["name"] for r in store.db.query("SELECT name FROM _sqlite_migrations ORDER BY name")]
    assert names[:3] == ["0001_initial", "0002_captures", "0003_history_and_triage"]
    assert "0004_listing_side" in names
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # Opening again applies nothing twice.
    with Store(tmp_path / "t.db") as again:
        assert again.db["_sqlite_migrations"].count == len(names)


def test_second_save_adds_no_rows_and_moves_last_seen(store):
    run = store.start_run("fiverr", {})
    store.save_seller(Seller("fiverr", "bad_seller", "https://x/bad_seller", country="US", fetched_at="2026-01-01T00:00:00Z"), run)
    store.save_listing(listing(), run)
    before = store.counts()
    store.save_seller(Seller("fiverr", "bad_seller", "https://x/bad_seller", fetched_at="2026-02-01T00:00:00Z"), run)
    store.save_listing(listing(seen="2026-02-01T00:00:00Z"), run)
    assert store.counts() == before
    row = store.db["listings"].get(("fiverr", "1"))
    assert (row["first_seen"], row["last_seen"]) == ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
    seller = store.db["sellers"].get(("fiverr", "bad_seller"))
    assert seller["country"] == "US", "an unknown value must not erase a known one"
    assert seller["last_seen"] == "2026-02-01T00:00:00Z"
    flag = next(store.db.query("SELECT * FROM flags"))
    assert (flag["first_seen"], flag["last_seen"]) == ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")


def test_edited_listing_keeps_old_flags_as_evidence(store):
    store.save_listing(listing())
    store.save_listing(listing(title="I will post google reviews fast"))
    hashes = {r["content_hash"] for r in store.db.query("SELECT content_hash FROM flags")}
    assert len(hashes) == 2
    assert store.db["listings"].count == 1


def test_content_hash_follows_content_not_time():
    a, b = listing(seen="2026-01-01T00:00:00Z"), listing(seen="2027-01-01T00:00:00Z")
    assert content_hash(a) == content_hash(b)
    assert content_hash(a) != content_hash(dataclasses.replace(a, price=9.0))


def test_leads_from_flagged_listings_only(store):
    run = store.start_run("fiverr", {})
    store.save_listing(listing("1", "bad_seller"), run)
    store.save_listing(listing("2", "bad_seller"), run)
    store.save_listing(listing("3", "good_seller", flagged=False), run)
    assert store.refresh_leads(run) == 1
    leads = store.leads()
    assert [l["seller_id"] for l in leads] == ["bad_seller"]
    assert leads[0]["flagged_listings"] == 2 and leads[0]["categories"] == ["review_fabrication"]
    assert sorted(leads[0]["listing_urls"]) == ["https://x/bad_seller/1", "https://x/bad_seller/2"]
    run2 = store.start_run("fiverr", {})
    assert store.refresh_leads(run2) == 0, "a known lead is not new again"
    assert store.leads(since_run=run2) == []
    assert len(store.leads(since_run=run)) == 1


def test_run_is_recorded(store):
    run = store.start_run("fiverr", {"queries": ["x"]})
    store.finish_run(run, reason="finished", status="ok", stats={"a": 1}, counts={"pages": 3, "listings": 2})
    row = store.runs()[0]
    assert row["finish_reason"] == "finished" and row["pages"] == 3 and row["finished_at"]
    assert store.last_run_id() == run


def test_read_only_store_refuses_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        Store(tmp_path / "missing.db", read_only=True)


def test_lead_score_grows_with_repetition_and_breadth():
    one = lead_score([0.9], {"review_fabrication"}, {"google"})
    two = lead_score([0.9, 0.9], {"review_fabrication"}, {"google"})
    broad = lead_score([0.9, 0.9], {"review_fabrication", "review_suppression"}, {"google", "yelp"})
    assert 0 < one < two < broad <= 1
    assert lead_score([0.99], {"review_fabrication"}, {"google"}) > lead_score([0.6, 0.6], {"review_fabrication"}, {"google"})
    assert lead_score([0.3] * 10, {"review_fabrication"}, {"google"}) < 1
    assert lead_score([], set(), set()) == 0.0


def test_versions_removal_and_return(store):
    store.save_listing(listing("1", seen="2026-01-01T00:00:00Z"))
    store.save_listing(listing("1", seen="2026-01-02T00:00:00Z", title="I will post google reviews, now cheaper"))
    versions = list(store.db.query("SELECT title, first_seen FROM listing_versions ORDER BY first_seen"))
    assert [v["title"] for v in versions] == ["I will post google reviews", "I will post google reviews, now cheaper"]
    assert store.mark_removed("fiverr", "HTTP 404", "2026-01-03T00:00:00Z", url="https://x/bad_seller/1") == 1
    assert store.mark_removed("fiverr", "HTTP 404", listing_id="1") == 0, "already marked"
    row = store.db["listings"].get(("fiverr", "1"))
    assert row["removed_at"] == "2026-01-03T00:00:00Z" and row["last_seen"] == "2026-01-02T00:00:00Z"
    assert store.db["flags"].count == 2, "removal keeps the evidence"
    store.save_listing(listing("1", seen="2026-01-04T00:00:00Z"))
    assert store.db["listings"].get(("fiverr", "1"))["removed_at"] is None


def test_listing_missing_from_full_seller_page_is_removed(store):
    store.save_listing(listing("1"))
    store.save_listing(listing("2"))
    seller = Seller("fiverr", "bad_seller", "https://x/bad_seller", listing_urls=["https://x/bad_seller/1"],
                    listings_complete=True)
    store.save_seller(seller)
    assert store.db["listings"].get(("fiverr", "2"))["removed_reason"] == "gone from seller page"
    assert store.db["listings"].get(("fiverr", "1"))["removed_at"] is None
    # A seller seen only on a gig page says nothing about their other listings.
    store.save_seller(Seller("fiverr", "bad_seller", "https://x/bad_seller"))
    assert store.db["listings"].get(("fiverr", "1"))["removed_at"] is None


def test_relist_by_other_account_is_linked(store):
    text = "Real reviews from real local guide accounts, posted slowly over two weeks, never dropped."
    store.save_listing(listing("1", "old_account", description=text))
    store.save_listing(listing("9", "new_account", description=text.upper().replace(" ", "  ")))
    links = list(store.db.query("SELECT * FROM listing_links"))
    assert [(l["listing_id"], l["linked_listing_id"]) for l in links] == [("9", "1")]
    assert "other account old_account" in links[0]["reason"]


def test_triage_is_logged_and_dismissal_sticks_until_new_evidence(store):
    run1 = store.start_run("fiverr", {})
    store.save_listing(listing("1", seen="2026-01-01T00:00:00Z"), run1)
    store.refresh_leads(run1)
    assert store.triage("bad_seller", "dismissed", who="ana", note="parody account") == ("new", "dismissed")
    run2 = store.start_run("fiverr", {})
    store.save_listing(listing("1", seen="2099-01-01T00:00:00Z"), run2)  # same offer seen again
    assert store.refresh_leads(run2) == 0
    assert store.leads()[0]["status"] == "dismissed"
    run3 = store.start_run("fiverr", {})
    store.save_listing(listing("2", seen="2099-01-02T00:00:00Z"), run3)  # a new flagged listing
    assert store.refresh_leads(run3) == 1
    assert store.leads()[0]["status"] == "new"
    assert [l["seller_id"] for l in store.leads(status="new", since_run=run3)] == ["bad_seller"]
    events = store.lead_events("fiverr", "bad_seller")
    assert [(e["who"], e["old_status"], e["new_status"]) for e in events] == [
        ("ana", "new", "dismissed"), ("turfwatch", "dismissed", "new")]
    with pytest.raises(Exception, match="append-only"):
        store.db.execute("DELETE FROM lead_events")
    with pytest.raises(LookupError):
        store.triage("nobody", "confirmed", who="ana")
    with pytest.raises(ValueError):
        store.triage("bad_seller", "maybe", who="ana")


def _statements(store) -> list[str]:
    seen: list[str] = []
    store.db.conn.set_trace_callback(lambda sql: seen.append(" ".join(sql.split())[:40]))
    return seen


def test_a_listing_is_one_transaction_without_per_statement_savepoints(store):
    capture = {"capture_id": "<urn:uuid:1>", "run_id": None, "url": "https://x/bad_seller/1", "status": 200,
               "fetched_at": "2026-01-01T00:00:00Z", "warc_file": "a.warc.gz", "warc_offset": 0, "warc_length": 1,
               "sha256": "0" * 64}
    store.save_capture(capture)
    seen = _statements(store)
    store.save_listing(dataclasses.replace(listing("1", capture_id="<urn:uuid:1>"),
                                           flags=[FLAG, {**FLAG, "start": 0, "end": 6}]))
    assert seen[0] == "BEGIN IMMEDIATE" and seen[-1] == "COMMIT"
    assert seen.count("BEGIN IMMEDIATE") == 1 and seen.count("COMMIT") == 1
    assert not [s for s in seen if "SAVEPOINT" in s]
    assert sum(s.startswith("INSERT INTO flags") for s in seen) == 2
    assert store.db["flags"].count == 2
    assert next(store.db.query("SELECT listing_id FROM captures"))["listing_id"] == "1"


def test_a_failing_flag_leaves_no_half_listing(store):
    store.save_listing(listing("1"))
    before = {t: list(store.db.query(f"SELECT * FROM {t}")) for t in ("listings", "listing_versions", "flags")}
    broken = {**FLAG, "start": None}  # NOT NULL: the flag insert fails after the listing rows are written
    with pytest.raises(Exception, match="NOT NULL"):
        store.save_listing(dataclasses.replace(
            listing("1", seen="2026-02-01T00:00:00Z", title="I will post yelp reviews"), flags=[FLAG, broken]))
    with pytest.raises(Exception, match="NOT NULL"):
        store.save_listing(dataclasses.replace(listing("2"), flags=[broken]))
    assert not store.db.conn.in_transaction
    assert {t: list(store.db.query(f"SELECT * FROM {t}")) for t in before} == before

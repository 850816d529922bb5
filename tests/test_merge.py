"""Merging shards is idempotent and order-free: the same database whatever the order, however often."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from crawler.demo import DemoMarketplace
from crawler.merge import merge_shards
from crawler.merge_commands import merge
from crawler.store import Store
from tests.crawl_helpers import crawl_command, rows

# Surrogate ids and the clock of the merge itself: the only columns allowed to differ.
VOLATILE = {"id", "run_id", "last_run_id", "new_in_run_id", "status_changed_at"}


def dump(db: Path) -> dict[str, list]:
    """Every table as sorted rows, surrogate ids left out (runs are compared on what they are)."""
    conn = sqlite3.connect(db)
    try:
        out = {}
        for table in ("sellers", "listings", "listing_versions", "flags", "captures", "leads", "lead_events",
                      "listing_links", "runs"):
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] not in VOLATILE]
            out[table] = sorted(conn.execute(f"SELECT {', '.join(columns)} FROM {table}").fetchall(), key=repr)
        # Each reference to a run still points at the same run.
        out["capture_runs"] = sorted(conn.execute(
            "SELECT c.capture_id, r.started_at, r.args FROM captures c JOIN runs r ON r.id = c.run_id").fetchall())
        return out
    finally:
        conn.close()


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """Two workers' shards from the demo, overlapping (half the queries each, the same gigs turn up in both),
    one with an analyst's triage decision."""
    root = tmp_path_factory.mktemp("shards")
    made = []
    with DemoMarketplace() as site:
        for part in (0, 1):
            db = root / f"w{part}" / "shard.db"
            proc = subprocess.run(crawl_command(site.base_url, db, "-a", f"part={part}", "-a", "of=2"),
                                  capture_output=True, text=True, timeout=300)
            assert proc.returncode == 0, proc.stderr[-3000:]
            made.append(db)
    with Store(made[1]) as store:
        seller = store.leads()[0]["seller_id"]
        store.triage(seller, "confirmed", who="analyst", note="checked by hand")
    return made


def fresh(tmp_path: Path, name: str) -> Path:
    return tmp_path / name / "merged.db"


def test_order_and_repetition_do_not_matter(shards, tmp_path):
    a, b = fresh(tmp_path, "ab"), fresh(tmp_path, "ba")
    merge_shards(shards, a)
    merge_shards(list(reversed(shards)), b)
    assert dump(a) == dump(b)
    before = dump(a)
    report = merge_shards(shards, a)
    assert report.runs_added == 0 and not any(report.rows.values())
    assert dump(a) == before
    # One at a time, and merged databases merged again: still the same.
    c, d = fresh(tmp_path, "one-by-one"), fresh(tmp_path, "of-merged")
    merge_shards([shards[1]], c)
    merge_shards([shards[0]], c)
    merge_shards([a, b, c], d)
    assert dump(c) == before and dump(d) == before


def test_merged_rows_keep_first_and_last_seen(shards, tmp_path):
    merged = fresh(tmp_path, "m")
    merge_shards(shards, merged)
    assert rows(merged, "SELECT COUNT(*) FROM runs") == [(2,)]
    both = {}
    for shard in shards:
        for listing_id, first, last in rows(shard, "SELECT listing_id, first_seen, last_seen FROM listings"):
            seen = both.setdefault(listing_id, [first, last])
            seen[0], seen[1] = min(seen[0], first), max(seen[1], last)
    assert {r[0]: [r[1], r[2]] for r in rows(merged, "SELECT listing_id, first_seen, last_seen FROM listings")} == both
    # Leads are recomputed from all listings: a seller's flagged listings from both shards count.
    flagged = rows(merged, """SELECT seller_id, COUNT(*) FROM listings WHERE sells_reviews = 1 GROUP BY seller_id""")
    assert sorted(rows(merged, "SELECT seller_id, flagged_listings FROM leads")) == sorted(flagged)
    # The analyst's decision and its log came along, once.
    assert rows(merged, "SELECT who, new_status, note FROM lead_events") == [("analyst", "confirmed", "checked by hand")]
    assert rows(merged, "SELECT COUNT(*) FROM leads WHERE status = 'confirmed'") == [(1,)]
    # Evidence still resolves: every capture's WARC file is beside the merged database.
    names = {n for (n,) in rows(merged, "SELECT DISTINCT warc_file FROM captures")}
    assert names and all((merged.parent / "warc" / n).is_file() for n in names)


def test_a_later_removal_wins_an_earlier_sighting(tmp_path):
    from crawler.items import Listing

    shard1, shard2 = tmp_path / "1" / "s.db", tmp_path / "2" / "s.db"
    listing = Listing("fiverr", "g1", "https://example.test/s/g1", "s", "I will write reviews",
                      fetched_at="2025-01-01T00:00:00Z")
    with Store(shard1) as store:
        store.save_listing(listing, store.start_run("fiverr", {}))
    with Store(shard2) as store:
        run = store.start_run("fiverr", {"other": True})
        store.save_listing(Listing(**{**listing.__dict__, "fetched_at": "2025-01-02T00:00:00Z"}), run)
        store.mark_removed("fiverr", "HTTP 404", "2025-01-03T00:00:00Z", listing_id="g1")
    for order in ([shard1, shard2], [shard2, shard1]):
        merged = tmp_path / f"m{order[0].parent.name}" / "m.db"
        merge_shards(order, merged)
        assert rows(merged, "SELECT first_seen, last_seen, removed_at FROM listings") == [
            ("2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z", "2025-01-03T00:00:00Z")]


def test_merge_command(shards, tmp_path):
    into = tmp_path / "cli" / "merged.db"
    runner = CliRunner()
    result = runner.invoke(merge, [*map(str, shards), "--into", str(into)])
    assert result.exit_code == 0, result.output
    assert "2 runs added" in result.output
    again = runner.invoke(merge, [*map(str, shards), "--into", str(into)])
    assert again.exit_code == 0 and "0 runs added; nothing new" in again.output
    itself = runner.invoke(merge, [str(into), "--into", str(into)])
    assert itself.exit_code == 1 and "into itself" in itself.output


def test_a_relist_seen_by_another_worker_is_linked_as_one_crawl_would(tmp_path):
    """Worker 1 saw the original gig, worker 2 its copy under a new account: only the merge can link them."""
    from crawler.items import Listing

    text = "I will post ten genuine looking five star reviews on your Google business page fast"
    old = Listing(marketplace="fiverr", listing_id="1", url="https://www.fiverr.com/ann/reviews", seller_id="ann",
                  title="I will post Google reviews", description=text, fetched_at="2026-01-01T00:00:00Z")
    new = Listing(marketplace="fiverr", listing_id="2", url="https://www.fiverr.com/bo/reviews", seller_id="bo",
                  title="I will post Google reviews", description=text, fetched_at="2026-01-02T00:00:00Z")
    elsewhere = Listing(marketplace="seoclerks", listing_id="3", url="https://www.seoclerks.com/x/3/y", seller_id="cy",
                        title="Google reviews", description=text, fetched_at="2026-01-03T00:00:00Z")
    single, one, two = tmp_path / "single.db", tmp_path / "w1" / "s.db", tmp_path / "w2" / "s.db"
    with Store(single) as store:
        for listing in (old, new, elsewhere):
            store.save_listing(listing)
    for db, listings in ((one, [old]), (two, [new, elsewhere])):
        db.parent.mkdir()
        with Store(db) as store:
            for listing in listings:
                store.save_listing(listing)
    links = ("SELECT marketplace, listing_id, linked_marketplace, linked_listing_id, reason, created_at FROM listing_links"
             " ORDER BY listing_id, linked_listing_id")
    expected = rows(single, links)
    assert expected == [
        ("fiverr", "2", "fiverr", "1", "same description, other account ann", "2026-01-02T00:00:00Z"),
        ("seoclerks", "3", "fiverr", "1", "same description, other account ann on fiverr", "2026-01-03T00:00:00Z"),
        ("seoclerks", "3", "fiverr", "2", "same description, other account bo on fiverr", "2026-01-03T00:00:00Z")]
    for order in ((one, two), (two, one), (two, one, two)):
        into = tmp_path / f"m{len(order)}{order[0].parent.name}" / "merged.db"
        merge_shards(order, into, copy_warc=False)
        merge_shards(order, into, copy_warc=False)
        assert rows(into, links) == expected

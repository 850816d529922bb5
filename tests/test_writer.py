"""The run's writer process (crawler/writer.py): what it keeps when an item is bad, when it dies, and when the crawl dies."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from crawler.items import Listing, Removal, Seller
from crawler.store import Store
from crawler.writer import RunWriter, WriterGone
from tests.crawl_helpers import assert_crawl_child, crawl_command


def _listing(i: int, **fields) -> Listing:
    return Listing("fiverr", f"g{i}", f"http://demo.test/bob/gig-{i}", "bob", f"I will write review {i}", **fields)


def _rows(db: Path, sql: str) -> list[tuple]:
    with Store(db) as store:
        return store.db.conn.execute(sql).fetchall()


def test_items_are_stored_in_order_and_reported(tmp_path):
    db = tmp_path / "t.db"
    with Store(db) as store:
        run_id = store.start_run("fiverr", {})
    writer = RunWriter.start(db, run_id)
    writer.save(Seller("fiverr", "bob", "http://demo.test/bob"))
    for i in range(300):
        writer.save(_listing(i))
    writer.save(Removal("fiverr", "http://demo.test/bob/gig-7", 404, listing_id="g7"))
    report = writer.finish()
    assert (report.complete, report.stored, report.removed, report.error_count) == (True, 302, 1, 0)
    assert _rows(db, "SELECT count(*), count(removed_at) FROM listings WHERE last_run_id = %d" % run_id) == [(300, 1)]
    assert _rows(db, "SELECT seller_id FROM sellers") == [("bob",)]


def test_the_report_gives_the_writers_own_peak_memory(tmp_path):
    """Not the crawl's: getrusage's peak carries over exec, so a writer started by a big crawl would report its size."""
    ballast = bytearray(300 << 20)  # this process is now over 300 MiB resident
    writer = RunWriter.start(tmp_path / "t.db", None)
    report = writer.finish()
    del ballast
    assert 10 << 20 < report.max_rss < 200 << 20


def test_a_bad_item_is_reported_and_costs_no_other_and_leaves_no_half(tmp_path):
    db = tmp_path / "t.db"
    writer = RunWriter.start(db, None)
    writer.save(_listing(1))
    # A flag without its fields fails after the listing's row and version were written: both must go.
    writer.save(_listing(2, flags=[{"rule_id": "r"}]))
    writer.save(_listing(3))
    report = writer.finish()
    assert report.complete and report.error_count == 1
    assert report.errors[0].startswith("Listing fiverr/g2 (http://demo.test/bob/gig-2): KeyError")
    assert _rows(db, "SELECT listing_id FROM listings ORDER BY listing_id") == [("g1",), ("g3",)]
    assert _rows(db, "SELECT count(*) FROM listing_versions WHERE listing_id = 'g2'") == [(0,)]


def test_a_writer_that_died_stops_the_run_once_and_says_so(tmp_path):
    gone = []
    writer = RunWriter.start(tmp_path / "t.db", None, on_gone=gone.append)
    writer.proc.kill()
    writer.proc.wait()
    with pytest.raises(WriterGone):
        writer.save(_listing(1))
    with pytest.raises(WriterGone):
        writer.save(_listing(2))
    assert gone == [-signal.SIGKILL]
    report = writer.finish()
    assert not report.complete and report.exit_code == -signal.SIGKILL and report.error_count == 1


def test_the_writer_is_out_of_reach_of_a_ctrl_c_meant_for_the_crawl_and_gives_way_to_it(tmp_path):
    writer = RunWriter.start(tmp_path / "t.db", None)
    assert_crawl_child(writer.proc.pid)
    assert writer.finish().complete


def test_what_a_killed_crawl_had_handed_over_is_committed(tmp_path):
    """The crawl is SIGKILLed with its last message half written: the writer commits every whole one."""
    db = tmp_path / "t.db"
    crawl = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import os, signal, sys
        from crawler.items import Listing
        from crawler.frames import LENGTH
        from crawler.writer import RunWriter
        writer = RunWriter.start({str(db)!r}, None)
        for i in range(200):
            writer.save(Listing("fiverr", f"g{{i}}", f"http://demo.test/bob/gig-{{i}}", "bob", "I will write reviews"))
        os.write(writer.proc.stdin.fileno(), LENGTH.pack(1000) + b"half")
        print(writer.proc.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)], capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    assert crawl.returncode == -signal.SIGKILL, crawl.stderr
    # The writer outlives the crawl by its own last transaction; wait for it to exit.
    try:
        pidfd = os.pidfd_open(int(crawl.stdout))
    except ProcessLookupError:
        pass  # already exited
    else:
        try:
            assert select.select([pidfd], [], [], 120)[0], "the writer did not exit at the end of its input"
        finally:
            os.close(pidfd)
    assert _rows(db, "SELECT count(*) FROM listings") == [(200,)]


def test_a_crawl_whose_writer_dies_stops_as_writer_failed_and_keeps_what_was_committed(tmp_path):
    from crawler.demo import DemoMarketplace
    from crawler.settings import EXTENSIONS

    db = tmp_path / "t.db"
    extensions = {**EXTENSIONS, "tests.crawl_helpers.WriterKiller": 900}
    with DemoMarketplace() as site:
        crawl = subprocess.run(crawl_command(site.base_url, db, "-s", f"EXTENSIONS={json.dumps(extensions)}"),
                               capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent)
    assert crawl.returncode == 1, crawl.stderr[-3000:]
    assert "The run's writer exited (code -9): stopping the crawl" in crawl.stderr
    assert "ended with reason 'writer_failed'" in crawl.stderr
    (run,) = _rows(db, "SELECT finish_reason, status, pages FROM runs")
    assert run[:2] == ("writer_failed", "failed")
    # The crawl stopped soon after, not at its end; what was committed is whole.
    assert run[2] < 100
    assert _rows(db, """SELECT count(*) FROM listings l WHERE NOT EXISTS (SELECT 1 FROM listing_versions v
                        WHERE v.marketplace = l.marketplace AND v.listing_id = l.listing_id
                        AND v.content_hash = l.content_hash)""") == [(0,)]

"""Two real crawls of the demo into the same SQLite file at once: both finish, nothing is lost or doubled."""

from __future__ import annotations

import sqlite3
import subprocess
import sys

from crawler.demo import DemoMarketplace

CRAWL_TIMEOUT_S = 600
ARGS = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "CONCURRENT_REQUESTS=16",
        "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=16", "-s", "TURFWATCH_PROGRESS_INTERVAL=0"]
TABLES = ("listings", "listing_versions", "sellers", "flags", "leads", "listing_links")


def _command(base_url: str, db) -> list[str]:
    return [sys.executable, "-m", "crawler.cli", "crawl", "fiverr", "--base-url", base_url, "--db", str(db), *ARGS]


def _counts(db) -> dict[str, int]:
    conn = sqlite3.connect(db)
    return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def test_overlapping_runs_on_one_database(tmp_path):
    single, shared = tmp_path / "single" / "t.db", tmp_path / "shared" / "t.db"
    with DemoMarketplace() as site:
        alone = subprocess.run(_command(site.base_url, single), capture_output=True, text=True, timeout=CRAWL_TIMEOUT_S)
        assert alone.returncode == 0, alone.stderr[-3000:]
        # Both start before either finishes: the second is launched while the first runs.
        procs = [subprocess.Popen(_command(site.base_url, shared), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(2)]
        outputs = [p.communicate(timeout=CRAWL_TIMEOUT_S) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err[-3000:]
        assert "database is locked" not in err and "Traceback" not in err
    runs = sqlite3.connect(shared).execute("SELECT status, finish_reason, started_at, finished_at, listings FROM runs").fetchall()
    assert [r[:2] for r in runs] == [("ok", "finished")] * 2
    # They really overlapped: each started before the other finished.
    assert runs[0][2] <= runs[1][3] and runs[1][2] <= runs[0][3]
    assert runs[0][4] == runs[1][4] == sqlite3.connect(single).execute("SELECT listings FROM runs").fetchone()[0]
    assert _counts(shared) == _counts(single)
    # Each run captured every page it fetched.
    captures = sqlite3.connect(shared).execute("SELECT run_id, COUNT(*) FROM captures GROUP BY run_id").fetchall()
    assert len(captures) == 2 and captures[0][1] == captures[1][1]

"""A real HTTP crawl against a host that answers every request with Fiverr's challenge page."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.demo.httpserver import DemoHTTPServer
from tests.conftest import FIXTURES

CHALLENGE = (FIXTURES / "fiverr" / "blocked-challenge.html").read_bytes()


class ChallengeHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        self.send_response(403)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(CHALLENGE)))
        self.end_headers()
        self.wfile.write(CHALLENGE)

    def log_message(self, *args):
        pass


@pytest.fixture
def blocking_site():
    server = DemoHTTPServer(("127.0.0.1", 0), ChallengeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_blocked_crawl_stops_with_reason_blocked(blocking_site, tmp_path):
    db = tmp_path / "blocked.db"
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl", "fiverr", "--base-url", blocking_site, "--db", str(db),
         "-s", "TURFWATCH_MAX_BLOCKS=3", "-s", "TURFWATCH_BLOCK_BACKOFF=0", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0",
         "-s", "TURFWATCH_PROGRESS_INTERVAL=0"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "ended with reason 'blocked'" in proc.stderr
    assert "Traceback" not in proc.stderr
    run = sqlite3.connect(db).execute("SELECT finish_reason, status, stats FROM runs").fetchone()
    assert run[0] == "blocked" and run[1] == "failed"
    stats = json.loads(run[2])
    # Requests already in flight when the limit is reached are still counted.
    assert stats["turfwatch/blocked"] >= 3
    assert "turfwatch/no_props" not in stats, "a challenge page must never reach a parser"
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM listings").fetchone()[0] == 0


def test_block_pages_are_kept_as_evidence(blocking_site, tmp_path):
    """Even a blocked run leaves verifiable WARC records of what the site answered."""
    db = tmp_path / "blocked.db"
    subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl", "fiverr", "--base-url", blocking_site, "--db", str(db),
         "-a", "queries=reviews", "-s", "TURFWATCH_MAX_BLOCKS=2", "-s", "TURFWATCH_BLOCK_BACKOFF=0", "-s", "TURFWATCH_PROGRESS_INTERVAL=0"],
        capture_output=True, text=True, timeout=120,
    )
    warcs = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert len(warcs) == 1
    check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", "-v", *map(str, warcs)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout and "fail" not in check.stdout
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT status, sha256, warc_file, warc_offset FROM captures").fetchall()
    assert rows and all(r[0] == 403 for r in rows)
    assert all(r[1] == hashlib.sha256(CHALLENGE).hexdigest() for r in rows)
    with open(warcs[0], "rb") as fh:
        fh.seek(rows[0][3])
        record = next(iter(ArchiveIterator(fh)))
        assert record.rec_type == "response" and record.content_stream().read() == CHALLENGE

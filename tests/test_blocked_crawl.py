"""A real HTTP crawl against a host that answers every request with Fiverr's challenge page."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

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
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChallengeHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_blocked_crawl_stops_with_reason_blocked(blocking_site, tmp_path):
    db = tmp_path / "blocked.db"
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "crawl", "fiverr", "--base-url", blocking_site, "--db", str(db),
         "-s", "TURFWATCH_MAX_BLOCKS=3", "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0",
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

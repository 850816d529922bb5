"""The flag worker (crawler/flag_worker.py): listings judged in a child process, as this process judges them."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.demo.content import DATA_DIR, _read_jsonl
from crawler.flag_worker import FlagWorker, FlagWorkerGone, verdict
from crawler.flagging import get_flagger
from tests.conftest import ROOT
from tests.crawl_helpers import assert_crawl_child, crawl_command

FIELDS = ("title", "description", "tags", "packages", "faq")


def _listings() -> list[dict]:
    return [{name: gig.get(name) for name in FIELDS} for gig in _read_jsonl(DATA_DIR / "gigs.jsonl")]


@pytest.fixture
def worker():
    worker = FlagWorker.spawn()
    yield worker
    worker.close()


def _judge_all(worker: FlagWorker, listings: list[dict]) -> list:
    """All at once, as a crawl's callbacks send them: the answers must find their listings."""
    async def judge_all():
        return await asyncio.gather(*(worker.judge(fields) for fields in listings), return_exceptions=True)
    return asyncio.run(judge_all())


def test_the_worker_judges_as_this_process_does(worker):
    assert worker.wait_ready()
    flagger = get_flagger()
    assert worker.rules_version == " ".join(f"{r.id}@{r.version}" for r in flagger.rules)
    listings = _listings()
    got = _judge_all(worker, listings)
    assert got == [verdict(flagger.judge(fields)) for fields in listings]
    flagged = sum(1 for _, _, sells, _ in got if sells)
    assert 0 < flagged < len(listings)  # both kinds were judged


def test_a_huge_listing_among_many_does_not_stall_the_pipes(worker):
    """Listings much larger than a pipe, sent while verdicts pile up in the other pipe."""
    assert worker.wait_ready()
    listings = _listings()[:60]
    huge = {**listings[0], "description": "Five star reviews on your Google page. " * 100_000}  # 3.9 MB
    batch = listings[:30] + [huge] + listings[30:]
    got = _judge_all(worker, batch)
    flagger = get_flagger()
    assert got[30] == verdict(flagger.judge(huge)) and got[30][2]
    assert got[:30] + got[31:] == [verdict(flagger.judge(fields)) for fields in listings]


def _ignored_signals(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^SigIgn:\s*([0-9a-f]+)$", status, re.M).group(1), 16)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_the_worker_leaves_stop_signals_to_the_crawl_and_gives_way_to_it(worker):
    assert worker.wait_ready()  # it has set itself up before saying so
    pid = worker.proc.pid
    stop = sum(1 << (sig - 1) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGTTOU))
    # A signal this process ignores is ignored by its children from the start: only the others prove anything.
    assert stop & ~_ignored_signals(os.getpid()), "this test's process ignores every stop signal already"
    assert _ignored_signals(pid) & stop == stop
    assert_crawl_child(pid)


def test_a_dead_worker_fails_every_listing_with_flag_worker_gone(worker):
    assert worker.wait_ready()
    worker.proc.send_signal(signal.SIGKILL)
    worker.proc.wait()
    got = _judge_all(worker, _listings()[:5])
    assert all(isinstance(result, FlagWorkerGone) for result in got), got
    assert "exited" in worker.gone
    with pytest.raises(FlagWorkerGone):
        asyncio.run(worker.judge(_listings()[0]))


def test_a_worker_that_never_starts_says_so():
    proc = subprocess.Popen([sys.executable, "-c", "import sys; sys.exit(3)"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    worker = FlagWorker(proc)
    assert not worker.wait_ready()
    assert "did not start" in worker.gone
    worker.close()


def test_a_worker_that_stays_silent_is_given_up(monkeypatch):
    from crawler import flag_worker

    monkeypatch.setattr(flag_worker, "READY_SECONDS", 0.2)
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    worker = FlagWorker(proc)
    assert not worker.wait_ready()
    assert "did not start within 0.2 s" in worker.gone
    worker.close()  # it was killed: closing does not wait for its sleep
    assert proc.returncode is not None


def _flags_by_listing(db: Path) -> dict:
    with sqlite3.connect(db) as conn:
        return {row[0]: row[1:] for row in conn.execute(
            "SELECT l.listing_id, l.sells_reviews, l.score, l.language,"
            " (SELECT json_group_array(rule_id) FROM (SELECT rule_id FROM flags f WHERE f.marketplace = l.marketplace"
            "  AND f.listing_id = l.listing_id ORDER BY rule_id)) FROM listings l")}


def test_a_crawl_whose_worker_dies_judges_every_listing_itself(tmp_path):
    """A real demo crawl: the flag worker is killed at the 20th response, and the listings are judged as a
    crawl without a worker judges them."""
    from crawler.demo import DemoMarketplace
    from crawler.settings import EXTENSIONS

    extensions = {**EXTENSIONS, "tests.crawl_helpers.FlagWorkerKiller": 900}
    with DemoMarketplace() as site:
        killed = subprocess.run(crawl_command(site.base_url, tmp_path / "killed.db",
                                              "-s", f"EXTENSIONS={json.dumps(extensions)}"),
                                capture_output=True, text=True, timeout=300, cwd=ROOT)
        alone = subprocess.run(crawl_command(site.base_url, tmp_path / "alone.db", "-s", "TURFWATCH_FLAG_WORKER=0"),
                               capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert killed.returncode == 0, killed.stderr[-3000:]
    assert alone.returncode == 0, alone.stderr[-3000:]
    assert "judging in this process from now on" in killed.stderr
    assert "judging in this process" not in alone.stderr
    judged = _flags_by_listing(tmp_path / "killed.db")
    assert len(judged) > 200 and sum(row[0] for row in judged.values()) > 50
    assert judged == _flags_by_listing(tmp_path / "alone.db")

"""Helpers for tests that run real crawls in subprocesses: commands, bounded polling, database snapshots."""

from __future__ import annotations

import contextlib

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Callable

import pytest

from tests.conftest import ROOT

# Our own demo server on 127.0.0.1: politeness would only slow the tests down.
FAST = ["-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "TURFWATCH_PROGRESS_INTERVAL=0"]


def crawl_command(base_url: str, db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "crawler.cli", "crawl", "fiverr", "--base-url", base_url, "--db", str(db), *FAST, *extra]


def start(command: list[str], log: Path, **kwargs) -> subprocess.Popen:
    """A subprocess (in the repository root unless `cwd` says otherwise) whose output goes to `log` (a pipe could fill up and stall it)."""
    handle = open(log, "wb")
    try:
        return subprocess.Popen(command, **{"cwd": ROOT, **kwargs}, stdout=handle, stderr=subprocess.STDOUT)
    finally:
        handle.close()


@contextlib.contextmanager
def serving(command: list[str], log: Path, ready: Callable[[], bool], what: str, **kwargs):
    """A server process for the length of a `with` block: started, polled until `ready`, then stopped."""
    proc = start(command, log, **kwargs)
    try:
        wait_until(ready, timeout=60, what=what, proc=proc, log=log)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, proc: subprocess.Popen | None = None,
               log: Path | None = None, interval: float = 0.05) -> None:
    """Poll `check` until it holds; fail after `timeout` seconds, or when `proc` ends first."""
    deadline = time.monotonic() + timeout
    while not check():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"process ended (rc={proc.returncode}) before {what}:\n{tail(log)}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}:\n{tail(log)}")
        time.sleep(interval)


def tail(log: Path | None, chars: int = 3000) -> str:
    if log is None or not log.exists():
        return ""
    return log.read_text(encoding="utf-8", errors="replace")[-chars:]


def count(db: Path, table: str) -> int:
    """Rows in `table` of a database another process may be writing; 0 while it is not there yet."""
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def rows(db: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def snapshot(*dbs: Path) -> dict[str, set]:
    """What a crawl found, across one or more databases: the things that must not differ."""
    queries = {
        "listings": "SELECT marketplace, listing_id, seller_id, content_hash, sells_reviews FROM listings",
        "sellers": "SELECT marketplace, seller_id FROM sellers",
        "flags": "SELECT marketplace, listing_id, rule_id, field, span_start, span_end FROM flags",
        "leads": "SELECT marketplace, seller_id, flagged_listings FROM leads",
    }
    return {name: {row for db in dbs for row in rows(db, sql)} for name, sql in queries.items()}


def fetch_counts(*dbs: Path) -> Counter:
    """How often each URL was downloaded (robots.txt left out: every process reads it)."""
    urls = Counter()
    for db in dbs:
        urls.update(url for (url,) in rows(db, "SELECT url FROM captures") if not url.endswith("/robots.txt"))
    return urls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_home(tmp_path: Path, name: str) -> tuple[int, Path]:
    """A free 127.0.0.1 port and a fresh folder tmp_path/name for a server a test starts."""
    home = tmp_path / name
    home.mkdir()
    return free_port(), home


def need_binary(name: str, install: str) -> str:
    """Path of a program the test needs. In CI its absence is a failure (CI must install it), elsewhere a skip."""
    path = shutil.which(name) or (shutil.which(name, path=str(Path(sys.executable).parent)))
    if path:
        return path
    message = f"{name} is not installed ({install})"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}; CI must provide it")
    pytest.skip(message)


def assert_crawl_child(pid: int) -> None:
    """A child of the crawl (crawler/frames.py spawn_child): a process group of its own, so a Ctrl-C is for the
    crawl's; the crawl's session, so Linux's autogroup scheduler weighs it with the crawl (Python 3.11+; before,
    it has a session of its own); CHILD_NICE below the crawl."""
    from crawler.frames import CHILD_NICE

    assert os.getpgid(pid) == pid != os.getpgid(0)
    if sys.version_info >= (3, 11):
        assert os.getsid(pid) == os.getsid(0)
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + CHILD_NICE)


class _ChildKiller:
    """Crawl extension for tests (`-s EXTENSIONS=...`): kills one of the crawl's child processes at the 20th
    response and waits until it is gone, so everything sent to it later finds it dead."""

    AT = 20

    def __init__(self, crawler):
        self.crawler = crawler
        self.responses = 0

    @classmethod
    def from_crawler(cls, crawler):
        from scrapy import signals

        ext = cls(crawler)
        crawler.signals.connect(ext.response_received, signal=signals.response_received)
        return ext

    def response_received(self, response, request, spider):
        self.responses += 1
        if self.responses == self.AT:
            proc = self.child()
            proc.kill()
            proc.wait()

    def child(self) -> subprocess.Popen:
        raise NotImplementedError


class WriterKiller(_ChildKiller):
    """Kills the run's writer (crawler/writer.py)."""

    def child(self) -> subprocess.Popen:
        from crawler.pipelines import StorePipeline

        return self.crawler.get_item_pipeline(StorePipeline).writer.proc


class FlagWorkerKiller(_ChildKiller):
    """Kills the crawl's flag worker (crawler/flag_worker.py)."""

    def child(self) -> subprocess.Popen:
        from crawler.flag_worker import FlagWorker

        worker = FlagWorker.ready_shared()
        assert worker is not None, "the crawl has no flag worker"
        return worker.proc

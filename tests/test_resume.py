"""A crawl interrupted with SIGINT/SIGTERM and started again with the same --job ends where an uninterrupted one does."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest
from click.testing import CliRunner

from crawler.cli import cli
from crawler.demo import DemoMarketplace
from crawler.jobs import FINISHED_MARKER, job_dir, validate_job_name
from tests.crawl_helpers import count, crawl_command, fetch_counts, rows, snapshot, start, tail, wait_until

ONE_AT_A_TIME = ["-s", "CONCURRENT_REQUESTS=1"]


@pytest.fixture(scope="module")
def site():
    with DemoMarketplace() as demo:
        yield demo.base_url


@pytest.fixture(scope="module")
def reference(site, tmp_path_factory):
    """One uninterrupted crawl of the demo, without a job."""
    db = tmp_path_factory.mktemp("reference") / "b.db"
    proc = subprocess.run(crawl_command(site, db), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return db


def run_to_end(command, log):
    proc = start(command, log)
    try:
        proc.wait(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_job_resumes_without_refetching(site, reference, tmp_path, stop_signal):
    db = tmp_path / "a.db"
    command = crawl_command(site, db, "--job", "j1", *ONE_AT_A_TIME)
    first_log = tmp_path / "first.log"
    proc = start(command, first_log)
    try:
        wait_until(lambda: count(db, "listings") >= 40, timeout=180, what=">= 40 listings", proc=proc, log=first_log)
        proc.send_signal(stop_signal)
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rows(db, "SELECT finish_reason FROM runs") == [("shutdown",)], tail(first_log)
    assert (tmp_path / "jobs" / "j1" / "requests.seen").is_file()
    interrupted = count(db, "listings")

    second_log = tmp_path / "second.log"
    assert run_to_end(command, second_log) == 0, tail(second_log)
    assert rows(db, "SELECT id, finish_reason FROM runs ORDER BY id") == [(1, "shutdown"), (2, "finished")]
    # The second run went on from the saved frontier instead of starting again.
    assert rows(db, "SELECT listings FROM runs WHERE id = 2")[0][0] <= count(db, "listings") - interrupted

    assert snapshot(db) == snapshot(reference)
    fetched = fetch_counts(db)
    assert fetched and max(fetched.values()) == 1, [url for url, n in fetched.items() if n > 1]
    assert set(fetched) == set(fetch_counts(reference))
    for (stats,) in rows(db, "SELECT stats FROM runs"):
        # An unpicklable request would live in memory only and be lost on the interruption.
        assert "scheduler/unserializable" not in json.loads(stats)


def test_finished_job_run_again_starts_afresh(site, tmp_path):
    """The nightly cron line reuses one job name: after a run that finished, the next one is a new crawl."""
    db = tmp_path / "a.db"
    command = crawl_command(site, db, "--job", "nightly", "-a", "queries=amazon reviews")
    assert run_to_end(command, tmp_path / "1.log") == 0, tail(tmp_path / "1.log")
    assert (tmp_path / "jobs" / "nightly" / FINISHED_MARKER).is_file()
    first = fetch_counts(db)
    assert run_to_end(command, tmp_path / "2.log") == 0, tail(tmp_path / "2.log")
    assert rows(db, "SELECT finish_reason, status FROM runs ORDER BY id") == [("finished", "ok")] * 2
    # Every page of the first night was fetched again on the second.
    assert fetch_counts(db) == {url: 2 * n for url, n in first.items()}
    assert "starting it afresh" in (tmp_path / "2.log").read_text()


@pytest.mark.parametrize("name", ["", "..", ".", "../x", "a/b", "x" * 65, "ü", "a b", "a\n"])
def test_bad_job_names_are_refused(name, tmp_path):
    with pytest.raises(ValueError):
        validate_job_name(name)
    result = CliRunner().invoke(cli, ["crawl", "fiverr", "--db", str(tmp_path / "x.db"), "--job", name])
    assert result.exit_code == 2
    assert "job name must be" in result.output
    assert not (tmp_path / "jobs").exists()


@pytest.mark.parametrize("name", ["j1", "nightly-2025.01.02", "A_b", "x" * 64, "..a"])
def test_good_job_names_live_beside_the_database(name, tmp_path):
    assert job_dir(tmp_path / "t.db", name) == tmp_path.resolve() / "jobs" / name

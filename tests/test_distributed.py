"""Two workers share one frontier in a real redis-server: every page is fetched once, and their merged shards equal one crawl."""

from __future__ import annotations

import subprocess

import pytest

from crawler.demo import DemoMarketplace
from crawler.merge import merge_shards
from tests.crawl_helpers import (
    count, crawl_command, fetch_counts, need_binary, rows, server_home, serving, snapshot, start, tail,
)


def redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_url(tmp_path):
    binary = need_binary("redis-server", "apt-get install -y redis-server")
    port, home = server_home(tmp_path, "redis")
    url = f"redis://127.0.0.1:{port}/0"
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(home)]
    with serving(command, home / "redis.log", lambda: redis_answers(url), "redis-server to answer", cwd=home):
        yield url


@pytest.fixture(scope="module")
def site():
    with DemoMarketplace() as demo:
        yield demo.base_url


def test_two_workers_share_the_frontier(site, redis_url, tmp_path):
    shards = [tmp_path / f"worker{i}" / "shard.db" for i in (1, 2)]
    logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
    workers = [
        start(crawl_command(site, shard, "--job", "dist", "-s", f"TURFWATCH_REDIS_URL={redis_url}",
                            "-s", "CONCURRENT_REQUESTS=2"), log)
        for shard, log in zip(shards, logs)
    ]
    try:
        for proc, log in zip(workers, logs):
            proc.wait(timeout=300)
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.kill()
    for shard, log in zip(shards, logs):
        assert rows(shard, "SELECT finish_reason FROM runs") == [("finished",)], tail(log)
        assert "scrapy_redis" in log.read_text(encoding="utf-8"), "the Redis scheduler was not used"

    reference = tmp_path / "single" / "single.db"
    single = subprocess.run(crawl_command(site, reference), capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stderr[-3000:]

    fetched = fetch_counts(*shards)
    assert max(fetched.values()) == 1, [url for url, n in fetched.items() if n > 1]
    assert set(fetched) == set(fetch_counts(reference))
    # Both took pages from the shared frontier (each crawl takes seconds, start-up well under that).
    assert fetch_counts(shards[0]) and fetch_counts(shards[1])

    merged = tmp_path / "merged" / "merged.db"
    merge_shards(shards, merged)
    assert snapshot(merged) == snapshot(reference)
    assert count(merged, "runs") == 2 and count(merged, "captures") == sum(count(s, "captures") for s in shards)


def test_redis_frontier_needs_a_job_name(site, tmp_path):
    proc = subprocess.run(crawl_command(site, tmp_path / "x.db", "-s", "TURFWATCH_REDIS_URL=redis://127.0.0.1:1/0"),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "TURFWATCH_REDIS_URL needs a job name" in proc.stderr
    assert count(tmp_path / "x.db", "captures") == 0

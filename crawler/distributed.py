"""Crawls spread over machines: a query split for Scrapyd nodes, and a frontier shared in Redis (scrapy-redis)."""

from __future__ import annotations

from typing import Any, Sequence, TypeVar

from crawler.jobs import validate_job_name

T = TypeVar("T")


def parse_part(part: Any, of: Any) -> tuple[int, int]:
    """`part` and `of` spider arguments as (k, n) with 0 <= k < n; (0, 1) when both are absent."""
    if part in (None, "") and of in (None, ""):
        return 0, 1
    try:
        k, n = int(part), int(of)
    except (TypeError, ValueError):
        raise ValueError(f"part and of must both be whole numbers, got part={part!r} of={of!r}") from None
    if not 0 <= k < n:
        raise ValueError(f"part must be 0 <= part < of, got part={k} of={n}")
    return k, n


def split_part(items: Sequence[T], part: int, of: int) -> list[T]:
    """Part k of n takes items i with i % n == k: every item goes to exactly one part."""
    return [item for i, item in enumerate(items) if i % of == part]


def redis_keys(job: str) -> dict[str, str]:
    """Redis keys of a job's shared frontier; `%(spider)s` is filled in by scrapy-redis."""
    prefix = f"turfwatch:{validate_job_name(job)}:%(spider)s"
    return {"SCHEDULER_QUEUE_KEY": f"{prefix}:requests", "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:dupefilter"}


class RedisFrontier:
    """Scrapy add-on: when TURFWATCH_REDIS_URL is set, requests are queued and
    de-duplicated in Redis (scrapy-redis scheduler and dupefilter), so every worker
    on the same job takes pages from one frontier and no page is fetched twice.
    Each worker still starts with the spider's own `start()`; the shared dupefilter
    drops the start requests another worker already queued."""

    def update_settings(self, settings) -> None:
        url = settings.get("TURFWATCH_REDIS_URL")
        if not url:
            return
        job = settings.get("TURFWATCH_JOB")
        if not job:
            # A frontier outlives its workers: without a name, tomorrow's crawl would
            # find every page "already seen" in yesterday's.
            raise ValueError("TURFWATCH_REDIS_URL needs a job name for the shared frontier: "
                             "--job NAME, or -s TURFWATCH_JOB=NAME")
        shared = {
            "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "REDIS_URL": url,
            # The first worker to finish must not wipe the frontier the others still use.
            "SCHEDULER_PERSIST": True,
            "SCHEDULER_FLUSH_ON_START": False,
            # Idle workers close instead of waiting: whoever holds a page in flight
            # queues its children and takes them itself.
            "SCHEDULER_IDLE_BEFORE_CLOSE": 0,
            **redis_keys(job),
        }
        for name, value in shared.items():
            settings.set(name, value, priority="addon")

"""Retry-After is read and kept: AutoThrottle never brings a slowed-down site back below its wait."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from types import SimpleNamespace

from scrapy import Request
from scrapy.core.downloader import Slot
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.middlewares import FlooredAutoThrottle, retry_after_seconds, slow_down
from crawler.settings import EXTENSIONS


def test_retry_after_as_seconds_or_http_date():
    now = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=90), usegmt=True), now=now) == 90.0
    assert retry_after_seconds(format_datetime(now - timedelta(seconds=90), usegmt=True), now=now) == 0.0
    assert retry_after_seconds(b"soon") is None and retry_after_seconds(None) is None


def _downloader(slot: Slot):
    return SimpleNamespace(get_slot_key=lambda request: "site", slots={"site": slot})  # what slow_down uses


def test_autothrottle_keeps_the_delay_a_site_asked_for():
    assert EXTENSIONS["scrapy.extensions.throttle.AutoThrottle"] is None
    crawler = get_crawler(settings_dict={"AUTOTHROTTLE_ENABLED": True, "AUTOTHROTTLE_MAX_DELAY": 30})
    throttle = FlooredAutoThrottle(crawler)
    throttle.mindelay, throttle.maxdelay = 0.0, 30.0
    slot = Slot(concurrency=1, delay=1.0, jitter=0)
    crawler.engine = SimpleNamespace(downloader=_downloader(slot))
    request = Request("http://127.0.0.1/x")
    assert slow_down(crawler, request, 600) == 600
    fast = HtmlResponse("http://127.0.0.1/x", status=200, body=b"ok", request=request)
    for _ in range(5):  # quick good answers: plain AutoThrottle would pull the delay down to 30 s at most
        throttle._adjust_delay(slot, 0.05, fast)
    assert slot.delay == 600
    other = Slot(concurrency=1, delay=1.0, jitter=0)
    throttle._adjust_delay(other, 0.05, fast)
    assert other.delay < 1.0  # a site never slowed down is throttled as usual

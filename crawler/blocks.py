"""Recognise bot-challenge pages, so a block is counted as a block and never parsed as "no results"."""

from __future__ import annotations

import re

# Markers of the challenge pages of the bot-management vendors marketplaces use.
# PerimeterX/HUMAN is what Fiverr serves ("It needs a human touch", #px-captcha).
_MARKERS = [
    ("perimeterx", re.compile(rb'id="px-captcha"|name="pxAppId"|<title>\s*It needs a human touch', re.I)),
    ("cloudflare", re.compile(rb"cf-chl-|<title>\s*Just a moment\.\.\.", re.I)),
    ("datadome", re.compile(rb"captcha-delivery\.com|datadome", re.I)),
]
_BLOCK_STATUSES = {403, 429, 503}


def challenge_vendor(status: int, body: bytes) -> str | None:
    """The vendor whose challenge this response is, or None for an ordinary page.

    Only the head of the body is searched: challenge markers sit early, and a
    20 MB listing page must not cost a full regex scan."""
    head = body[:200_000]
    for vendor, pattern in _MARKERS:
        if pattern.search(head):
            # A listing that merely mentions "captcha" is served with 200 and no
            # challenge script; a real challenge comes with a block status or
            # with the vendor's own element ids, both matched above.
            if status in _BLOCK_STATUSES or vendor == "perimeterx":
                return vendor
    return None

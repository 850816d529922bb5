"""Recognise bot-challenge pages, so a block is counted as a block and never parsed as "no results"."""

from __future__ import annotations

import re

# Markers of the challenge pages of the bot-management vendors marketplaces use: (vendor, needles, pattern).
# PerimeterX/HUMAN is what Fiverr serves ("It needs a human touch", #px-captcha).
# The needles are lower-case text every match of the pattern contains, one per alternative (re.I on bytes
# folds ASCII only, as bytes.lower() does). A case-insensitive regex scans a page byte by byte; `in` on the
# lowered head finds these at memory speed, and the pattern only runs on a page that has one of them: same
# answers, a fraction of the time.
_MARKERS = [
    ("perimeterx", (b'id="px-captcha"', b'name="pxappid"', b"it needs a human touch"),
     re.compile(rb'id="px-captcha"|name="pxAppId"|<title>\s*It needs a human touch', re.I)),
    ("cloudflare", (b"cf-chl-", b"just a moment..."),
     re.compile(rb"cf-chl-|<title>\s*Just a moment\.\.\.", re.I)),
    ("datadome", (b"captcha-delivery.com", b"datadome"),
     re.compile(rb"captcha-delivery\.com|datadome", re.I)),
]
# A listing that merely mentions "captcha" is served with 200 and no challenge script; a real challenge
# comes with a block status or with the vendor's own element ids: with any other status only these count.
_ANY_STATUS_MARKERS = [marker for marker in _MARKERS if marker[0] == "perimeterx"]
_BLOCK_STATUSES = {403, 429, 503}
# How much of a body is searched: challenge markers sit early (Fiverr's within
# the first 8 kB), and every page of a crawl passes through here.
_HEAD_BLOCKED = 200_000
_HEAD_OK = 16_000


def challenge_vendor(status: int, body: bytes) -> str | None:
    """The vendor whose challenge this response is, or None for an ordinary page.

    Only the head of the body is searched, a longer one when the status already
    says "blocked": a 20 MB listing page must not cost a full regex scan."""
    blocked = status in _BLOCK_STATUSES
    head = body[: _HEAD_BLOCKED if blocked else _HEAD_OK]
    lowered = head.lower()
    for vendor, needles, pattern in _MARKERS if blocked else _ANY_STATUS_MARKERS:
        if any(needle in lowered for needle in needles) and pattern.search(head):
            return vendor
    return None

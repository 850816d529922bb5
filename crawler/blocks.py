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
# Lower-case text every match of each pattern above contains (re.I on bytes folds ASCII only, as bytes.lower()
# does). A case-insensitive regex scans a page byte by byte; `in` on the lowered head finds these at memory
# speed, and the pattern only runs on a page that has one of them: same answers, a fraction of the time.
_NEEDLES = {
    "perimeterx": (b'id="px-captcha"', b'name="pxappid"', b"it needs a human touch"),
    "cloudflare": (b"cf-chl-", b"just a moment..."),
    "datadome": (b"captcha-delivery.com", b"datadome"),
}
_BLOCK_STATUSES = {403, 429, 503}
# How much of a body is searched: challenge markers sit early (Fiverr's within
# the first 8 kB), and every page of a crawl passes through here.
_HEAD_BLOCKED = 200_000
_HEAD_OK = 16_000


def challenge_vendor(status: int, body: bytes) -> str | None:
    """The vendor whose challenge this response is, or None for an ordinary page.

    Only the head of the body is searched, a longer one when the status already
    says "blocked": a 20 MB listing page must not cost a full regex scan."""
    head = body[: _HEAD_BLOCKED if status in _BLOCK_STATUSES else _HEAD_OK]
    lowered = head.lower()
    for vendor, pattern in _MARKERS:
        if any(needle in lowered for needle in _NEEDLES[vendor]) and pattern.search(head):
            # A listing that merely mentions "captcha" is served with 200 and no
            # challenge script; a real challenge comes with a block status or
            # with the vendor's own element ids, both matched above.
            if status in _BLOCK_STATUSES or vendor == "perimeterx":
                return vendor
    return None

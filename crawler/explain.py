"""Why a stored listing was flagged: each matched span in its context, the rule, the law and the capture."""

from __future__ import annotations

import json

from crawler.report import flag_context
from crawler.store import Store


def find_listing(store: Store, ref: str) -> tuple[str, str]:
    """A listing by URL, `marketplace:listing_id`, or a bare listing_id known on one marketplace."""
    if "://" in ref:
        rows = list(store.db.query("SELECT marketplace, listing_id FROM listings WHERE url = ?", [ref]))
    else:
        marketplace, sep, listing_id = ref.partition(":")
        if sep:
            rows = list(store.db.query(
                "SELECT marketplace, listing_id FROM listings WHERE marketplace = ? AND listing_id = ?",
                [marketplace, listing_id]))
        else:
            rows = list(store.db.query("SELECT marketplace, listing_id FROM listings WHERE listing_id = ?", [ref]))
    if not rows:
        raise LookupError(f"no listing {ref!r}")
    if len(rows) > 1:
        raise LookupError(f"{ref!r} names listings on several marketplaces; write MARKETPLACE:{ref}")
    return rows[0]["marketplace"], rows[0]["listing_id"]


def explain_listing(store: Store, ref: str) -> dict:
    """The listing's current version and, per flag, its context, rule, legal anchors and capture."""
    marketplace, listing_id = find_listing(store, ref)
    listing = next(store.db.query(
        "SELECT * FROM listings WHERE marketplace = ? AND listing_id = ?", [marketplace, listing_id]))
    flags = []
    for flag in store.db.query(
            """SELECT f.*, c.capture_id, c.fetched_at, c.sha256, c.warc_file FROM flags f
               LEFT JOIN captures c ON c.marketplace = f.marketplace AND c.listing_id = f.listing_id
                AND c.content_hash = f.content_hash
               WHERE f.marketplace = ? AND f.listing_id = ? AND f.content_hash = ?
               GROUP BY f.rule_id, f.field, f.span_start, f.span_end
               ORDER BY f.score DESC, f.field, f.span_start""",
            [marketplace, listing_id, listing["content_hash"]]):
        flag["legal"] = json.loads(flag["legal"] or "[]")
        flag["context"] = flag_context(listing, flag)
        flags.append(flag)
    return {"listing": listing, "flags": flags}

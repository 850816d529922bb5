"""Why a stored listing was flagged: each matched span in its context, the rule, the law and the capture."""

from __future__ import annotations

import json

from crawler.report import flag_context
from crawler.store import Store


def explain_listing(store: Store, ref: str) -> dict:
    """The listing's current version and, per flag, its context, rule, legal anchors and capture."""
    listing = store.find_listing(ref)
    marketplace, listing_id = listing["marketplace"], listing["listing_id"]
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

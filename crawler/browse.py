"""Browse a turfwatch database read-only in Datasette: descriptions of every table and canned queries."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path

TABLES = {
    "sellers": ("The account behind listings; one row per marketplace and username.", {
        "seller_id": "The marketplace username.",
        "profile_url": "The seller's public profile page.",
        "first_seen": "First time a crawl saw the seller (UTC).",
        "last_seen": "Latest time a crawl saw the seller (UTC).",
        "last_run_id": "The run that last saw the seller.",
    }),
    "listings": ("Each listing (gig) as last seen; older versions are in listing_versions.", {
        "seller_id": "Username of the seller offering the listing.",
        "score": "Flagger score of the current version (0..1).",
        "sells_reviews": "1 when the current version offers reviews (labeling guide).",
        "content_hash": "SHA-256 of title, description, tags, packages, FAQ and price: a new value is a new version.",
        "text_fingerprint": "Hash of the description blind to case and spacing, to find relists.",
        "removed_at": "When the listing was found gone (UTC); its evidence is kept.",
        "removed_reason": "How the removal was seen (404/410, gone from the seller page).",
    }),
    "listing_versions": ("Every version of every listing: what the seller wrote then is the evidence.", {
        "content_hash": "Identifies the version; flags point to it.",
        "capture_id": "WARC record of the page this version was read from.",
    }),
    "flags": ("One rule match in one version of a listing.", {
        "rule_id": "Stable id of the rule that fired.",
        "rule_version": "Version of that rule.",
        "category": "review_fabrication, incentivized_reviews, review_suppression or fake_engagement.",
        "field": "Where in the listing: title, description, tags[i], packages[i].description, faq[i].answer ...",
        "span_start": "Start offset of the match in the original field text.",
        "span_end": "End offset (exclusive) of the match in the original field text.",
        "matched_text": "The exact text matched.",
        "platform": "The platform the offer targets (google, amazon, trustpilot ...).",
        "legal": "Legal anchors of the category (JSON list).",
    }),
    "leads": ("A seller with flagged listings, to be triaged by an analyst.", {
        "score": "Lead score (0..1): strongest listing, raised by repetition and breadth.",
        "status": "new, confirmed, dismissed, reported or removed.",
        "flagged_listings": "How many of the seller's listings are flagged.",
        "categories": "Categories of the flags (JSON list).",
        "platforms": "Platforms the offers target (JSON list).",
        "new_in_run_id": "The run that found (or re-found) the lead.",
    }),
    "lead_events": ("Append-only triage log: who changed a lead's status, when and why.", {}),
    "listing_links": ("Listings carrying the same offer: relists under a new URL or another account.", {}),
    "captures": ("One downloaded response, stored in a WARC file.", {
        "capture_id": "WARC-Record-ID of the response record.",
        "warc_file": "WARC file name in the WARC directory.",
        "warc_offset": "Byte offset of the record's gzip member in the WARC file.",
        "warc_length": "Length of that gzip member in bytes.",
        "sha256": "SHA-256 of the response body as received.",
        "fetched_at": "When the response arrived (UTC).",
    }),
    "runs": ("Each crawl: arguments, start and end, finish reason, counts.", {}),
    "cluster_members": ("Sellers grouped as probably one operation.", {}),
}

QUERIES = {
    "top_leads": {
        "title": "Top leads",
        "description": "Leads best first, with the seller's profile URL.",
        "sql": """SELECT leads.marketplace, leads.seller_id, leads.score, leads.status, leads.flagged_listings,
       leads.categories, leads.platforms, leads.first_flagged, leads.last_flagged, sellers.profile_url
FROM leads LEFT JOIN sellers USING (marketplace, seller_id)
ORDER BY leads.score DESC, leads.flagged_listings DESC, leads.seller_id
LIMIT 100""",
    },
    "new_since_last_run": {
        "title": "New since last run",
        "description": "Leads found by the latest finished run.",
        "sql": """SELECT leads.marketplace, leads.seller_id, leads.score, leads.status, leads.flagged_listings,
       leads.categories, leads.platforms, sellers.profile_url
FROM leads LEFT JOIN sellers USING (marketplace, seller_id)
WHERE leads.new_in_run_id = (SELECT MAX(id) FROM runs WHERE finished_at IS NOT NULL)
ORDER BY leads.score DESC, leads.seller_id""",
    },
    "seller_flags": {
        "title": "Flags of one seller",
        "description": "Every flag on every version of a seller's listings.",
        "sql": """SELECT flags.listing_id, listings.url, flags.field, flags.span_start, flags.span_end,
       flags.matched_text, flags.rule_id, flags.rule_version, flags.category, flags.platform, flags.legal,
       flags.score, flags.first_seen, flags.last_seen, listing_versions.capture_id
FROM flags
JOIN listings ON listings.marketplace = flags.marketplace AND listings.listing_id = flags.listing_id
LEFT JOIN listing_versions ON listing_versions.marketplace = flags.marketplace
  AND listing_versions.listing_id = flags.listing_id AND listing_versions.content_hash = flags.content_hash
WHERE flags.marketplace = :marketplace AND listings.seller_id = :seller_id
ORDER BY flags.listing_id, flags.first_seen, flags.field, flags.span_start""",
    },
}

CLUSTERS_QUERY = {
    "title": "Clusters",
    "description": "Sellers grouped as probably one operation, with their lead status and score.",
    "sql": """SELECT cluster_members.cluster_id, cluster_members.marketplace, cluster_members.seller_id,
       leads.status, leads.score
FROM cluster_members LEFT JOIN leads USING (marketplace, seller_id)
ORDER BY cluster_members.cluster_id, leads.score DESC""",
}


def _table_names(db_path: Path) -> set[str]:
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    finally:
        conn.close()


def database_name(db_path: Path) -> str:
    """The name Datasette gives a database file: its stem."""
    return db_path.stem


def build_metadata(db_path: Path) -> dict:
    """Datasette metadata for this database: descriptions of the tables it has, and canned queries."""
    present = _table_names(db_path)
    tables = {
        name: {"description": description, **({"columns": columns} if columns else {})}
        for name, (description, columns) in TABLES.items() if name in present
    }
    queries = dict(QUERIES)
    if "cluster_members" in present:
        queries["clusters"] = CLUSTERS_QUERY
    return {
        "title": "turfwatch",
        "description": "Sellers of fake reviews found on freelance marketplaces, with flags and evidence. Read-only.",
        "databases": {database_name(db_path): {"tables": tables, "queries": queries}},
    }


def datasette_args(db_path: Path, metadata_file: Path, *, host: str, port: int, live: bool) -> list[str]:
    """`datasette serve` arguments. Immutable mode by default; `live` opens the file with
    mode=ro instead, which sees a crawl writing to it (Datasette never writes either way)."""
    return ["serve", *([str(db_path)] if live else ["--immutable", str(db_path)]),
            "--metadata", str(metadata_file), "--host", host, "--port", str(port)]


def wal_in_use(db_path: Path) -> bool:
    """A non-empty -wal file means rows an immutable reader would not see."""
    wal = db_path.with_name(db_path.name + "-wal")
    return wal.exists() and wal.stat().st_size > 0


def serve(db_path: Path, *, host: str = "127.0.0.1", port: int = 8001, live: bool | None = None) -> None:
    """Run Datasette on the database until interrupted."""
    from datasette.cli import cli as datasette_cli

    if live is None:
        live = wal_in_use(db_path)
    with tempfile.TemporaryDirectory(prefix="turfwatch-serve-") as tmp:
        metadata_file = Path(tmp) / "metadata.json"
        metadata_file.write_text(json.dumps(build_metadata(db_path), indent=2), encoding="utf-8")
        datasette_cli.main(datasette_args(db_path, metadata_file, host=host, port=port, live=live),
                           prog_name="datasette", standalone_mode=False)

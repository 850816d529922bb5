"""The SQLite store: sellers, listings, flags, leads and runs, with recorded migrations."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlite_utils
from sqlite_utils import Migrations

from crawler.items import Listing, Seller, utc_now
from crawler.leads import LEAD_STATUSES, lead_score
from crawler.sqlite_tx import ImmediateDatabase

migrations = Migrations("turfwatch")

# Seconds a writer waits for another writer (an overlapping run) before failing.
BUSY_TIMEOUT_S = 60


@migrations(name="0001_initial")
def _initial(db: sqlite_utils.Database) -> None:
    db.execute(
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            spider TEXT NOT NULL,
            args TEXT,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            finish_reason TEXT,
            status TEXT NOT NULL DEFAULT 'running',
            pages INTEGER DEFAULT 0,
            listings INTEGER DEFAULT 0,
            flagged INTEGER DEFAULT 0,
            new_leads INTEGER DEFAULT 0,
            errors INTEGER DEFAULT 0,
            stats TEXT
        )"""
    )
    db.execute(
        """CREATE TABLE sellers (
            marketplace TEXT NOT NULL,
            seller_id TEXT NOT NULL,
            profile_url TEXT,
            display_name TEXT,
            country TEXT,
            level TEXT,
            rating REAL,
            rating_count INTEGER,
            member_since TEXT,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            last_run_id INTEGER REFERENCES runs(id),
            PRIMARY KEY (marketplace, seller_id)
        )"""
    )
    db.execute(
        """CREATE TABLE listings (
            marketplace TEXT NOT NULL,
            listing_id TEXT NOT NULL,
            seller_id TEXT NOT NULL,
            url TEXT NOT NULL,
            title TEXT NOT NULL,
            description TEXT,
            tags TEXT,
            packages TEXT,
            faq TEXT,
            price REAL,
            currency TEXT,
            rating REAL,
            rating_count INTEGER,
            category TEXT,
            image_urls TEXT,
            language TEXT,
            score REAL NOT NULL DEFAULT 0,
            sells_reviews INTEGER NOT NULL DEFAULT 0,
            content_hash TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            last_run_id INTEGER REFERENCES runs(id),
            PRIMARY KEY (marketplace, listing_id)
        )"""
    )
    db.execute("CREATE INDEX listings_seller ON listings(marketplace, seller_id)")
    # A flag belongs to one version of a listing (content_hash): when the seller
    # edits the text, the old flags stay as evidence of what was said then.
    db.execute(
        """CREATE TABLE flags (
            marketplace TEXT NOT NULL,
            listing_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            rule_id TEXT NOT NULL,
            field TEXT NOT NULL,
            span_start INTEGER NOT NULL,
            span_end INTEGER NOT NULL,
            rule_version TEXT NOT NULL,
            category TEXT NOT NULL,
            matched_text TEXT NOT NULL,
            score REAL NOT NULL,
            platform TEXT,
            legal TEXT,
            explanation TEXT,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            PRIMARY KEY (marketplace, listing_id, content_hash, rule_id, field, span_start, span_end)
        )"""
    )
    db.execute(
        """CREATE TABLE leads (
            marketplace TEXT NOT NULL,
            seller_id TEXT NOT NULL,
            side TEXT NOT NULL DEFAULT 'seller',
            score REAL NOT NULL,
            status TEXT NOT NULL DEFAULT 'new',
            flagged_listings INTEGER NOT NULL,
            categories TEXT,
            platforms TEXT,
            first_flagged TEXT NOT NULL,
            last_flagged TEXT NOT NULL,
            new_in_run_id INTEGER REFERENCES runs(id),
            PRIMARY KEY (marketplace, seller_id)
        )"""
    )


@migrations(name="0002_captures")
def _captures(db: sqlite_utils.Database) -> None:
    # One row per downloaded response; the listing version or seller it proves
    # is filled in when the item read from that response is stored.
    db.execute(
        """CREATE TABLE captures (
            capture_id TEXT PRIMARY KEY,
            run_id INTEGER REFERENCES runs(id),
            url TEXT NOT NULL,
            status INTEGER NOT NULL,
            fetched_at TEXT NOT NULL,
            warc_file TEXT NOT NULL,
            warc_offset INTEGER NOT NULL,
            warc_length INTEGER NOT NULL,
            sha256 TEXT NOT NULL,
            content_type TEXT,
            marketplace TEXT,
            listing_id TEXT,
            content_hash TEXT,
            seller_id TEXT
        )"""
    )
    db.execute("CREATE INDEX captures_listing ON captures(marketplace, listing_id, content_hash)")
    db.execute("CREATE INDEX captures_seller ON captures(marketplace, seller_id)")


@migrations(name="0003_history_and_triage")
def _history_and_triage(db: sqlite_utils.Database) -> None:
    # Every version of every listing, kept: what a seller wrote then is the evidence.
    db.execute(
        """CREATE TABLE listing_versions (
            marketplace TEXT NOT NULL,
            listing_id TEXT NOT NULL,
            content_hash TEXT NOT NULL,
            title TEXT NOT NULL,
            description TEXT,
            tags TEXT,
            packages TEXT,
            faq TEXT,
            price REAL,
            score REAL NOT NULL DEFAULT 0,
            sells_reviews INTEGER NOT NULL DEFAULT 0,
            capture_id TEXT REFERENCES captures(capture_id),
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            PRIMARY KEY (marketplace, listing_id, content_hash)
        )"""
    )
    db.execute(
        """INSERT INTO listing_versions SELECT marketplace, listing_id, content_hash, title, description, tags,
           packages, faq, price, score, sells_reviews, NULL, first_seen, last_seen FROM listings"""
    )
    db.execute("ALTER TABLE listings ADD COLUMN removed_at TEXT")
    db.execute("ALTER TABLE listings ADD COLUMN removed_reason TEXT")
    # Same offer under a new URL, reworded title or another account.
    db.execute(
        """CREATE TABLE listing_links (
            marketplace TEXT NOT NULL,
            listing_id TEXT NOT NULL,
            linked_marketplace TEXT NOT NULL,
            linked_listing_id TEXT NOT NULL,
            reason TEXT NOT NULL,
            created_at TEXT NOT NULL,
            PRIMARY KEY (marketplace, listing_id, linked_marketplace, linked_listing_id)
        )"""
    )
    db.execute("ALTER TABLE listings ADD COLUMN text_fingerprint TEXT")
    db.execute("CREATE INDEX listings_fingerprint ON listings(text_fingerprint)")
    db.execute("ALTER TABLE leads ADD COLUMN status_changed_at TEXT")
    db.execute("ALTER TABLE leads ADD COLUMN last_evidence_at TEXT")
    # Who decided what about a lead, when and why. Append-only, enforced by triggers.
    db.execute(
        """CREATE TABLE lead_events (
            id INTEGER PRIMARY KEY,
            marketplace TEXT NOT NULL,
            seller_id TEXT NOT NULL,
            at TEXT NOT NULL,
            who TEXT NOT NULL,
            old_status TEXT,
            new_status TEXT NOT NULL,
            note TEXT
        )"""
    )
    for action in ("UPDATE", "DELETE"):
        db.execute(
            f"""CREATE TRIGGER lead_events_no_{action.lower()} BEFORE {action} ON lead_events
                BEGIN SELECT RAISE(ABORT, 'lead_events is append-only'); END"""
        )


@migrations(name="0004_listing_side")
def _listing_side(db: sqlite_utils.Database) -> None:
    # Buyers post projects asking for reviews: their leads are buyer leads (leads.side).
    db.execute("ALTER TABLE listings ADD COLUMN side TEXT NOT NULL DEFAULT 'seller'")


@migrations(name="0005_run_status_reason")
def _run_status_reason(db: sqlite_utils.Database) -> None:
    # Why a run is `degraded` or `failed`: the checks it failed, in one line.
    db.execute("ALTER TABLE runs ADD COLUMN status_reason TEXT")


@migrations(name="0006_run_sources")
def _run_sources(db: sqlite_utils.Database) -> None:
    # Runs merged in from shards (crawler.merge): the run's key everywhere, its id here.
    db.execute("CREATE TABLE run_sources (run_key TEXT PRIMARY KEY, run_id INTEGER NOT NULL REFERENCES runs(id))")




def text_fingerprint(description: str) -> str | None:
    """Fingerprint of a description, blind to case and spacing: a relisted offer keeps its text.
    Short texts say too little to link two listings."""
    words = description.casefold().split()
    if len(words) < 8:
        return None
    return hashlib.sha256(" ".join(words).encode()).hexdigest()


def content_hash(listing: Listing) -> str:
    """SHA-256 of what the seller wrote and charges: a change here is a new version."""
    content = {k: getattr(listing, k) for k in ("title", "description", "tags", "packages", "faq", "price")}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


# SQL of the per-item writes, built once: every page of a crawl comes through them.
_SELLER_COLUMNS = ("profile_url", "display_name", "country", "level", "rating", "rating_count", "member_since")
_UPSERT_SELLER = f"""INSERT INTO sellers (marketplace, seller_id, {", ".join(_SELLER_COLUMNS)}, first_seen, last_seen,
        last_run_id)
    VALUES (?, ?, {", ".join("?" for _ in _SELLER_COLUMNS)}, ?, ?, ?)
    ON CONFLICT (marketplace, seller_id) DO UPDATE SET
        {", ".join(f"{c} = COALESCE(excluded.{c}, sellers.{c})" for c in _SELLER_COLUMNS)},
        last_seen = excluded.last_seen, last_run_id = excluded.last_run_id"""


@lru_cache(maxsize=16)
def _insert_sql(table: str, columns: tuple[str, ...], conflict: str = "") -> str:
    return f"INSERT {conflict}INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


@lru_cache(maxsize=16)
def _upsert_listing_sql(columns: tuple[str, ...]) -> str:
    keep = {"marketplace", "listing_id", "first_seen"}
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keep)
    return f"{_insert_sql('listings', columns)} ON CONFLICT (marketplace, listing_id) DO UPDATE SET {updates}"


@lru_cache(maxsize=16)
def _link_capture_sql(columns: tuple[str, ...]) -> str:
    return f"UPDATE captures SET {', '.join(f'{c} = ?' for c in columns)} WHERE capture_id = ?"


class Store:
    """One SQLite file. Every write is atomic: its own short transaction, or a savepoint in its caller's
    (the run's writer, crawler/writer.py, groups the items it has read in one). Transactions take the
    write lock up front, so an overlapping run waits instead of failing."""

    def __init__(self, path: str | Path, *, read_only: bool = False):
        self.path = Path(path)
        if read_only:
            if not self.path.exists():
                raise FileNotFoundError(f"no database at {self.path}")
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        # Writes take the lock up front: overlapping runs wait for each other instead of failing.
        self.db = ImmediateDatabase(conn)
        if not read_only:
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
            with self.db.atomic():  # two runs starting on a new file must not both migrate it
                migrations.apply(self.db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- runs ---------------------------------------------------------------

    def start_run(self, spider: str, args: dict) -> int:
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT INTO runs (spider, args, started_at) VALUES (?, ?, ?)",
                [spider, _json(args), utc_now()],
            )
        return int(cursor.lastrowid)

    def finish_run(self, run_id: int, *, reason: str, status: str, stats: dict, counts: dict,
                   status_reason: str | None = None) -> None:
        with self.db.atomic():
            self.db.execute(
                """UPDATE runs SET finished_at = ?, finish_reason = ?, status = ?, status_reason = ?, stats = ?,
                   pages = ?, listings = ?, flagged = ?, new_leads = ?, errors = ? WHERE id = ?""",
                [
                    utc_now(), reason, status, status_reason, _json(stats),
                    counts.get("pages", 0), counts.get("listings", 0), counts.get("flagged", 0),
                    counts.get("new_leads", 0), counts.get("errors", 0), run_id,
                ],
            )

    def runs(self, limit: int = 20) -> list[dict]:
        return list(self.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit]))

    # --- captures ------------------------------------------------------------

    def save_capture(self, capture: dict) -> None:
        with self.db.atomic():
            self.db.execute(_insert_sql("captures", tuple(capture), "OR IGNORE "), list(capture.values()))

    def _link_capture(self, capture_id: str | None, **what: str) -> None:
        if capture_id:
            self.db.execute(_link_capture_sql(tuple(what)), [*what.values(), capture_id])

    def _rows(self, sql: str, params: list) -> list[tuple]:
        """Rows of a SELECT, straight from the connection: sqlite-utils' query() wraps every statement in a
        savepoint of its own to reject non-SELECTs, three statements for one on the per-item path."""
        return self.db.conn.execute(sql, params).fetchall()

    # --- sellers and listings ----------------------------------------------

    def save_seller(self, seller: Seller, run_id: int | None = None) -> None:
        """Insert or refresh a seller; known facts are never overwritten with unknowns."""
        seen = seller.fetched_at
        with self.db.atomic():
            self.db.execute(
                _UPSERT_SELLER,
                [seller.marketplace, seller.seller_id, *(getattr(seller, c) for c in _SELLER_COLUMNS), seen, seen, run_id],
            )
            self._link_capture(seller.capture_id, marketplace=seller.marketplace, seller_id=seller.seller_id)
        if seller.listings_complete:
            self.mark_missing_from_seller(seller)

    def save_listing(self, listing: Listing, run_id: int | None = None) -> None:
        """Insert or refresh a listing, its version and its flags in one transaction:
        never half a listing."""
        seen = listing.fetched_at
        digest = content_hash(listing)
        fingerprint = text_fingerprint(listing.description)
        row = {
            "marketplace": listing.marketplace, "listing_id": listing.listing_id,
            "seller_id": listing.seller_id, "url": listing.url, "title": listing.title,
            "description": listing.description, "tags": _json(listing.tags),
            "packages": _json(listing.packages), "faq": _json(listing.faq),
            "price": listing.price, "currency": listing.currency, "rating": listing.rating,
            "rating_count": listing.rating_count, "category": listing.category,
            "image_urls": _json(listing.image_urls), "language": listing.language,
            "score": listing.score, "sells_reviews": int(listing.sells_reviews), "side": listing.side,
            "content_hash": digest, "text_fingerprint": fingerprint,
            "first_seen": seen, "last_seen": seen, "last_run_id": run_id,
            # Seen again: whatever removal was recorded is over.
            "removed_at": None, "removed_reason": None,
        }
        key = (listing.marketplace, listing.listing_id)
        with self.db.atomic():
            is_new = not self._rows("SELECT 1 FROM listings WHERE marketplace = ? AND listing_id = ?", list(key))
            self.db.execute(_upsert_listing_sql(tuple(row)), list(row.values()))
            self.db.execute(
                """INSERT INTO listing_versions (marketplace, listing_id, content_hash, title, description, tags,
                       packages, faq, price, score, sells_reviews, capture_id, first_seen, last_seen)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (marketplace, listing_id, content_hash) DO UPDATE SET
                       last_seen = excluded.last_seen, score = excluded.score,
                       sells_reviews = excluded.sells_reviews,
                       capture_id = COALESCE(listing_versions.capture_id, excluded.capture_id)""",
                [*key, digest, row["title"], row["description"], row["tags"], row["packages"], row["faq"],
                 row["price"], row["score"], row["sells_reviews"], listing.capture_id, seen, seen],
            )
            # The seller too: a seller is stored once per run from their listing pages (spiders/base.py), and
            # every listing page is evidence of its seller.
            link = {"marketplace": listing.marketplace, "listing_id": listing.listing_id, "content_hash": digest}
            if listing.seller_id:
                link["seller_id"] = listing.seller_id
            self._link_capture(listing.capture_id, **link)
            if listing.flags:
                # One statement run per flag, in order, as separate executes would.
                self.db.conn.executemany(
                    """INSERT INTO flags (marketplace, listing_id, content_hash, rule_id, field, span_start,
                           span_end, rule_version, category, matched_text, score, platform, legal, explanation,
                           first_seen, last_seen)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (marketplace, listing_id, content_hash, rule_id, field, span_start, span_end)
                       DO UPDATE SET last_seen = excluded.last_seen, score = excluded.score""",
                    [
                        [
                            *key, digest, flag["rule_id"], flag["field"],
                            flag["start"], flag["end"], str(flag["rule_version"]), flag["category"], flag["text"],
                            flag["score"], flag.get("platform"), _json(list(flag.get("legal") or [])),
                            flag.get("explanation"), seen, seen,
                        ]
                        for flag in listing.flags
                    ],
                )
            if is_new:
                self._link_relists(listing, fingerprint, seen)

    def _link_relists(self, listing: Listing, fingerprint: str | None, at: str) -> None:
        """Link a listing seen for the first time to earlier ones that carry the same
        offer: the same description text (any account), or the same seller's same title."""
        matches = self._rows(
            """SELECT marketplace, listing_id, seller_id, text_fingerprint FROM listings
               WHERE NOT (marketplace = ? AND listing_id = ?)
                 AND ((text_fingerprint IS NOT NULL AND text_fingerprint = ?)
                      OR (marketplace = ? AND seller_id = ? AND lower(title) = lower(?)))""",
            [listing.marketplace, listing.listing_id, fingerprint, listing.marketplace, listing.seller_id, listing.title],
        )
        for other_marketplace, other_listing_id, other_seller_id, other_fingerprint in matches:
            same_text = fingerprint is not None and other_fingerprint == fingerprint
            same_seller = other_marketplace == listing.marketplace and other_seller_id == listing.seller_id
            reason = ("same description" if same_text else "same title") + (
                ", same seller" if same_seller else f", other account {other_seller_id}") + (
                f" on {other_marketplace}" if other_marketplace != listing.marketplace else "")
            self.db.execute(
                """INSERT OR IGNORE INTO listing_links VALUES (?, ?, ?, ?, ?, ?)""",
                [listing.marketplace, listing.listing_id, other_marketplace, other_listing_id, reason, at],
            )

    def mark_removed(self, marketplace: str, reason: str, at: str | None = None, *,
                     listing_id: str | None = None, url: str | None = None) -> int:
        """A listing that is gone keeps all its evidence; it is only marked. Returns rows marked."""
        key, value = ("listing_id", listing_id) if listing_id is not None else ("url", url)
        with self.db.atomic():
            cursor = self.db.execute(
                f"""UPDATE listings SET removed_at = ?, removed_reason = ?
                    WHERE marketplace = ? AND {key} = ? AND removed_at IS NULL""",
                [at or utc_now(), reason, marketplace, value],
            )
        return cursor.rowcount

    def mark_missing_from_seller(self, seller: Seller) -> int:
        """Listings the store knows for a seller whose full listing page no longer shows them."""
        known = self.db.query(
            "SELECT listing_id, url FROM listings WHERE marketplace = ? AND seller_id = ? AND removed_at IS NULL",
            [seller.marketplace, seller.seller_id],
        )
        # Paths, not whole URLs: the same site may have been crawled under another host name.
        shown = {urlsplit(u).path for u in seller.listing_urls}
        gone = [r["listing_id"] for r in known if urlsplit(r["url"]).path not in shown]
        return sum(self.mark_removed(seller.marketplace, "gone from seller page", seller.fetched_at, listing_id=i)
                   for i in gone)

    # --- leads -------------------------------------------------------------

    def refresh_leads(self, run_id: int | None = None) -> int:
        """Recompute every seller lead from the current versions of their listings.

        A dismissed lead comes back as `new` only when a flag appeared after the
        dismissal. Returns how many leads are new for this run."""
        rows = self.db.query(
            """SELECT l.marketplace, l.seller_id, l.side, l.score, l.listing_id, l.first_seen, l.last_seen,
                      f.category, f.platform, f.first_seen AS flag_seen
               FROM listings l LEFT JOIN flags f
                 ON f.marketplace = l.marketplace AND f.listing_id = l.listing_id
                AND f.content_hash = l.content_hash
               WHERE l.sells_reviews = 1"""
        )
        sellers: dict[tuple[str, str], dict] = {}
        for r in rows:
            s = sellers.setdefault(
                (r["marketplace"], r["seller_id"]),
                {"scores": {}, "categories": set(), "platforms": set(), "side": r["side"], "first": r["first_seen"],
                 "last": r["last_seen"], "evidence": r["first_seen"]},
            )
            s["scores"][r["listing_id"]] = r["score"]
            if r["category"] and r["category"] != "fake_engagement":
                s["categories"].add(r["category"])
            if r["platform"]:
                s["platforms"].add(r["platform"])
            s["first"], s["last"] = min(s["first"], r["first_seen"]), max(s["last"], r["last_seen"])
            s["evidence"] = max(s["evidence"], r["flag_seen"] or r["first_seen"])
        new = 0
        with self.db.atomic():
            for (marketplace, seller_id), s in sellers.items():
                score = lead_score(list(s["scores"].values()), s["categories"], s["platforms"])
                before = next(self.db.query(
                    "SELECT status, status_changed_at FROM leads WHERE marketplace = ? AND seller_id = ?",
                    [marketplace, seller_id]), None)
                self.db.execute(
                    """INSERT INTO leads (marketplace, seller_id, score, flagged_listings, categories,
                           platforms, first_flagged, last_flagged, new_in_run_id, status_changed_at, last_evidence_at, side)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (marketplace, seller_id) DO UPDATE SET score = excluded.score, side = excluded.side,
                           flagged_listings = excluded.flagged_listings, categories = excluded.categories,
                           platforms = excluded.platforms, last_flagged = excluded.last_flagged,
                           last_evidence_at = excluded.last_evidence_at""",
                    [
                        marketplace, seller_id, score, len(s["scores"]), _json(sorted(s["categories"])),
                        _json(sorted(s["platforms"])), s["first"], s["last"], run_id, utc_now(), s["evidence"], s["side"],
                    ],
                )
                if before is None:
                    new += 1
                elif before["status"] == "dismissed" and s["evidence"] > (before["status_changed_at"] or ""):
                    self._set_status(marketplace, seller_id, "new", who="turfwatch",
                                     note="new evidence after dismissal", run_id=run_id)
                    new += 1
        return new

    def _set_status(self, marketplace: str, seller_id: str, status: str, *, who: str, note: str | None,
                    run_id: int | None = None) -> str:
        old = next(self.db.query(
            "SELECT status FROM leads WHERE marketplace = ? AND seller_id = ?", [marketplace, seller_id]))["status"]
        now = utc_now()
        self.db.execute(
            """UPDATE leads SET status = ?, status_changed_at = ?,
                   new_in_run_id = CASE WHEN ? = 'new' AND ? IS NOT NULL THEN ? ELSE new_in_run_id END
               WHERE marketplace = ? AND seller_id = ?""",
            [status, now, status, run_id, run_id, marketplace, seller_id],
        )
        self.db.execute(
            "INSERT INTO lead_events (marketplace, seller_id, at, who, old_status, new_status, note) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [marketplace, seller_id, now, who, old, status, note],
        )
        return old

    def find_lead(self, seller: str) -> tuple[str, str]:
        """`marketplace:seller_id`, or a bare seller_id when only one marketplace has it."""
        row = self._find_one("leads", "seller_id", seller, "marketplace, seller_id",
                             f"no lead {seller!r}", f"{seller!r} is a lead on several marketplaces")
        return row["marketplace"], row["seller_id"]

    def find_listing(self, ref: str) -> dict:
        """The listing row for a URL, `marketplace:listing_id`, or a bare listing_id known on one marketplace."""
        if "://" in ref:
            rows = list(self.db.query("SELECT * FROM listings WHERE url = ?", [ref]))
            return self._one(rows, ref, f"no listing {ref!r}", f"{ref!r} names listings on several marketplaces")
        return self._find_one("listings", "listing_id", ref, "*",
                              f"no listing {ref!r}", f"{ref!r} names listings on several marketplaces")

    def _find_one(self, table: str, id_column: str, ref: str, columns: str, none: str, several: str) -> dict:
        """The one row of `table` that `marketplace:id`, or a bare id, names."""
        marketplace, sep, key = ref.partition(":")
        if sep:
            rows = list(self.db.query(f"SELECT {columns} FROM {table} WHERE marketplace = ? AND {id_column} = ?",
                                      [marketplace, key]))
        else:
            rows = list(self.db.query(f"SELECT {columns} FROM {table} WHERE {id_column} = ?", [ref]))
        return self._one(rows, ref, none, several)

    @staticmethod
    def _one(rows: list[dict], ref: str, none: str, several: str) -> dict:
        if not rows:
            raise LookupError(none)
        if len(rows) > 1:
            raise LookupError(f"{several}; write MARKETPLACE:{ref}")
        return rows[0]

    def triage(self, seller: str, status: str, *, who: str, note: str | None = None) -> tuple[str, str]:
        """Record an analyst's decision on a lead. Returns (old, new) status."""
        if status not in LEAD_STATUSES:
            raise ValueError(f"status must be one of {', '.join(LEAD_STATUSES)}")
        with self.db.atomic():
            marketplace, seller_id = self.find_lead(seller)
            old = self._set_status(marketplace, seller_id, status, who=who, note=note)
        return old, status

    def lead_events(self, marketplace: str, seller_id: str) -> list[dict]:
        return list(self.db.query(
            "SELECT * FROM lead_events WHERE marketplace = ? AND seller_id = ? ORDER BY id", [marketplace, seller_id]))

    def leads(self, *, status: str | None = None, since_run: int | None = None, limit: int | None = None) -> list[dict]:
        """Leads, best first, with the seller's profile and flagged listing URLs."""
        where, params = [], []
        if status:
            where.append("leads.status = ?")
            params.append(status)
        if since_run is not None:
            where.append("leads.new_in_run_id >= ?")
            params.append(since_run)
        sql = f"""SELECT leads.marketplace, leads.seller_id, leads.side, leads.score, leads.status,
                         leads.flagged_listings, leads.categories, leads.platforms,
                         leads.first_flagged, leads.last_flagged, sellers.profile_url,
                         (SELECT json_group_array(url) FROM listings
                           WHERE listings.marketplace = leads.marketplace
                             AND listings.seller_id = leads.seller_id AND sells_reviews = 1) AS listing_urls
                  FROM leads LEFT JOIN sellers USING (marketplace, seller_id)
                  {"WHERE " + " AND ".join(where) if where else ""}
                  ORDER BY leads.score DESC, leads.flagged_listings DESC, leads.seller_id
                  {"LIMIT ?" if limit else ""}"""
        rows = []
        for row in self.db.query(sql, params + ([limit] if limit else [])):
            for key in ("categories", "platforms", "listing_urls"):
                row[key] = json.loads(row[key] or "[]")
            rows.append(row)
        return rows

    def counts(self) -> dict[str, int]:
        return {t: self.db[t].count for t in ("sellers", "listings", "flags", "leads", "runs", "captures")}

    def history_counts(self) -> dict[str, int]:
        one = lambda sql: next(self.db.query(sql))["n"]  # noqa: E731
        return {
            "versions": one("SELECT COUNT(*) AS n FROM listing_versions"),
            "removed": one("SELECT COUNT(*) AS n FROM listings WHERE removed_at IS NOT NULL"),
            "links": one("SELECT COUNT(*) AS n FROM listing_links"),
            "links_across": one("SELECT COUNT(*) AS n FROM listing_links WHERE marketplace != linked_marketplace"),
        }

    def last_run_id(self) -> int | None:
        row = next(self.db.query("SELECT MAX(id) AS id FROM runs WHERE finished_at IS NOT NULL"), None)
        return row["id"] if row else None


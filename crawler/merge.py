"""Merge SQLite shards (one per crawl worker) into one database: idempotent, and the same in any order."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from crawler.store import Store

# Tables keyed by what they describe, not by a counter: (primary key, columns that hold run ids).
ENTITY_TABLES = {
    "sellers": (("marketplace", "seller_id"), ("last_run_id",)),
    "listings": (("marketplace", "listing_id"), ("last_run_id",)),
    "listing_versions": (("marketplace", "listing_id", "content_hash"), ()),
    "flags": (("marketplace", "listing_id", "content_hash", "rule_id", "field", "span_start", "span_end"), ()),
}
# Columns filled in from an older observation when the newest left them empty (the store never
# overwrites a known seller fact with an unknown one; listings are overwritten as shown).
FILL_NULLS = {"sellers"}
CAPTURE_LINKS = ("marketplace", "listing_id", "content_hash", "seller_id")
LEAD_EVENT_KEY = ("marketplace", "seller_id", "at", "who", "old_status", "new_status", "note")


@dataclass
class MergeReport:
    shards: int = 0
    runs_added: int = 0
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows inserted or changed
    warc_copied: int = 0
    warc_missing: list[str] = field(default_factory=list)


def merge_shards(shards: Iterable[str | Path], into: str | Path, *, copy_warc: bool = True) -> MergeReport:
    """Merge every shard into the database `into` (created if missing) in one transaction.

    Entities are matched on their natural keys (first_seen = earliest, last_seen =
    latest, the other columns from the latest observation); runs on a key that does
    not depend on their id, so they are renumbered here and a shard merged twice adds
    nothing. Leads are recomputed from the merged listings and flags."""
    into = Path(into)
    shards = [Path(s) for s in shards]
    for shard in shards:
        if not shard.is_file():
            raise FileNotFoundError(f"no shard at {shard}")
        if into.exists() and shard.resolve() == into.resolve():
            raise ValueError(f"cannot merge {shard} into itself")
    report = MergeReport(shards=len(shards))
    with Store(into) as store:
        with store.db.atomic():
            _register_local_runs(store.db)
            for shard in shards:
                conn = sqlite3.connect(f"file:{shard.resolve()}?mode=ro", uri=True)
                conn.row_factory = sqlite3.Row
                try:
                    _merge_one(store, conn, report)
                    if copy_warc:
                        _copy_warc(conn, shard, into, report)
                finally:
                    conn.close()
            _link_relists_across_shards(store.db, report)
            store.refresh_leads(None)  # scores and counts follow the merged listings and flags
    return report


# --- runs --------------------------------------------------------------------

def _run_key(conn, run: dict) -> str:
    """Who a run is, wherever it is stored: its spider, arguments, start and first capture
    (a WARC record id, unique worldwide). Two workers started in the same second differ in the last."""
    first = conn.execute("SELECT capture_id FROM captures WHERE run_id = ? ORDER BY rowid LIMIT 1", [run["id"]]).fetchone()
    identity = [run["spider"], run["args"], run["started_at"], first[0] if first else None]
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()


def _tables(conn) -> set[str]:
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(conn, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def _run_keys(conn) -> dict[int, str]:
    """run id -> run key of every run in a database (merged runs keep the key they came with)."""
    known = {}
    if "run_sources" in _tables(conn):
        known = {run_id: key for key, run_id in conn.execute("SELECT run_key, run_id FROM run_sources")}
    runs = [dict(zip(_columns(conn, "runs"), r)) for r in conn.execute("SELECT * FROM runs")]
    return {run["id"]: known.get(run["id"]) or _run_key(conn, run) for run in runs}


def _register_local_runs(db) -> None:
    """Runs crawled straight into the target get their key too, so a copy of them merges as the same runs."""
    for run_id, key in _run_keys(db.conn).items():
        db.execute("INSERT OR IGNORE INTO run_sources (run_key, run_id) VALUES (?, ?)", [key, run_id])


def _merge_runs(db, conn, report: MergeReport) -> dict[int, int]:
    """Shard run id -> run id here; a run already merged keeps its id and takes the later state."""
    target_cols = set(_columns(db.conn, "runs"))
    mapping = {}
    for shard_id, key in _run_keys(conn).items():
        run = dict(conn.execute("SELECT * FROM runs WHERE id = ?", [shard_id]).fetchone())
        values = {k: v for k, v in run.items() if k in target_cols and k != "id"}
        found = db.conn.execute("SELECT run_id FROM run_sources WHERE run_key = ?", [key]).fetchone()
        if found is None:
            cursor = db.execute(
                f"INSERT INTO runs ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})", list(values.values()))
            db.execute("INSERT INTO run_sources (run_key, run_id) VALUES (?, ?)", [key, cursor.lastrowid])
            mapping[shard_id] = cursor.lastrowid
            report.runs_added += 1
            continue
        mapping[shard_id] = found[0]
        # A shard merged while its run was going, and again after it ended.
        if values.get("finished_at"):
            sets = ", ".join(f"{k} = ?" for k in values)
            db.execute(f"UPDATE runs SET {sets} WHERE id = ? AND finished_at IS NULL", [*values.values(), found[0]])
    return mapping


# --- entities ----------------------------------------------------------------

def _rank(row: dict, run_cols: tuple[str, ...], keys: dict[int, str], skip: set[str]) -> tuple:
    """Newest observation first; ties broken on run key and content, never on merge order."""
    content = json.dumps({k: v for k, v in sorted(row.items()) if k not in skip}, default=str)
    return (row.get("last_seen") or "", tuple(keys.get(row.get(c), "") for c in run_cols), content)


def _merge_rows(old: dict, new: dict, table: str, run_cols: tuple[str, ...], keys: dict[int, str]) -> dict:
    skip = {"first_seen", "last_seen", "removed_at", "removed_reason", "capture_id", *run_cols}
    ordered = sorted([old, new], key=lambda r: _rank(r, run_cols, keys, skip), reverse=True)
    merged = dict(ordered[0])
    if table in FILL_NULLS:
        for column, value in merged.items():
            if value is None:
                merged[column] = next((r[column] for r in ordered[1:] if r.get(column) is not None), None)
    merged["first_seen"] = min(r["first_seen"] for r in ordered)
    merged["last_seen"] = max(r["last_seen"] for r in ordered)
    if "capture_id" in merged:
        # The first capture of a version is its evidence, as in Store.save_listing.
        with_capture = [r for r in ordered if r.get("capture_id")]
        merged["capture_id"] = min(with_capture, key=lambda r: (r["first_seen"], r["capture_id"]))["capture_id"] \
            if with_capture else None
    if "removed_at" in merged:
        removals = [r for r in ordered if r.get("removed_at")]
        last = max(removals, key=lambda r: (r["removed_at"], r["removed_reason"] or "")) if removals else None
        # Removed only if no observation is later than the removal.
        gone = last is not None and last["removed_at"] >= merged["last_seen"]
        merged["removed_at"], merged["removed_reason"] = (last["removed_at"], last["removed_reason"]) if gone else (None, None)
    return merged


def _upsert(db, conn, table: str, pk: tuple[str, ...], run_cols: tuple[str, ...], mapping: dict[int, int],
            merge, report: MergeReport) -> None:
    """Each shard row of `table` goes in when its key is new; else the row becomes `merge(old, new)`."""
    columns = [c for c in _columns(conn, table) if c in set(_columns(db.conn, table))]
    where = " AND ".join(f"{c} = ?" for c in pk)
    changed = 0
    for source in conn.execute(f"SELECT {', '.join(columns)} FROM {table}"):
        row = dict(zip(columns, source))
        for c in run_cols:
            row[c] = mapping.get(row[c]) if row[c] is not None else None
        existing = db.conn.execute(f"SELECT {', '.join(columns)} FROM {table} WHERE {where}", [row[c] for c in pk]).fetchone()
        if existing is None:
            db.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
                       list(row.values()))
            changed += 1
            continue
        old = dict(zip(columns, existing))
        merged = merge(old, row)
        if merged != old:
            sets = ", ".join(f"{c} = ?" for c in columns if c not in pk)
            db.execute(f"UPDATE {table} SET {sets} WHERE {where}",
                       [merged[c] for c in columns if c not in pk] + [merged[c] for c in pk])
            changed += 1
    report.rows[table] = report.rows.get(table, 0) + changed


def _merge_entities(db, conn, table: str, mapping: dict[int, int], keys: dict[int, str], report: MergeReport) -> None:
    pk, run_cols = ENTITY_TABLES[table]
    _upsert(db, conn, table, pk, run_cols, mapping, lambda old, new: _merge_rows(old, new, table, run_cols, keys),
            report)


def _merge_captures(db, conn, mapping: dict[int, int], report: MergeReport) -> None:
    columns = [c for c in _columns(conn, "captures") if c in set(_columns(db.conn, "captures"))]
    changed = 0
    for source in conn.execute(f"SELECT {', '.join(columns)} FROM captures ORDER BY rowid"):
        row = dict(zip(columns, source))
        row["run_id"] = mapping.get(row["run_id"]) if row["run_id"] is not None else None
        cursor = db.execute(
            f"INSERT OR IGNORE INTO captures ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            list(row.values()))
        links = {c: row[c] for c in CAPTURE_LINKS if c in row and row[c] is not None}
        if cursor.rowcount == 0 and links:
            # What a capture proves is filled in after it is written; a later copy may know more.
            sets = ", ".join(f"{c} = COALESCE({c}, ?)" for c in links)
            empty = " OR ".join(f"{c} IS NULL" for c in links)
            cursor = db.execute(f"UPDATE captures SET {sets} WHERE capture_id = ? AND ({empty})",
                                [*links.values(), row["capture_id"]])
        changed += cursor.rowcount
    report.rows["captures"] = report.rows.get("captures", 0) + changed


def _merge_links(db, conn, report: MergeReport) -> None:
    if "listing_links" not in _tables(conn):
        return
    changed = 0
    for row in conn.execute("SELECT * FROM listing_links"):
        row = dict(row)
        cursor = db.execute(
            """INSERT INTO listing_links VALUES (?, ?, ?, ?, ?, ?)
               ON CONFLICT (marketplace, listing_id, linked_marketplace, linked_listing_id)
               DO UPDATE SET created_at = excluded.created_at, reason = excluded.reason
               WHERE (excluded.created_at, excluded.reason) < (listing_links.created_at, listing_links.reason)""",
            [row["marketplace"], row["listing_id"], row["linked_marketplace"], row["linked_listing_id"],
             row["reason"], row["created_at"]])
        changed += cursor.rowcount
    report.rows["listing_links"] = report.rows.get("listing_links", 0) + changed


def _link_relists_across_shards(db, report: MergeReport) -> None:
    """Relist links a single crawl would have made between listings that different shards saw.

    A crawl links a listing, when it first sees it, to earlier ones with the same description (any
    account) or the same seller's same title (Store._link_relists). Two workers never saw each
    other's listings, so such pairs meet only here. A pair linked either way already is left as it
    is; otherwise the listing first seen later links to the earlier one, with the reason a crawl gives."""
    cursor = db.execute(
        """INSERT OR IGNORE INTO listing_links
               (marketplace, listing_id, linked_marketplace, linked_listing_id, reason, created_at)
           SELECT n.marketplace, n.listing_id, o.marketplace, o.listing_id,
                  CASE WHEN n.text_fingerprint IS NOT NULL AND n.text_fingerprint = o.text_fingerprint
                       THEN 'same description' ELSE 'same title' END
                  || CASE WHEN n.marketplace = o.marketplace AND n.seller_id = o.seller_id
                          THEN ', same seller' ELSE ', other account ' || o.seller_id END
                  || CASE WHEN n.marketplace != o.marketplace THEN ' on ' || o.marketplace ELSE '' END,
                  n.first_seen
           FROM listings n JOIN listings o
             ON NOT (n.marketplace = o.marketplace AND n.listing_id = o.listing_id)
            AND ((n.text_fingerprint IS NOT NULL AND n.text_fingerprint = o.text_fingerprint)
                 OR (n.marketplace = o.marketplace AND n.seller_id = o.seller_id AND lower(n.title) = lower(o.title)))
           WHERE (o.first_seen, o.marketplace, o.listing_id) < (n.first_seen, n.marketplace, n.listing_id)
             AND NOT EXISTS (SELECT 1 FROM listing_links l
                             WHERE (l.marketplace, l.listing_id, l.linked_marketplace, l.linked_listing_id)
                                   IN (VALUES (n.marketplace, n.listing_id, o.marketplace, o.listing_id),
                                              (o.marketplace, o.listing_id, n.marketplace, n.listing_id)))""")
    report.rows["listing_links"] = report.rows.get("listing_links", 0) + cursor.rowcount


def _merge_lead_events(db, conn, report: MergeReport) -> None:
    """Append-only: an event is added unless the very same one is already here."""
    if "lead_events" not in _tables(conn):
        return
    match = " AND ".join(f"{c} IS ?" for c in LEAD_EVENT_KEY)
    added = 0
    for row in conn.execute(f"SELECT {', '.join(LEAD_EVENT_KEY)} FROM lead_events ORDER BY at, id"):
        values = list(row)
        if db.conn.execute(f"SELECT 1 FROM lead_events WHERE {match}", values).fetchone() is None:
            db.execute(f"INSERT INTO lead_events ({', '.join(LEAD_EVENT_KEY)}) VALUES ({', '.join('?' for _ in values)})",
                       values)
            added += 1
    report.rows["lead_events"] = report.rows.get("lead_events", 0) + added


def _merge_lead_state(db, conn, mapping: dict[int, int], keys: dict[int, str], report: MergeReport) -> None:
    """What the store cannot recompute: a lead's triage status and the run that first found it."""

    def merge(old: dict, new: dict) -> dict:
        first = min(old, new, key=lambda r: (r["first_flagged"] or "", keys.get(r["new_in_run_id"], "")))
        latest = max(old, new, key=lambda r: (r.get("status_changed_at") or "", r["status"]))
        merged = {**old, "first_flagged": first["first_flagged"], "new_in_run_id": first["new_in_run_id"],
                  "status": latest["status"]}
        if "status_changed_at" in old:
            merged["status_changed_at"] = latest["status_changed_at"]
        return merged

    _upsert(db, conn, "leads", ("marketplace", "seller_id"), ("new_in_run_id",), mapping, merge, report)


def _merge_one(store: Store, conn, report: MergeReport) -> None:
    db = store.db
    mapping = _merge_runs(db, conn, report)
    keys = {run_id: key for key, run_id in db.conn.execute("SELECT run_key, run_id FROM run_sources")}
    _merge_captures(db, conn, mapping, report)
    for table in ENTITY_TABLES:
        if table in _tables(conn):
            _merge_entities(db, conn, table, mapping, keys, report)
    _merge_links(db, conn, report)
    _merge_lead_events(db, conn, report)
    _merge_lead_state(db, conn, mapping, keys, report)


# --- evidence files ------------------------------------------------------------

def _copy_warc(conn, shard: Path, into: Path, report: MergeReport) -> None:
    """WARC files the shard's captures point at, copied beside the merged database (`warc/`)."""
    source_dir, target_dir = shard.resolve().parent / "warc", into.resolve().parent / "warc"
    names = [r[0] for r in conn.execute("SELECT DISTINCT warc_file FROM captures ORDER BY warc_file")]
    for name in names:
        # Names come from the database: only a plain file name is used as a path.
        if Path(name).name != name or name in ("", ".", ".."):
            report.warc_missing.append(name)
            continue
        source, target = source_dir / name, target_dir / name
        if source == target or target.exists():
            continue
        if not source.is_file():
            report.warc_missing.append(name)
            continue
        target_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        report.warc_copied += 1


def summary(report: MergeReport) -> dict[str, Any]:
    return {"shards": report.shards, "runs_added": report.runs_added, "rows": dict(sorted(report.rows.items())),
            "warc_copied": report.warc_copied, "warc_missing": report.warc_missing}

"""Case bundles: everything the store knows about chosen sellers, with their WARC evidence, hashed in a manifest."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from crawler.formats import LEAD_COLUMNS, write_csv
from crawler.store import Store
from crawler.warc_extract import EvidenceError, write_case_warc

MANIFEST = "manifest.json"
WACZ_NAME = "captures.wacz"
EXHIBIT_COLUMNS = [
    "marketplace", "username", "display_name", "profile_url", "listing_urls", "first_seen", "last_seen", "capture_ids",
]
LISTING_COLUMNS = [
    "marketplace", "seller_id", "listing_id", "url", "title", "description", "score",
    "first_seen", "last_seen", "removed_at", "capture_ids",
]
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class CaseError(Exception):
    """The case cannot be built as asked (unknown seller, no clusters, missing evidence)."""


def turfwatch_version() -> str:
    try:
        return version("turfwatch")
    except PackageNotFoundError:
        return "dev"


def safe_filename(text: str, *, max_len: int = 40, suffix: str = "") -> str:
    """A file name from seller-controlled text: only [A-Za-z0-9._-], capped, never hidden or a
    path, and with a hash of the full text so two sellers never share a name."""
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    stem = _UNSAFE_NAME.sub("_", text).strip("._-")[:max_len] or "x"
    return f"{stem}-{digest}{suffix}"


# --- choosing sellers --------------------------------------------------------


def sellers_for_cluster(store: Store, cluster_id: int) -> list[tuple[str, str]]:
    if "cluster_members" not in store.db.table_names():
        raise CaseError("this database has no clusters (table cluster_members is missing)")
    rows = store.db.query(
        "SELECT DISTINCT marketplace, seller_id FROM cluster_members WHERE cluster_id = ? ORDER BY marketplace, seller_id",
        [cluster_id],
    )
    keys = [(r["marketplace"], r["seller_id"]) for r in rows]
    if not keys:
        raise CaseError(f"no cluster {cluster_id}")
    return keys


def resolve_sellers(store: Store, sellers: tuple[str, ...] = (), *, status: str | None = None,
                    cluster: int | None = None, top: int | None = None) -> list[tuple[str, str]]:
    """(marketplace, seller_id) of the sellers named, in the given status, in a cluster, or the top leads."""
    keys: list[tuple[str, str]] = []
    try:
        keys += [store.find_lead(s) for s in sellers]
    except LookupError as exc:
        raise CaseError(str(exc.args[0])) from exc
    if status:
        keys += [(r["marketplace"], r["seller_id"]) for r in store.leads(status=status)]
    if top:
        keys += [(r["marketplace"], r["seller_id"]) for r in store.leads(limit=top)]
    if cluster is not None:
        keys += sellers_for_cluster(store, cluster)
    return list(dict.fromkeys(keys))


# --- collecting what the store knows ----------------------------------------


def _one(store: Store, sql: str, params: list) -> dict | None:
    return next(store.db.query(sql, params), None)


def _json_list(value: str | None) -> list:
    try:
        parsed = json.loads(value or "[]")
    except ValueError:
        return [value]
    return parsed if isinstance(parsed, list) else [parsed]


def collect_seller(store: Store, marketplace: str, seller_id: str) -> dict:
    """A seller's profile, lead, triage log, every listing with every version, its flags and captures."""
    seller = _one(store, "SELECT * FROM sellers WHERE marketplace = ? AND seller_id = ?", [marketplace, seller_id])
    lead = _one(store, "SELECT * FROM leads WHERE marketplace = ? AND seller_id = ?", [marketplace, seller_id])
    if lead:
        lead["categories"], lead["platforms"] = _json_list(lead["categories"]), _json_list(lead["platforms"])
    captures: dict[str, dict] = {}

    def capture(capture_id: str | None) -> dict | None:
        if capture_id and capture_id not in captures:
            row = _one(store, "SELECT * FROM captures WHERE capture_id = ?", [capture_id])
            if row:
                captures[capture_id] = row
        return captures.get(capture_id) if capture_id else None

    listings = []
    for listing in store.db.query(
            "SELECT * FROM listings WHERE marketplace = ? AND seller_id = ? ORDER BY first_seen, listing_id",
            [marketplace, seller_id]):
        versions = []
        for v in store.db.query(
                "SELECT * FROM listing_versions WHERE marketplace = ? AND listing_id = ? ORDER BY first_seen, content_hash",
                [marketplace, listing["listing_id"]]):
            if not v["capture_id"]:
                row = _one(store, """SELECT capture_id FROM captures WHERE marketplace = ? AND listing_id = ?
                                     AND content_hash = ? ORDER BY fetched_at LIMIT 1""",
                           [marketplace, listing["listing_id"], v["content_hash"]])
                v["capture_id"] = row["capture_id"] if row else None
            v["capture"] = capture(v["capture_id"])
            v["flags"] = list(store.db.query(
                """SELECT * FROM flags WHERE marketplace = ? AND listing_id = ? AND content_hash = ?
                   ORDER BY field, span_start, rule_id""", [marketplace, listing["listing_id"], v["content_hash"]]))
            for flag in v["flags"]:
                flag["legal"] = _json_list(flag["legal"])
            versions.append(v)
        listing["versions"] = versions
        listing["flagged"] = any(v["flags"] for v in versions)
        listing["links"] = list(store.db.query(
            """SELECT * FROM listing_links WHERE (marketplace = ? AND listing_id = ?)
               OR (linked_marketplace = ? AND linked_listing_id = ?) ORDER BY created_at""",
            [marketplace, listing["listing_id"], marketplace, listing["listing_id"]]))
        listings.append(listing)
    ids = [listing["listing_id"] for listing in listings]
    for row in store.db.query(
            f"""SELECT * FROM captures WHERE marketplace = ? AND (seller_id = ?
                OR listing_id IN ({", ".join("?" for _ in ids) or "NULL"})) ORDER BY fetched_at, capture_id""",
            [marketplace, seller_id, *ids]):
        captures.setdefault(row["capture_id"], row)
    return {
        "marketplace": marketplace, "seller_id": seller_id, "seller": seller, "lead": lead,
        "profile_url": (seller or {}).get("profile_url"),
        "events": store.lead_events(marketplace, seller_id),
        "listings": listings,
        "captures": sorted(captures.values(), key=lambda c: (c["fetched_at"], c["capture_id"])),
    }


def exhibit_row(case: dict) -> dict:
    flagged = [listing for listing in case["listings"] if listing["flagged"]]
    seen = [x for listing in case["listings"] for x in (listing["first_seen"], listing["last_seen"])]
    if case["seller"]:
        seen += [case["seller"]["first_seen"], case["seller"]["last_seen"]]
    return {
        "marketplace": case["marketplace"], "username": case["seller_id"],
        "display_name": (case["seller"] or {}).get("display_name"), "profile_url": case["profile_url"],
        "listing_urls": [listing["url"] for listing in flagged],
        "first_seen": min(seen) if seen else None, "last_seen": max(seen) if seen else None,
        "capture_ids": [c["capture_id"] for c in case["captures"]],
    }


# --- the bundle ----------------------------------------------------------------


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def page_list(cases: list[dict], title: str) -> list[dict]:
    """pages.jsonl for the WACZ: every captured page with a readable title, so a replay
    tool lists the evidence instead of bare URLs."""
    titles = {}
    for case in cases:
        for listing in case["listings"]:
            for v in listing["versions"]:
                if v["capture_id"]:
                    titles[v["capture_id"]] = v["title"]
        for c in case["captures"]:
            if c.get("seller_id") == case["seller_id"] and c["capture_id"] not in titles:
                titles[c["capture_id"]] = f"{case['marketplace']}:{case['seller_id']} (seller page)"
    pages = [{"format": "json-pages-1.0", "id": "pages", "title": title}]
    seen = set()
    for case in cases:
        for c in case["captures"]:
            if c["capture_id"] not in seen:
                seen.add(c["capture_id"])
                pages.append({"id": c["capture_id"], "url": c["url"], "ts": c["fetched_at"],
                              "title": titles.get(c["capture_id"], c["url"])})
    return pages


def make_wacz(warc: Path, pages: list[dict], out: Path, title: str) -> None:
    """Package one WARC as WACZ with py-wacz (in-process; its progress chatter is swallowed)."""
    from wacz.main import main as wacz_main

    pages_file = warc.with_name("pages.jsonl")
    pages_file.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pages), encoding="utf-8")
    chatter = io.StringIO()
    with contextlib.redirect_stdout(chatter):
        code = wacz_main(["create", "-o", str(out), "--pages", str(pages_file), "--copy-pages",
                          "--hash-type", "sha256", "--title", title, str(warc)])
    if code != 0 or not out.exists():
        raise CaseError(f"wacz create failed: {chatter.getvalue().strip()[-500:]}")


def build_case_bundle(store: Store, keys: list[tuple[str, str]], out_dir: Path, *, warc_dir: Path,
                      db_path: Path, now: datetime | None = None) -> Path:
    """Write a case bundle directory under `out_dir` and return its path.

    The directory appears only when complete: it is built under a hidden name and renamed."""
    from crawler.report import render_report

    if not keys:
        raise CaseError("no sellers to export")
    now = now or datetime.now(timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    # The name comes from the clock and a hash, never from seller text.
    key_text = "\n".join(f"{m}:{s}" for m, s in sorted(keys))
    short = hashlib.sha256(f"{stamp}\n{key_text}".encode()).hexdigest()[:12]
    name = f"case-{stamp}-{short}"
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / name
    if final.exists():
        raise CaseError(f"{final} already exists")
    work = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=out_dir))
    try:
        cases = [collect_seller(store, m, s) for m, s in keys]
        created = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        captures = list({c["capture_id"]: c for case in cases for c in case["captures"]}.values())
        if not captures:
            raise CaseError("the chosen sellers have no captures to export")
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".warc-") as tmp:
            warc = Path(tmp) / f"{name}.warc.gz"
            try:
                copied = write_case_warc(warc, warc_dir, captures,
                                         f"turfwatch case {name}: captures of {len(keys)} seller(s), copied byte for byte")
            except EvidenceError as exc:
                raise CaseError(str(exc)) from exc
            make_wacz(warc, page_list(cases, f"turfwatch case {name}"), work / WACZ_NAME, f"turfwatch case {name}")

        leads = {(r["marketplace"], r["seller_id"]): r for r in store.leads()}
        with open(work / "leads.csv", "w", encoding="utf-8", newline="") as fh:
            write_csv([leads[k] for k in keys if k in leads], LEAD_COLUMNS, fh)
        exhibit = [exhibit_row(case) for case in cases]
        with open(work / "exhibit_a.csv", "w", encoding="utf-8", newline="") as fh:
            write_csv(exhibit, EXHIBIT_COLUMNS, fh)
        flagged = [{**listing, "capture_ids": [v["capture_id"] for v in listing["versions"] if v["capture_id"]]}
                   for case in cases for listing in case["listings"] if listing["flagged"]]
        with open(work / "listings.csv", "w", encoding="utf-8", newline="") as fh:
            write_csv(flagged, LISTING_COLUMNS, fh)
        (work / "sellers").mkdir()
        for case in cases:
            safe = safe_filename(f"{case['marketplace']}_{case['seller_id']}", suffix=".json")
            case["data_file"] = f"sellers/{safe}"
            (work / case["data_file"]).write_text(
                json.dumps(case, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
        meta = {"name": name, "created_at": created, "turfwatch_version": turfwatch_version(),
                "db_path": str(db_path.resolve()), "wacz": WACZ_NAME}
        (work / "report.html").write_text(render_report(cases, exhibit, meta), encoding="utf-8")

        files = sorted(p for p in work.rglob("*") if p.is_file())
        manifest = {
            "name": name,
            "created_at": created,
            "turfwatch_version": turfwatch_version(),
            "db_path": str(db_path.resolve()),
            "warc_dir": str(warc_dir.resolve()),
            "sellers": [{"marketplace": m, "seller_id": s} for m, s in keys],
            "captures": [c.__dict__ for c in copied],
            "algorithm": "sha256",
            "files": {p.relative_to(work).as_posix(): {"sha256": sha256_file(p), "bytes": p.stat().st_size}
                      for p in files},
        }
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.rename(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final

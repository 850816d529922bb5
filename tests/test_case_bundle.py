"""Case bundles: built from a real crawl of the demo, checked by `turfwatch verify` and `wacz validate`, hostile text kept inert."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from warcio.archiveiterator import ArchiveIterator

from crawler.case import safe_filename
from crawler.export_commands import export, verify
from crawler.report import field_text, flag_context
from crawler.store import Store
from crawler.verify import verify_bundle, wacz_command

from tests.conftest import HOSTILE_DESCRIPTION, HOSTILE_NAME, HOSTILE_SELLER, HOSTILE_TITLE

ROOT = Path(__file__).resolve().parent.parent
@pytest.fixture
def db(crawl_db, tmp_path) -> Path:
    """A private copy of the crawled database and its WARC files, for tests that change it."""
    target = tmp_path / "data"
    shutil.copytree(crawl_db.parent, target)
    return target / crawl_db.name


def run_cli(command, args: list[str]):
    result = CliRunner().invoke(command, args, catch_exceptions=False)
    return result


def top_three(db: Path) -> list[str]:
    with Store(db, read_only=True) as store:
        leads = store.leads(limit=3)
    assert len(leads) == 3, "the demo crawl should give at least three leads"
    return [f"{lead['marketplace']}:{lead['seller_id']}" for lead in leads]


def export_case(db: Path, out: Path, *sellers: str) -> Path:
    result = run_cli(export, ["case", *sellers, "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    bundle = Path(result.stdout.strip().splitlines()[-1])
    assert bundle.parent == out and bundle.is_dir()
    return bundle


@pytest.fixture(scope="session")
def top_bundle(crawl_db, tmp_path_factory) -> Path:
    return export_case(crawl_db, tmp_path_factory.mktemp("cases"), *top_three(crawl_db))


# --- the must-show: export, verify, tamper ------------------------------------------------


def test_top_three_bundle_holds_up_and_wacz_validate_accepts_it(top_bundle):
    names = {p.relative_to(top_bundle).as_posix() for p in top_bundle.rglob("*") if p.is_file()}
    assert {"captures.wacz", "manifest.json", "report.html", "leads.csv", "exhibit_a.csv", "listings.csv"} <= names
    manifest = json.loads((top_bundle / "manifest.json").read_text())
    assert set(manifest["files"]) == names - {"manifest.json"}
    assert len(manifest["sellers"]) == 3 and manifest["created_at"].endswith("Z") and manifest["turfwatch_version"]
    assert verify_bundle(top_bundle) == []
    result = run_cli(verify, [str(top_bundle)])
    assert result.exit_code == 0 and "OK" in result.output
    assert wacz_command(), "the wacz CLI should be installed in the venv"
    judged = subprocess.run([*wacz_command(), "validate", "-f", str(top_bundle / "captures.wacz")],
                            capture_output=True, text=True, timeout=300)
    assert judged.returncode == 0, judged.stdout + judged.stderr


@pytest.mark.parametrize("victim", ["report.html", "captures.wacz", "exhibit_a.csv"])
def test_one_changed_byte_fails_verify_naming_the_file(top_bundle, tmp_path, victim):
    bundle = tmp_path / "bundle"
    shutil.copytree(top_bundle, bundle)
    path = bundle / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    result = run_cli(verify, [str(bundle), "--no-wacz-validate"])
    assert result.exit_code != 0
    assert any(line.startswith(f"{victim}:") for line in result.output.splitlines()), result.output


def test_missing_and_extra_files_are_named(top_bundle, tmp_path):
    bundle = tmp_path / "bundle"
    shutil.copytree(top_bundle, bundle)
    (bundle / "leads.csv").unlink()
    (bundle / "planted.txt").write_text("x")
    problems = verify_bundle(bundle, wacz_validate=False)
    assert "leads.csv: missing" in problems
    assert any(p.startswith("planted.txt: extra") for p in problems)


def test_changed_wacz_member_is_named_even_with_a_matching_manifest(top_bundle, tmp_path):
    """Someone rebuilds the WACZ with a swapped index and re-hashes the manifest: the datapackage still catches it."""
    bundle = tmp_path / "bundle"
    shutil.copytree(top_bundle, bundle)
    wacz = bundle / "captures.wacz"
    rebuilt = tmp_path / "rebuilt.wacz"
    with zipfile.ZipFile(wacz) as src, zipfile.ZipFile(rebuilt, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.startswith("pages/"):
                data += b"\n"
            dst.writestr(info, data)
    shutil.move(rebuilt, wacz)
    manifest = json.loads((bundle / "manifest.json").read_text())
    from crawler.case import sha256_file

    manifest["files"]["captures.wacz"] = {"sha256": sha256_file(wacz), "bytes": wacz.stat().st_size}
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    problems = verify_bundle(bundle, wacz_validate=False)
    assert problems and all(p.startswith("captures.wacz: pages/") for p in problems), problems


def test_wacz_holds_the_exact_capture_records_and_warcinfo(top_bundle, crawl_db):
    manifest = json.loads((top_bundle / "manifest.json").read_text())
    copied = {c["capture_id"]: c for c in manifest["captures"]}
    with zipfile.ZipFile(top_bundle / "captures.wacz") as zf:
        warcs = [n for n in zf.namelist() if n.startswith("archive/")]
        assert len(warcs) == 1
        data = zf.read(warcs[0])
    types, ids = [], set()
    for record in ArchiveIterator(io.BytesIO(data)):
        types.append(record.rec_type)
        if record.rec_type == "response":
            ids.add(record.rec_headers.get_header("WARC-Record-ID"))
    assert types[0] == "warcinfo" and types.count("warcinfo") == 1 + len({c["warc_file"] for c in copied.values()})
    assert ids == set(copied)
    # Byte-for-byte: each source gzip member appears unchanged in the case WARC.
    warc_dir = crawl_db.parent / "warc"
    for c in copied.values():
        with open(warc_dir / c["warc_file"], "rb") as fh:
            fh.seek(c["offset"])
            assert fh.read(c["length"]) in data


def test_every_seller_capture_is_in_the_bundle(top_bundle, crawl_db):
    manifest = json.loads((top_bundle / "manifest.json").read_text())
    with Store(crawl_db, read_only=True) as store:
        for s in manifest["sellers"]:
            wanted = {r["capture_id"] for r in store.db.query(
                """SELECT capture_id FROM captures WHERE marketplace = ? AND (seller_id = ? OR listing_id IN
                   (SELECT listing_id FROM listings WHERE marketplace = ? AND seller_id = ?))""",
                [s["marketplace"], s["seller_id"], s["marketplace"], s["seller_id"]])}
            assert wanted and wanted <= {c["capture_id"] for c in manifest["captures"]}


# --- hostile seller text ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def hostile_bundle(crawl_db, tmp_path_factory) -> Path:
    return export_case(crawl_db, tmp_path_factory.mktemp("hostile"), HOSTILE_SELLER)


def test_hostile_seller_was_crawled_and_flagged(crawl_db):
    with Store(crawl_db, read_only=True) as store:
        listing = next(store.db.query("SELECT * FROM listings WHERE seller_id = ?", [HOSTILE_SELLER]))
        assert listing["title"] == HOSTILE_TITLE and listing["description"] == HOSTILE_DESCRIPTION
        assert listing["sells_reviews"] == 1


def test_report_escapes_seller_text_and_has_no_script(hostile_bundle):
    html = (hostile_bundle / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "onerror=" not in html.replace("onerror=alert(2)&gt;", "")  # only as escaped text
    assert "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<mark>" in html and "@media print" in html and "<svg" in html
    assert "Exhibit A" in html and "xss_tester" in html


def test_every_flag_is_placed_in_its_original_text(top_bundle):
    html = (top_bundle / "report.html").read_text(encoding="utf-8")
    assert html.count("<mark>") >= 3
    assert "does not contain this span" not in html


def test_csv_cells_from_hostile_text_start_with_a_quote(hostile_bundle):
    def rows(name):
        with open(hostile_bundle / name, encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))

    listing = next(r for r in rows("listings.csv") if r["seller_id"] == HOSTILE_SELLER)
    assert listing["description"] == "'" + HOSTILE_DESCRIPTION
    assert listing["title"] == HOSTILE_TITLE
    exhibit = next(r for r in rows("exhibit_a.csv") if r["username"] == HOSTILE_SELLER)
    assert exhibit["display_name"] == "'" + HOSTILE_NAME
    for name in ("listings.csv", "exhibit_a.csv", "leads.csv"):
        for row in rows(name):
            assert not any(v.startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values()), (name, row)


def test_bundle_name_and_seller_files_never_carry_seller_text(hostile_bundle):
    assert hostile_bundle.name.startswith("case-")
    for path in hostile_bundle.rglob("*"):
        assert all(ch.isalnum() or ch in "._-/" for ch in path.relative_to(hostile_bundle).as_posix()), path


# --- parts --------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("alice", "alice-"),
    ("../../etc/passwd", "etc_passwd-"),
    ("<script>", "script-"),
    ("...", "x-"),
    ("é" * 100, "x-"),
    ("a" * 300, "a" * 40 + "-"),
])
def test_safe_filename(text, expected):
    name = safe_filename(text)
    assert name.startswith(expected) and len(name) <= 51
    assert all(ch.isascii() and (ch.isalnum() or ch in "._-") for ch in name)
    assert safe_filename(text) != safe_filename(text + "!")


VERSION = {
    "title": "I will post google reviews", "description": "Fast. I post google reviews daily.",
    "tags": json.dumps(["seo", "google reviews"]),
    "packages": json.dumps([{"title": "Basic", "description": "10 reviews"}]),
    "faq": json.dumps([{"question": "Real?", "answer": "Yes, from local guides."}]),
}


@pytest.mark.parametrize("path, expected", [
    ("title", "I will post google reviews"),
    ("tags[1]", "google reviews"),
    ("packages[0].description", "10 reviews"),
    ("faq[0].answer", "Yes, from local guides."),
    ("tags[5]", None),
    ("packages[0].price", None),
    ("title]", None),
    ("__class__", None),
])
def test_field_text(path, expected):
    assert field_text(VERSION, path) == expected


def test_flag_context_uses_original_offsets_and_refuses_mismatches():
    flag = {"field": "description", "span_start": 13, "span_end": 27, "matched_text": "google reviews"}
    assert flag_context(VERSION, flag) == {"placed": True, "before": "Fast. I post ", "match": "google reviews", "after": " daily."}
    assert flag_context(VERSION, {**flag, "span_start": 12})["placed"] is False


def test_cluster_without_table_is_one_clear_line(db, tmp_path):
    result = CliRunner().invoke(export, ["case", "--cluster", "1", "--db", str(db), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: this database has no clusters (table cluster_members is missing)"


def test_cluster_exports_its_members(db, tmp_path):
    members = top_three(db)[:2]
    with Store(db) as store:
        store.db.execute("CREATE TABLE cluster_members (cluster_id INTEGER, marketplace TEXT, seller_id TEXT)")
        for m in members:
            store.db.execute("INSERT INTO cluster_members VALUES (7, ?, ?)", m.split(":", 1))
    bundle = export_case(db, tmp_path / "o", "--cluster", "7")
    sellers = json.loads((bundle / "manifest.json").read_text())["sellers"]
    assert [f"{s['marketplace']}:{s['seller_id']}" for s in sellers] == sorted(members)


def test_missing_warc_file_fails_clearly(db, tmp_path):
    for warc in (db.parent / "warc").iterdir():
        warc.unlink()
    result = CliRunner().invoke(export, ["case", "--top", "1", "--db", str(db), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1 and "is missing from" in result.output
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir()), "no half-built bundle is left"

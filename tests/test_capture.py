"""WARC capture (crawler/capture.py) without a crawl: records, digests, gzip members and the captures index."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import zlib
from pathlib import Path

from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from crawler.capture import WarcCapture
from crawler.warc import WARC_GZIP_LEVEL
from crawler.store import Store
from crawler.writer import RunWriter
from crawler.warc_extract import response_members

PAGES = [
    ("http://demo.test/search/gigs?query=reviews", 200, b"<html>" + b"<p>gig</p>" * 2000 + b"</html>"),
    ("http://demo.test/bob/write-reviews", 200, "<html><p>caf\u00e9 \u2605\u2605\u2605\u2605\u2605</p></html>".encode()),
    ("http://demo.test/gone", 404, b""),
]


def _capturing(db: Path) -> tuple[WarcCapture, RunWriter]:
    """The capture extension of a crawl-less run on `db`, with its writer (WARC files in `db`'s folder)."""
    crawler = get_crawler(settings_dict={"TURFWATCH_DB": str(db), "TURFWATCH_RULES_VERSION": "test@1"})
    crawler.stats.open_spider()
    writer = RunWriter.start(db, None)
    ext = WarcCapture(crawler, db.parent / "warc", 1 << 30)
    ext.attach(writer)
    return ext, writer


def _capture_pages(tmp_path: Path) -> tuple[list[dict], list[Path]]:
    db = tmp_path / "t.db"
    ext, writer = _capturing(db)
    for url, status, body in PAGES:
        request = Request(url, headers={"Accept": "text/html"})
        response = HtmlResponse(url, status=status, body=body, request=request,
                                headers={"Content-Type": "text/html; charset=utf-8", "Transfer-Encoding": "chunked"})
        ext.response_downloaded(response, request, None)
    report = writer.finish()
    assert (report.complete, report.captures, report.errors) == (True, len(PAGES), [])
    with Store(db) as store:
        captures = list(store.db.query("SELECT * FROM captures ORDER BY warc_offset"))
    return captures, sorted((tmp_path / "warc").glob("*.warc.gz"))


def test_records_pass_warcio_check_with_their_digests(tmp_path):
    _, warcs = _capture_pages(tmp_path)
    check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", "-v", *map(str, warcs)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout and "fail" not in check.stdout


def test_index_points_at_one_gzip_member_per_record_with_the_payload_digest(tmp_path):
    captures, (warc,) = _capture_pages(tmp_path)
    assert [(c["url"], c["status"]) for c in captures] == [(u, s) for u, s, _ in PAGES]
    for capture, (_, _, body) in zip(captures, PAGES):
        assert capture["sha256"] == hashlib.sha256(body).hexdigest()
        # Checks record id, payload SHA-256 and WARC-Payload-Digest against the index; finds the request record.
        response, request = response_members(warc, capture)
        assert request is not None
        member = zlib.decompressobj(zlib.MAX_WBITS + 16)
        record = member.decompress(response)
        assert member.eof and member.unused_data == b"", "warc_length is exactly one gzip member"
        assert record.startswith(b"WARC/1.1\r\n") and b"X-Turfwatch-Original-Transfer-Encoding: chunked" in record


def test_records_are_read_back_in_order(tmp_path):
    _, (warc,) = _capture_pages(tmp_path)
    with open(warc, "rb") as fh:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.content_stream().read())
                   for r in ArchiveIterator(fh)]
    assert [t for t, _, _ in records] == ["warcinfo"] + ["response", "request"] * len(PAGES)
    responses = [(u, b) for t, u, b in records if t == "response"]
    assert responses == [(u, b) for u, _, b in PAGES]


def test_gzip_level_is_below_warcios_nine(tmp_path):
    _, (warc,) = _capture_pages(tmp_path)
    assert WARC_GZIP_LEVEL == 6
    # gzip header byte 8 (XFL) is 2 for zlib's level 9 and 0 for 2..8.
    assert warc.read_bytes()[8] == 0


def test_hostile_header_bytes_do_not_lose_the_capture(tmp_path):
    """Non-ASCII header names and values (with ";" in them) made warcio raise and the capture vanish."""
    db = tmp_path / "t.db"
    ext, writer = _capturing(db)
    url = "http://demo.test/sam/hostile"
    request = Request(url)
    headers = {"Content-Type": "text/html", "X-\u00e9t\u00e9".encode(): b"v", "X-Note": "\u00e9t\u00e9; x=1".encode()}
    ext.response_downloaded(HtmlResponse(url, body=b"<p>hi</p>", request=request, headers=headers), request, None)
    assert writer.finish().errors == []
    with Store(db) as store:
        assert [c["url"] for c in store.db.query("SELECT url FROM captures")] == [url]
    warcs = sorted((tmp_path / "warc").glob("*.warc.gz"))
    check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", *map(str, warcs)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    with open(warcs[0], "rb") as f:
        record = next(r for r in ArchiveIterator(f) if r.rec_type == "response")
        assert record.http_headers.get_header("X-%C3%A9t%C3%A9") == "v"
        assert record.http_headers.get_header("X-Note") == "%C3%A9t%C3%A9; x=1"


def test_a_full_warc_file_is_closed_and_the_next_capture_starts_a_new_one(tmp_path):
    """TURFWATCH_WARC_MAX_BYTES: past it, a new file (with its own warcinfo) takes the next capture."""
    from datetime import datetime, timezone

    from crawler.warc import Exchange, WarcFiles, new_record_id

    files = WarcFiles(tmp_path / "warc", 1, 7, {"software": "test"})
    rows = []
    for url, status, body in PAGES:
        rows.append(files.write(Exchange(new_record_id(), datetime.now(timezone.utc), url, status, [], body, "",
                                         None, url, "GET", [], b"")))
    files.close()
    warcs = sorted((tmp_path / "warc").glob("*.warc.gz"))
    assert len({r["warc_file"] for r in rows}) == len(PAGES) and len(warcs) == len(PAGES) + 1 == files.serial
    for row in rows:
        response, request = response_members(tmp_path / "warc" / row["warc_file"], row)
        assert request is not None
    check = subprocess.run([str(Path(sys.executable).parent / "warcio"), "check", *map(str, warcs)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

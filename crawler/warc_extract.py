"""Copy chosen WARC records, byte for byte, out of the crawl's WARC files into one new WARC."""

from __future__ import annotations

import base64
import hashlib
import io
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from warcio.archiveiterator import ArchiveIterator

from crawler.warc import Sha256WarcWriter

_CHUNK = 64 * 1024


class EvidenceError(Exception):
    """A capture cannot be copied as evidence: missing file, or bytes that do not match the index."""


@dataclass
class CopiedRecord:
    capture_id: str
    warc_file: str
    offset: int
    length: int
    sha256: str
    with_request: bool


def resolve_warc(warc_dir: Path, warc_file: str) -> Path:
    """The captures table holds a bare file name; anything else is refused, not followed."""
    if not warc_file or Path(warc_file).name != warc_file or warc_file in (".", ".."):
        raise EvidenceError(f"capture names an unexpected WARC path {warc_file!r}")
    path = warc_dir / warc_file
    if not path.is_file():
        raise EvidenceError(f"WARC file {warc_file} is missing from {warc_dir}")
    return path


def _member_length(fh: BinaryIO, offset: int) -> int:
    """Length in bytes of the gzip member starting at `offset` (0 at end of file)."""
    fh.seek(offset)
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    fed = 0
    while not inflater.eof:
        chunk = fh.read(_CHUNK)
        if not chunk:
            if fed == 0:
                return 0
            raise EvidenceError(f"truncated gzip member at offset {offset}")
        fed += len(chunk)
        inflater.decompress(chunk)
    return fed - len(inflater.unused_data)


def _read(fh: BinaryIO, offset: int, length: int) -> bytes:
    fh.seek(offset)
    data = fh.read(length)
    if len(data) != length:
        raise EvidenceError(f"WARC ends before offset {offset}+{length}")
    return data


def _parse_one(member: bytes):
    """(headers, raw payload sha256 hex) of the single record in one gzip member."""
    for record in ArchiveIterator(io.BytesIO(member), no_record_parse=False):
        payload = hashlib.sha256(record.raw_stream.read()).hexdigest()
        return record.rec_headers, payload
    raise EvidenceError("no WARC record in member")


def _b32(sha256_hex: str) -> str:
    return "sha256:" + base64.b32encode(bytes.fromhex(sha256_hex)).decode()


def warcinfo_member(path: Path) -> bytes:
    """The first record of a crawl WARC, which must be its warcinfo."""
    with open(path, "rb") as fh:
        length = _member_length(fh, 0)
        member = _read(fh, 0, length)
    headers, _ = _parse_one(member)
    if headers.get_header("WARC-Type") != "warcinfo":
        raise EvidenceError(f"{path.name} does not start with a warcinfo record")
    return member


def response_members(path: Path, capture: dict) -> tuple[bytes, bytes | None]:
    """The response record of a capture, checked against the index, and its request record if it follows."""
    with open(path, "rb") as fh:
        member = _read(fh, capture["warc_offset"], capture["warc_length"])
        following = _member_length(fh, capture["warc_offset"] + capture["warc_length"])
        after = _read(fh, capture["warc_offset"] + capture["warc_length"], following) if following else None
    try:
        headers, payload = _parse_one(member)
    except Exception as exc:  # noqa: BLE001 - any parse error means the index points at the wrong bytes
        raise EvidenceError(f"capture {capture['capture_id']}: no WARC record at {path.name}:{capture['warc_offset']} ({exc})") from exc
    where = f"capture {capture['capture_id']} at {path.name}:{capture['warc_offset']}"
    if headers.get_header("WARC-Record-ID") != capture["capture_id"]:
        raise EvidenceError(f"{where}: the record there has another WARC-Record-ID")
    if payload != capture["sha256"]:
        raise EvidenceError(f"{where}: payload SHA-256 differs from the index")
    declared = headers.get_header("WARC-Payload-Digest")
    if declared and declared.startswith("sha256:") and declared != _b32(capture["sha256"]):
        raise EvidenceError(f"{where}: WARC-Payload-Digest differs from the payload")
    request = None
    if after:
        req_headers, _ = _parse_one(after)
        if (req_headers.get_header("WARC-Type") == "request"
                and req_headers.get_header("WARC-Concurrent-To") == capture["capture_id"]):
            request = after
    return member, request


def write_case_warc(out_path: Path, warc_dir: Path, captures: Iterable[dict], description: str) -> list[CopiedRecord]:
    """Write a gzipped WARC: our own warcinfo, then per source file its warcinfo and the
    capture records in file order. Source records are copied as their original gzip
    members, so their digests and any reader's offsets stay valid."""
    by_file: dict[str, list[dict]] = {}
    for capture in captures:
        by_file.setdefault(capture["warc_file"], []).append(capture)
    copied: list[CopiedRecord] = []
    with open(out_path, "xb") as out:
        writer = Sha256WarcWriter(out, gzip=True, warc_version="1.1")
        writer.write_record(writer.create_warcinfo_record(out_path.name, {
            "software": "turfwatch case export",
            "description": description,
            "source-files": " ".join(sorted(by_file)),
        }))
        for name in sorted(by_file):
            path = resolve_warc(warc_dir, name)
            out.write(warcinfo_member(path))
            for capture in sorted(by_file[name], key=lambda c: c["warc_offset"]):
                response, request = response_members(path, capture)
                out.write(response)
                if request:
                    out.write(request)
                copied.append(CopiedRecord(capture["capture_id"], name, capture["warc_offset"],
                                           capture["warc_length"], capture["sha256"], request is not None))
    return copied

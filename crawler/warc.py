"""WARC/1.1 files of a run's HTTP exchanges, with SHA-256 digests, one gzip member per record.

No Scrapy here: the crawl describes each exchange as an `Exchange`, and whoever holds the run's
`WarcFiles` writes it (crawler/writer.py, in the run's writer process).
"""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import GzippingWrapper, WARCWriter

# gzip level of WARC records. warcio's own wrapper compresses at 9; zlib's default 6 makes files within 1%
# of that size (demo pages: 21.4% of their size against 21.2%) at about half the CPU time per record.
WARC_GZIP_LEVEL = 6


class _GzipMember(GzippingWrapper):
    """warcio's GzippingWrapper (one gzip member per record), at WARC_GZIP_LEVEL instead of its fixed 9."""

    def __init__(self, out):
        super().__init__(out)
        self.compressor = zlib.compressobj(WARC_GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)


class Sha256WarcWriter(WARCWriter):
    """warcio writes SHA-1 digests; evidence wants SHA-256 (WARC 1.1 allows any algorithm).
    With gzip, every record is its own gzip member (as with warcio), compressed at WARC_GZIP_LEVEL."""

    def __init__(self, filebuf, *args, gzip: bool = True, **kwargs):
        # warcio's own gzip wrapper has its level fixed: write_record wraps the file itself instead.
        super().__init__(filebuf, *args, gzip=False, **kwargs)
        self.gzip_members = gzip

    def write_record(self, record, params=None):
        self._write_warc_record(_GzipMember(self.out) if self.gzip_members else self.out, record)

    @staticmethod
    def _create_digester():
        return Digester("sha256")


def new_record_id() -> str:
    """A WARC-Record-ID, as warcio makes them. The crawl picks it, so items can name their capture at once."""
    return f"<urn:uuid:{uuid.uuid4()}>"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP exchange as the crawler saw it: all a WARC response record and its request record need.
    Header names and values are ASCII text already (see crawler/capture.py); the request's Host header is
    the writer's to add, from `request_url`."""

    record_id: str
    fetched: datetime  # UTC, when the response arrived
    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    content_type: str
    ip_address: str | None
    request_url: str
    request_method: str
    request_headers: list[tuple[str, str]]
    request_body: bytes


class WarcFiles:
    """The WARC files of one run in `directory`: a new file when one passes `max_bytes`."""

    def __init__(self, directory: Path, max_bytes: int, run_id: int | None, warcinfo: dict):
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.run_id = run_id
        self.warcinfo = warcinfo
        self.file = None
        self.writer: Sha256WarcWriter | None = None
        self.path: Path | None = None
        self.serial = 0
        self.directory.mkdir(parents=True, exist_ok=True)
        self._open_file()

    def _open_file(self) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        # Names come from the clock, run id and process id only: never from page content.
        name = f"turfwatch-{stamp}-run{self.run_id or 0}-{os.getpid()}-{self.serial:05d}.warc.gz"
        self.serial += 1
        self.path = self.directory / name
        self.file = open(self.path, "xb")
        self.writer = Sha256WarcWriter(self.file, gzip=True, warc_version="1.1")
        self.writer.write_record(self.writer.create_warcinfo_record(name, self.warcinfo))

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
            self.writer = None

    def flush(self) -> None:
        if self.file is not None:
            self.file.flush()

    def write(self, exchange: Exchange) -> dict:
        """Write the response record and its request record; return the row of `captures` that indexes them.
        The caller flushes (`flush`) before it commits that row."""
        date = _warc_date(exchange.fetched)
        body = exchange.body
        # One SHA-256 of the body for both the record's payload digest and the capture index.
        body_sha256 = hashlib.sha256(body).digest()
        status_line = f"{exchange.status} {_reason(exchange.status)}"
        response_record = self.writer.create_warc_record(
            exchange.url, "response", payload=BytesIO(body), length=len(body),
            http_headers=StatusAndHeaders(status_line, exchange.headers, protocol="HTTP/1.1"),
            warc_headers_dict=_response_warc_headers(date, exchange, body_sha256),
        )
        request_body = exchange.request_body
        target = urlsplit(exchange.request_url)
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        request_record = self.writer.create_warc_record(
            exchange.request_url, "request", payload=BytesIO(request_body), length=len(request_body),
            http_headers=StatusAndHeaders(f"{exchange.request_method} {path} HTTP/1.1",
                                          [("Host", target.netloc), *exchange.request_headers],
                                          protocol="HTTP/1.1", is_http_request=True),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": exchange.record_id},
        )
        offset = self.file.tell()
        self.writer.write_record(response_record)
        length = self.file.tell() - offset
        self.writer.write_record(request_record)
        capture = {
            "capture_id": exchange.record_id,
            "run_id": self.run_id,
            "url": exchange.url,
            "status": exchange.status,
            "fetched_at": exchange.fetched.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "warc_file": self.path.name,
            "warc_offset": offset,
            "warc_length": length,
            "sha256": body_sha256.hex(),
            "content_type": exchange.content_type,
        }
        if self.file.tell() >= self.max_bytes:
            self.close()
            self._open_file()
        return capture


def _warc_date(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _response_warc_headers(date: str, exchange: Exchange, payload_sha256: bytes) -> dict:
    """WARC headers of a response record, in the order warcio would give them; the payload digest is
    precomputed, so warcio does not hash the body a second time for it."""
    headers = {"WARC-Date": date}
    if exchange.ip_address is not None:
        headers["WARC-IP-Address"] = exchange.ip_address
    headers["WARC-Type"] = "response"
    headers["WARC-Record-ID"] = exchange.record_id
    headers["WARC-Target-URI"] = exchange.url
    headers["WARC-Payload-Digest"] = "sha256:" + base64.b32encode(payload_sha256).decode("ascii")
    return headers


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"

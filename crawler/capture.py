"""Evidence capture: every downloaded response is written to WARC/1.1 with SHA-256 digests and indexed in `captures`."""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import zlib
from datetime import datetime, timezone
from http import HTTPStatus
from importlib.metadata import PackageNotFoundError, version
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import GzippingWrapper, WARCWriter

from crawler.store import Store

logger = logging.getLogger(__name__)

# Where a response's capture is noted for the callbacks and items that come from it.
CAPTURE_META_KEY = "turfwatch_capture"

# The body handed to us is de-chunked; keeping the header would make WARC readers
# try to de-chunk it again. The original value is kept under this name.
_RENAMED_HEADERS = {"transfer-encoding": "X-Turfwatch-Original-Transfer-Encoding"}


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


def _headers(headers) -> list[tuple[str, str]]:
    """Every value of every header, repeated ones included, as ASCII text (see `_header_text`)."""
    pairs = []
    for name in headers:
        key = _header_text(name)
        key = _RENAMED_HEADERS.get(key.lower(), key)
        for value in headers.getlist(name):
            pairs.append((key, _header_text(value)))
    return pairs


def _header_text(raw: bytes) -> str:
    """Header bytes as text warcio can write: non-ASCII bytes percent-encoded.

    warcio writes HTTP headers as ASCII; a header name with other bytes, or such a value with a ";"
    in it, made it raise, and the page's capture was lost. A server chooses its headers, so a hostile
    one could hide its pages from the evidence that way."""
    if raw.isascii():
        return raw.decode("ascii")
    return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)


def _http_date(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class WarcCapture:
    """Scrapy extension writing WARC files from the `response_downloaded` signal,
    where the body is still as the server sent it (before decompression)."""

    def __init__(self, crawler, directory: Path, max_bytes: int):
        self.crawler = crawler
        self.directory = directory
        self.max_bytes = max_bytes
        self.store: Store | None = None
        self.run_id: int | None = None
        self.file = None
        self.writer: Sha256WarcWriter | None = None
        self.path: Path | None = None
        self.serial = 0

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("TURFWATCH_WARC_ENABLED", True):
            raise NotConfigured
        directory = settings.get("TURFWATCH_WARC_DIR") or str(Path(settings.get("TURFWATCH_DB")).parent / "warc")
        ext = cls(crawler, Path(directory), settings.getint("TURFWATCH_WARC_MAX_BYTES", 1 << 30))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        return ext

    def spider_opened(self, spider) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.crawler.settings.get("TURFWATCH_DB"))
        self.run_id = self.crawler.stats.get_value("turfwatch/run_id")
        self._open_file()

    def spider_closed(self, spider, reason) -> None:
        self._close_file()
        if self.store is not None:
            self.store.close()
            self.store = None

    def _open_file(self) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        # Names come from the clock, run id and process id only: never from page content.
        name = f"turfwatch-{stamp}-run{self.run_id or 0}-{os.getpid()}-{self.serial:05d}.warc.gz"
        self.serial += 1
        self.path = self.directory / name
        self.file = open(self.path, "xb")
        self.writer = Sha256WarcWriter(self.file, gzip=True, warc_version="1.1")
        self.writer.write_record(self.writer.create_warcinfo_record(name, self._warcinfo()))
        self.crawler.stats.inc_value("turfwatch/warc_files")

    def _close_file(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
            self.writer = None

    def _warcinfo(self) -> dict:
        return {
            "software": f"turfwatch/{_version('turfwatch')} (Scrapy {_version('scrapy')}, warcio {_version('warcio')})",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
            "description": (
                "Records are rebuilt from Scrapy Request and Response objects at the response_downloaded "
                "signal: bodies are as received after transfer decoding (content encoding kept), every "
                "header value is kept, Transfer-Encoding is renamed X-Turfwatch-Original-Transfer-Encoding. "
                "The request record lists the headers Scrapy sent, not the raw bytes on the wire."
            ),
            "turfwatch-run": str(self.run_id),
            "turfwatch-rules": self.crawler.settings.get("TURFWATCH_RULES_VERSION") or _rules_version(),
            "robots": "obey" if self.crawler.settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "http-header-user-agent": self.crawler.settings.get("USER_AGENT"),
        }

    def response_downloaded(self, response: Response, request: Request, spider) -> None:
        if self.writer is None or self.store is None:
            return
        fetched = datetime.now(timezone.utc)
        date = _http_date(fetched)
        target = response.url
        status_line = f"{response.status} {_reason(response.status)}"
        http_headers = StatusAndHeaders(status_line, _headers(response.headers), protocol="HTTP/1.1")
        body = response.body
        # One SHA-256 of the body for both the record's payload digest and the capture index.
        body_sha256 = hashlib.sha256(body).digest()
        response_record = self.writer.create_warc_record(
            target, "response", payload=BytesIO(body), length=len(body), http_headers=http_headers,
            warc_headers_dict=_warc_headers(date, response, target, self.writer._make_warc_id(), body_sha256),
        )
        record_id = response_record.rec_headers.get_header("WARC-Record-ID")
        parts = urlsplit(request.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request_headers = [("Host", parts.netloc), *_headers(request.headers)]
        request_record = self.writer.create_warc_record(
            request.url, "request", payload=BytesIO(request.body or b""), length=len(request.body or b""),
            http_headers=StatusAndHeaders(f"{request.method} {path} HTTP/1.1", request_headers, protocol="HTTP/1.1", is_http_request=True),
            warc_headers_dict={"WARC-Date": date, "WARC-Concurrent-To": record_id},
        )
        offset = self.file.tell()
        self.writer.write_record(response_record)
        length = self.file.tell() - offset
        self.writer.write_record(request_record)
        self.file.flush()
        capture = {
            "capture_id": record_id,
            "run_id": self.run_id,
            "url": target,
            "status": response.status,
            "fetched_at": fetched.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "warc_file": self.path.name,
            "warc_offset": offset,
            "warc_length": length,
            "sha256": body_sha256.hex(),
            "content_type": (response.headers.get("Content-Type") or b"").decode("latin-1"),
        }
        self.store.save_capture(capture)
        request.meta[CAPTURE_META_KEY] = capture["capture_id"]
        self.crawler.stats.inc_value("turfwatch/captures")
        if self.file.tell() >= self.max_bytes:
            self._close_file()
            self._open_file()


def _warc_headers(date: str, response: Response, target: str, record_id: str, payload_sha256: bytes) -> dict:
    """WARC headers of a response record, in the order warcio would give them; the payload digest is
    precomputed, so warcio does not hash the body a second time for it."""
    headers = {"WARC-Date": date}
    if response.ip_address is not None:
        headers["WARC-IP-Address"] = str(response.ip_address)
    headers["WARC-Type"] = "response"
    headers["WARC-Record-ID"] = record_id
    headers["WARC-Target-URI"] = target
    headers["WARC-Payload-Digest"] = "sha256:" + base64.b32encode(payload_sha256).decode("ascii")
    return headers


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "dev"


def _rules_version() -> str:
    """`id@version` of every rule, so a WARC says which rules judged its pages."""
    try:
        from crawler.flagging import get_flagger
    except ImportError:
        return "unknown"
    return " ".join(f"{rule.id}@{rule.version}" for rule in get_flagger().rules)

"""Evidence capture: every downloaded response becomes an `Exchange` that the run's writer (crawler/writer.py)
writes to WARC/1.1 (crawler/warc.py) and indexes in `captures`."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.http import Request, Response

from crawler.pipelines import StorePipeline
from crawler.warc import Exchange, new_record_id
from crawler.writer import RunWriter, WriterGone

logger = logging.getLogger(__name__)

# Where a response's capture is noted for the callbacks and items that come from it.
CAPTURE_META_KEY = "turfwatch_capture"

# The body handed to us is de-chunked; keeping the header would make WARC readers
# try to de-chunk it again. The original value is kept under this name.
_RENAMED_HEADERS = {"transfer-encoding": "X-Turfwatch-Original-Transfer-Encoding"}


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


def exchange_of(response: Response, request: Request) -> Exchange:
    """The exchange as the `response_downloaded` signal shows it, stamped now, with a new record id."""
    return Exchange(
        record_id=new_record_id(),
        fetched=datetime.now(timezone.utc),
        url=response.url,
        status=response.status,
        headers=_headers(response.headers),
        body=response.body,
        content_type=(response.headers.get("Content-Type") or b"").decode("latin-1"),
        ip_address=str(response.ip_address) if response.ip_address is not None else None,
        request_url=request.url,
        request_method=request.method,
        request_headers=_headers(request.headers),
        request_body=request.body or b"",
    )


class WarcCapture:
    """Scrapy extension handing every response to the run's writer for WARC, at the `response_downloaded`
    signal, where the body is still as the server sent it (before decompression)."""

    def __init__(self, crawler, directory: Path, max_bytes: int):
        self.crawler = crawler
        self.directory = directory
        self.max_bytes = max_bytes
        self.writer: RunWriter | None = None

    @classmethod
    def from_crawler(cls, crawler):
        settings = crawler.settings
        if not settings.getbool("TURFWATCH_WARC_ENABLED", True):
            raise NotConfigured
        directory = settings.get("TURFWATCH_WARC_DIR") or str(Path(settings.get("TURFWATCH_DB")).parent / "warc")
        ext = cls(crawler, Path(directory), settings.getint("TURFWATCH_WARC_MAX_BYTES", 1 << 30))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.response_downloaded, signal=signals.response_downloaded)
        return ext

    def spider_opened(self, spider) -> None:
        pipeline = self.crawler.get_item_pipeline(StorePipeline)
        if pipeline is None or pipeline.writer is None:
            logger.error("WARC capture is on but %s is not: no page of this run is captured",
                         "crawler.pipelines.StorePipeline")
            return
        self.attach(pipeline.writer)

    def attach(self, writer: RunWriter) -> None:
        """Capture into the WARC files of `writer`'s run (the run's writer closes them when the run ends)."""
        run_id = self.crawler.stats.get_value("turfwatch/run_id")
        writer.open_warc(self.directory, self.max_bytes, self.warcinfo(run_id))
        self.writer = writer

    def warcinfo(self, run_id: int | None) -> dict:
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
            "turfwatch-run": str(run_id),
            "turfwatch-rules": self.crawler.settings.get("TURFWATCH_RULES_VERSION") or _rules_version(),
            "robots": "obey" if self.crawler.settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            "http-header-user-agent": self.crawler.settings.get("USER_AGENT"),
        }

    def response_downloaded(self, response: Response, request: Request, spider) -> None:
        if self.writer is None:
            return
        exchange = exchange_of(response, request)
        try:
            self.writer.capture(exchange)
        except WriterGone:
            return  # the pipeline has said so and is stopping the crawl
        request.meta[CAPTURE_META_KEY] = exchange.record_id
        self.crawler.stats.inc_value("turfwatch/captures")


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "dev"


def _rules_version() -> str:
    """`id@version` of every rule, so a WARC says which rules judged its pages: the flag worker's, when the
    crawl has one (crawler/flag_worker.py), else those of this process's flagger."""
    from crawler.flag_worker import FlagWorker, rules_version

    worker = FlagWorker.ready_shared()
    if worker is not None:
        return worker.rules_version
    try:
        from crawler.flagging import get_flagger
    except ImportError:
        return "unknown"
    return rules_version(get_flagger())

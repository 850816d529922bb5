"""UTF-8 pages mislabelled as Latin-1: read them as UTF-8, and say so.

Sites (and the proxies in front of them) often send `charset=iso-8859-1` for pages that are
really UTF-8. Decoded as labelled, every accented letter, Cyrillic look-alike and star glyph
turns into mojibake ("Ã©", "â˜…"): the stored listing no longer says what the seller wrote,
and the flagger no longer sees it. Latin-1 text with non-ASCII letters is almost never valid
UTF-8, so a body that decodes as strict UTF-8 is taken to be UTF-8. The WARC capture keeps
the bytes and headers exactly as served; the repair is counted and logged with the URL.
"""

from __future__ import annotations

import codecs
import logging

from scrapy.http import TextResponse

logger = logging.getLogger(__name__)

# Labels whose decoders accept any byte sequence, so that a wrong label never fails loudly.
_SINGLE_BYTE_LATIN = frozenset({"latin_1", "iso8859_1", "cp1252", "iso8859_15", "ascii"})


def mislabelled_utf8(response: TextResponse) -> bool:
    """True when the response is labelled with a single-byte Latin charset but its body is UTF-8."""
    try:
        declared = codecs.lookup(response.encoding).name.replace("-", "_")
    except LookupError:
        return False
    if declared not in _SINGLE_BYTE_LATIN or response.body.isascii():
        return False
    try:
        response.body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


class CharsetRepairMiddleware:
    """Downloader middleware: a mislabelled UTF-8 page is re-read as UTF-8 (stat `turfwatch/charset_repaired`)."""

    def __init__(self, stats):
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler.stats)

    def process_response(self, request, response, spider=None):
        if isinstance(response, TextResponse) and mislabelled_utf8(response):
            self.stats.inc_value("turfwatch/charset_repaired")
            logger.warning("Page labelled %s is UTF-8; read as UTF-8: %s", response.encoding, response.url)
            return response.replace(encoding="utf-8")
        return response

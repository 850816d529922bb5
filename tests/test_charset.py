"""A UTF-8 page labelled Latin-1 is read as UTF-8; a real Latin-1 page is left alone."""

from __future__ import annotations

from scrapy.http import HtmlResponse, Request
from scrapy.settings import Settings
from scrapy.statscollectors import MemoryStatsCollector

from crawler.charset import CharsetRepairMiddleware, mislabelled_utf8

TEXT = "<html><body><h1>50 reseñas ★★★★★ en Google</h1></body></html>"


def _response(body: bytes, charset: str) -> HtmlResponse:
    return HtmlResponse("http://127.0.0.1/x", body=body, headers={"Content-Type": f"text/html; charset={charset}"},
                        request=Request("http://127.0.0.1/x"))


class _Crawler:
    def __init__(self):
        self.settings = Settings()
        self.stats = MemoryStatsCollector(self)


def test_utf8_under_a_latin1_label_is_read_as_utf8(caplog):
    crawler = _Crawler()
    mw = CharsetRepairMiddleware.from_crawler(crawler)
    wrong = _response(TEXT.encode("utf-8"), "iso-8859-1")
    assert "reseÃ±as" in wrong.text  # what the label alone gives
    fixed = mw.process_response(wrong.request, wrong)
    assert "reseñas ★★★★★" in fixed.text and fixed.body == wrong.body
    assert crawler.stats.get_value("turfwatch/charset_repaired") == 1
    assert "http://127.0.0.1/x" in caplog.text


def test_real_latin1_and_right_labels_are_left_alone():
    latin1 = _response("<p>reseñas à la carte</p>".encode("latin-1"), "iso-8859-1")
    assert not mislabelled_utf8(latin1)
    assert not mislabelled_utf8(_response(TEXT.encode("utf-8"), "utf-8"))
    assert not mislabelled_utf8(_response(b"<p>plain ascii</p>", "iso-8859-1"))
    assert not mislabelled_utf8(_response(TEXT.encode("utf-8"), "windows-1251"))  # not a Latin label

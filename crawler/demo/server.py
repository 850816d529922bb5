"""Serve the demo marketplace over HTTP from a background thread (standard library only)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from crawler.demo import pages
from crawler.demo.content import Catalog, load_catalog
from crawler.demo.days import DayChanges, catalog_for_day
from crawler.demo.faults import Faults
from crawler.demo.httpserver import DemoHTTPServer
from crawler.demo.scale import scale_catalog
from crawler.demo.shapes.server import ShapeSites
from crawler.demo.truth import GroundTruth, truth_from_catalog


class _Server(DemoHTTPServer):
    catalog: Catalog
    base_url: str
    host_header: str


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "turfwatch-demo/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the CLI reports progress itself
        pass

    def do_GET(self):
        self._respond(send_body=True)

    def do_HEAD(self):
        self._respond(send_body=False)

    def _respond(self, send_body: bool):
        faults = getattr(self.server, "faults", None)
        if faults is not None and faults.respond(self, send_body):
            return  # a fault switch answered (or dropped) this request
        status, ctype, body = self._route()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def _route(self) -> tuple[int, str, bytes]:
        srv = self.server
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        segments = [s for s in path.split("/") if s]
        html_type = "text/html; charset=utf-8"

        def ok(text: str):
            return 200, html_type, text.encode("utf-8")

        if path == "/robots.txt":
            return 200, "text/plain; charset=utf-8", pages.ROBOTS_TXT.encode()
        if not segments:
            return ok(pages.home(len(srv.catalog.gigs)))
        if segments == ["search", "gigs"]:
            qs = parse_qs(parts.query)
            query = qs.get("query", [""])[0]
            try:
                page = max(1, int(qs.get("page", ["1"])[0]))
            except ValueError:
                page = 1
            return ok(pages.search_page(srv.catalog, query, page, srv.base_url, srv.host_header))
        if segments[0] == "images":
            return 200, "image/png", pages.PNG
        if len(segments) == 1 and segments[0] in srv.catalog.sellers:
            return ok(pages.seller_page(srv.catalog, srv.catalog.sellers[segments[0]], srv.base_url))
        if len(segments) == 2:
            gig = srv.catalog.by_path.get((segments[0], segments[1]))
            if gig:
                return ok(pages.gig_page(srv.catalog, gig, srv.base_url))
        return 404, html_type, pages.not_found().encode("utf-8")


class DemoMarketplace:
    """The demo site on host:port (port 0 picks a free port); use as a context manager or start()/stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, data_dir: str | Path | None = None, day: int = 1,
                 faults: Faults | None = None, scale: int = 1):
        self.host = host
        self.faults = faults  # crawler/demo/faults.py; settable before start()
        self.scale = scale
        self.port = port
        self._base_catalog = load_catalog(data_dir)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        # The other marketplace shapes (SEOClerks, PeoplePerHour, Freelancer, configured sites), one port each.
        self.shapes = ShapeSites(host)
        self.set_day(day)

    def set_day(self, day: int) -> DayChanges:
        """Show the site as it stands on `day` (1 = as shipped); works while serving."""
        self.day = day
        self.catalog, self.changes = catalog_for_day(self._base_catalog, day)
        self.catalog = scale_catalog(self.catalog, self.scale)
        self.truth: GroundTruth = truth_from_catalog(self.catalog)
        if self._server is not None:
            self._server.catalog = self.catalog
        return self.changes

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_urls(self) -> dict[str, str]:
        """marketplace -> base URL of every shape this demo serves (while started)."""
        return {"fiverr": self.base_url, **self.shapes.base_urls}

    @property
    def truths(self) -> dict[str, GroundTruth]:
        """marketplace -> ground truth (review sellers, or review buyers on a buyer marketplace)."""
        return {"fiverr": self.truth, **self.shapes.truths}

    def start(self) -> "DemoMarketplace":
        if self._server is not None:
            return self
        server = _Server((self.host, self.port), _Handler)
        self.port = server.server_address[1]
        server.catalog = self.catalog
        server.faults = self.faults.bind(self.catalog) if self.faults else None
        server.base_url = self.base_url
        server.host_header = f"{self.host}:{self.port}"
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="demo-marketplace", daemon=True)
        self._thread.start()
        self.shapes.start()
        return self

    def stop(self) -> None:
        self.shapes.stop()
        if self._server is None:
            return
        if self.faults:
            self.faults.stop()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (used by `python -m crawler.demo`)."""
        self.start()
        try:
            self._thread.join()
        finally:
            self.stop()

    def __enter__(self) -> "DemoMarketplace":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

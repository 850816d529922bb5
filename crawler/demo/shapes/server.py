"""Serve every non-Fiverr demo shape on its own port of the demo host, each with its real-looking paths."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from crawler.demo.httpserver import DemoHTTPServer
from crawler.demo.shapes import configured, freelancer, peopleperhour, seoclerks
from crawler.demo.shapes.catalog import ShapeCatalog, load_shape
from crawler.demo.truth import GroundTruth

# marketplace -> renderer; the order is the order of the demo report.
ROUTES = {
    "seoclerks": seoclerks.route,
    "peopleperhour": peopleperhour.route,
    "freelancer": freelancer.route,
    "gigbazaar": configured.gigbazaar,
    "taskhive": configured.taskhive,
    "servicebay": configured.servicebay,
}


class _Server(DemoHTTPServer):
    catalog: ShapeCatalog
    marketplace: str


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "turfwatch-demo/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002
        pass

    def do_GET(self):
        parts = urlsplit(self.path)
        segments = [s for s in unquote(parts.path).split("/") if s]
        status, ctype, body = ROUTES[self.server.marketplace](self.server.catalog, segments, parse_qs(parts.query))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class ShapeSites:
    """One HTTP server per marketplace shape on `host`, started and stopped together."""

    def __init__(self, host: str = "127.0.0.1", data_dir=None):
        self.host = host
        self.catalogs = {m: load_shape(m, data_dir) for m in ROUTES}
        self.truths: dict[str, GroundTruth] = {m: c.truth() for m, c in self.catalogs.items()}
        self.base_urls: dict[str, str] = {}
        self._servers: list[tuple[_Server, threading.Thread]] = []

    def start(self) -> "ShapeSites":
        if self._servers:
            return self
        for marketplace, catalog in self.catalogs.items():
            server = _Server((self.host, 0), _Handler)
            server.catalog, server.marketplace = catalog, marketplace
            thread = threading.Thread(target=server.serve_forever, name=f"demo-{marketplace}", daemon=True)
            thread.start()
            self._servers.append((server, thread))
            self.base_urls[marketplace] = f"http://{self.host}:{server.server_address[1]}"
        return self

    def stop(self) -> None:
        for server, thread in self._servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
        self._servers = []
        self.base_urls = {}

"""Fault switches for the demo marketplace: the ways real sites fail and fight back, on chosen gigs."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from crawler.demo.pages import embed_json

# Faults on gig pages. "5xx", "no-charset" and "wrong-charset" are recoverable: a good crawler
# still stores those gigs intact (retries; the <meta> charset; UTF-8 under a Latin-1 label is
# read as UTF-8). The others lose or mangle the gig.
GIG_FAULTS = (
    "5xx", "5xx-hard", "slow", "drop", "truncated", "malformed-html", "malformed-json",
    "wrong-charset", "no-charset", "huge-page", "redirect-loop", "null-fields", "huge-fields", "markup-fields",
)
RECOVERABLE = frozenset({"5xx", "no-charset", "wrong-charset"})
# Markup drift: a JSON key of the page renamed, as when the site ships a new front end.
DRIFTS = ("drift-search", "drift-gig")
ALL = GIG_FAULTS + DRIFTS
HUGE_PAGE_BYTES = 20 * 1024 * 1024
_PROPS_RE = re.compile(r'(<script type="application/json" id="perseus-initial-props">)(.*?)(</script>)', re.S)
_META_CHARSET = '<meta charset="utf-8">'


def parse_kinds(text: str | None) -> frozenset[str]:
    """`5xx,slow` or `all` (every gig fault, no drift) or `none`."""
    names = {n.strip() for n in (text or "").split(",") if n.strip()}
    if "all" in names:
        names = (names - {"all"}) | set(GIG_FAULTS)
    names.discard("none")
    unknown = names - set(ALL)
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(sorted(unknown))}; known: {', '.join(ALL)}, all")
    return frozenset(names)


@dataclass
class Faults:
    """Which faults are on and which gigs they hit. `targets` maps a fault to gig ids;
    unset ones are picked from the gigs a search for `pool_query` finds, `per_kind` each."""

    kinds: frozenset[str] = frozenset()
    targets: dict[str, set[int]] = field(default_factory=dict)
    per_kind: int = 2
    pool_query: str = "reviews"
    burst: int = 2  # 5xx answers before a "5xx" page recovers: below Scrapy's 3 attempts
    slow_cap: float = 60.0  # a "slow" answer waits for `release` at most this long
    hits: Counter = field(default_factory=Counter)  # fault -> answers given, for tests
    release: threading.Event = field(default_factory=threading.Event)
    _seen: Counter = field(default_factory=Counter)
    _by_gig: dict[int, str] = field(default_factory=dict)  # set by bind()
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def parse(cls, text: str | None, **options) -> "Faults":
        return cls(kinds=parse_kinds(text), **options)

    def bind(self, catalog) -> "Faults":
        """Pick target gigs for the gig faults that have none: disjoint, deterministic."""
        taken = {gid for ids in self.targets.values() for gid in ids}
        pool = [g for g in catalog.search(self.pool_query) if g["gig_id"] not in taken]
        for kind in GIG_FAULTS:
            if kind in self.kinds and kind not in self.targets:
                # A wrong charset label only shows on text that is not ASCII ("reseñas", "★★★★★").
                fits = [g for g in pool
                        if kind != "wrong-charset" or not (g["title"] + (g.get("description") or "")).isascii()]
                self.targets[kind] = picked = {g["gig_id"] for g in fits[:self.per_kind]}
                pool = [g for g in pool if g["gig_id"] not in picked]
        self._by_gig = {gid: kind for kind, ids in self.targets.items() if kind in self.kinds for gid in ids}
        return self

    def faulted_gigs(self) -> dict[int, str]:
        """gig id -> the fault it is under (what a test must not expect intact)."""
        return dict(self._by_gig)

    def stop(self) -> None:
        self.release.set()  # slow answers end now, so the server shuts down at once

    # --- the hook: called by the demo server before it routes a request ------

    def respond(self, handler, send_body: bool) -> bool:
        """Answer the request with a fault; False lets the server answer normally."""
        parts = urlsplit(handler.path)
        segments = [s for s in unquote(parts.path).split("/") if s]
        catalog = handler.server.catalog
        if segments == ["search", "gigs"] and "drift-search" in self.kinds:
            status, ctype, body = handler._route()
            return self._send(handler, send_body, status, ctype, _rewrite_props(body, _drift_search), "drift-search")
        gig = catalog.by_path.get((segments[0], segments[1])) if len(segments) == 2 else None
        if gig is None:
            return False
        kind = self._by_gig.get(gig["gig_id"])
        if kind is None:
            if "drift-gig" in self.kinds:
                status, ctype, body = handler._route()
                return self._send(handler, send_body, status, ctype, _rewrite_props(body, _drift_gig), "drift-gig")
            return False
        return getattr(self, "_" + kind.replace("-", "_"))(handler, send_body, parts)

    # --- one method per fault ------------------------------------------------

    def _hit(self, kind: str) -> None:
        with self._lock:
            self.hits[kind] += 1

    def _send(self, handler, send_body, status, ctype, body, kind, headers=(), length=None, cut=None) -> bool:
        self._hit(kind)
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            for name, value in headers:
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body) if length is None else length))
            handler.end_headers()
            if send_body:
                handler.wfile.write(body if cut is None else body[:cut])
                handler.wfile.flush()
        except OSError:
            pass  # the crawler hung up (timeout, size limit): that is the point
        if cut is not None or length is not None:
            handler.close_connection = True
        return True

    def _5xx(self, handler, send_body, parts):
        with self._lock:
            self._seen[parts.path] += 1
            n = self._seen[parts.path]
        if n > self.burst:
            return False
        code = (503, 500, 502)[(n - 1) % 3]
        return self._send(handler, send_body, code, "text/html; charset=utf-8", b"<h1>Server error</h1>", "5xx")

    def _5xx_hard(self, handler, send_body, parts):
        return self._send(handler, send_body, 500, "text/html; charset=utf-8", b"<h1>Server error</h1>", "5xx-hard")

    def _slow(self, handler, send_body, parts):
        self._hit("slow")
        # Past any sane DOWNLOAD_TIMEOUT; stop() releases it so shutdown never waits.
        self.release.wait(self.slow_cap)
        handler.close_connection = True
        return True

    def _drop(self, handler, send_body, parts):
        self._hit("drop")
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        handler.close_connection = True
        return True

    def _truncated(self, handler, send_body, parts):
        # Content-Length promises the whole page; the connection closes halfway.
        status, ctype, body = handler._route()
        return self._send(handler, send_body, status, ctype, body, "truncated", cut=len(body) // 2)

    def _malformed_html(self, handler, send_body, parts):
        # A complete answer whose markup stops in the middle of the JSON script.
        status, ctype, body = handler._route()
        start = body.find(b"perseus-initial-props")
        return self._send(handler, send_body, status, ctype, body[:start + 200], "malformed-html")

    def _malformed_json(self, handler, send_body, parts):
        status, ctype, body = handler._route()
        broken = _rewrite_text(body, lambda raw: raw.replace('":', '":,', 1))
        return self._send(handler, send_body, status, ctype, broken, "malformed-json")

    def _wrong_charset(self, handler, send_body, parts):
        status, _, body = handler._route()
        return self._send(handler, send_body, status, "text/html; charset=iso-8859-1", body, "wrong-charset")

    def _no_charset(self, handler, send_body, parts):
        status, _, body = handler._route()
        body = body.replace(_META_CHARSET.encode(), b"", 1)
        return self._send(handler, send_body, status, "text/html", body, "no-charset")

    def _huge_page(self, handler, send_body, parts):
        # Declared up front, so a crawler with a size limit can refuse before reading.
        status, ctype, body = handler._route()
        self._hit("huge-page")
        padding = HUGE_PAGE_BYTES - len(body)
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", ctype)
            handler.send_header("Content-Length", str(HUGE_PAGE_BYTES))
            handler.end_headers()
            if send_body:
                handler.wfile.write(body[:-len(b"</body></html>")] + b"<!--")
                chunk = b" " * (1 << 20)
                left = padding - len(b"<!---->")
                while left > 0:
                    handler.wfile.write(chunk[:left])
                    left -= len(chunk)
                handler.wfile.write(b"-->" + b"</body></html>")
        except OSError:
            pass
        handler.close_connection = True
        return True

    def _redirect_loop(self, handler, send_body, parts):
        hop = int(parse_qs(parts.query).get("hop", ["0"])[0] or 0)
        return self._send(handler, send_body, 302, "text/html; charset=utf-8", b"", "redirect-loop",
                          headers=[("Location", f"{parts.path}?hop={hop + 1}")])

    def _null_fields(self, handler, send_body, parts):
        def nulls(props):
            for key in ("general", "seller", "description", "reviews", "packages", "tags", "faq", "gallery", "openGraph"):
                props[key] = None
            return props

        status, ctype, body = handler._route()
        return self._send(handler, send_body, status, ctype, _rewrite_props(body, nulls), "null-fields")

    def _huge_fields(self, handler, send_body, parts):
        def huge(props):
            # Big enough to break schemas and layouts, not so big that it only measures the flagger.
            props["general"]["gigTitle"] = "I will write " + "words " * 1_000
            props["description"]["content"] = "<p>" + "lorem ipsum dolor sit amet " * 4_000 + "</p>"
            props["tags"]["tagsGigList"] = [{"name": f"tag{i}", "slug": f"tag{i}"} for i in range(500)]
            return props

        status, ctype, body = handler._route()
        return self._send(handler, send_body, status, ctype, _rewrite_props(body, huge), "huge-fields")

    def _markup_fields(self, handler, send_body, parts):
        def markup(props):
            props["general"]["gigTitle"] = "I will <b>post</b> <script>alert(1)</script>\x00\x07\x1b[31m reviews \u202egnp.exe"
            props["description"]["content"] = ("<div><p>Real <i>google</i> reviews<br><style>p{}</style>"
                                               "<script>steal()</script>\x00\x01\x02\x7f<<<>>></div></p></li>"
                                               "<!-- unclosed <a href='javascript:x'>link")
            props["faq"]["questionsAndAnswers"] = [{"question": "<img src=x onerror=alert(2)>?", "answer": "\x00\x08"}]
            return props

        status, ctype, body = handler._route()
        return self._send(handler, send_body, status, ctype, _rewrite_props(body, markup), "markup-fields")


def _drift_search(props: dict) -> dict:
    props["results"] = props.pop("items", [])
    props["lists"] = props.pop("listings", [])
    return props


def _drift_gig(props: dict) -> dict:
    props["gigGeneral"] = props.pop("general", {})
    return props


def _rewrite_text(body: bytes, change) -> bytes:
    text = body.decode("utf-8")
    return _PROPS_RE.sub(lambda m: m.group(1) + change(m.group(2)) + m.group(3), text, count=1).encode("utf-8")


def _rewrite_props(body: bytes, change) -> bytes:
    return _rewrite_text(body, lambda raw: embed_json(change(json.loads(raw))))

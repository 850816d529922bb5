"""The HTTP server under every demo site: standard library, one thread per connection."""

from __future__ import annotations

from http.server import ThreadingHTTPServer


class DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5. A crawl opens up to CONCURRENT_REQUESTS connections at once
    # (16 in the benchmark); Linux drops the SYNs that overflow the backlog and the client sends them again
    # only after its 1 s retransmission timeout, so a third of a demo crawl was spent waiting on a server
    # that had nothing to do. Real web servers listen with 128 or more (nginx 511).
    request_queue_size = 128

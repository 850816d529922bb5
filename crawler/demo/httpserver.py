"""The HTTP server under every demo site: standard library, one thread per connection."""

from __future__ import annotations

import socket
from http.server import ThreadingHTTPServer


class DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver listens with a backlog of 5. A crawl opens up to CONCURRENT_REQUESTS connections at once
    # (16 in the benchmark); Linux drops the SYNs that overflow the backlog and the client sends them again
    # only after its 1 s retransmission timeout, so a third of a demo crawl was spent waiting on a server
    # that had nothing to do. Real web servers listen with 128 or more (nginx 511).
    request_queue_size = 128

    def get_request(self):
        # http.server sends the headers and the body in two writes. With Nagle's algorithm on, the body
        # waits for the client's (delayed) ACK of the headers, so every answer could sit up to 40 ms: a
        # client that is not busy with its own work (bare Scrapy) got half its speed. Real web servers set
        # TCP_NODELAY (nginx's tcp_nodelay is on by default); set on every connection, whatever the handler.
        conn, address = super().get_request()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn, address

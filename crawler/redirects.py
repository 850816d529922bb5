"""Redirect middleware that reports a redirect loop as an error with its URL (Scrapy logs it at DEBUG only)."""

from __future__ import annotations

import logging

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.exceptions import IgnoreRequest

logger = logging.getLogger(__name__)


class LoggedRedirectMiddleware(RedirectMiddleware):
    """Counts `turfwatch/redirect_loops`: a listing lost to endless redirects must show in stats and log."""

    def _redirect(self, redirected: Request, request: Request, reason) -> Request:
        try:
            return super()._redirect(redirected, request, reason)
        except IgnoreRequest:
            first = (request.meta.get("redirect_urls") or [request.url])[0]
            self.crawler.stats.inc_value("turfwatch/redirect_loops")
            logger.error("Gave up on %s after %d redirects (max redirections reached; last %s)",
                         first, request.meta.get("redirect_times", 0), request.url)
            raise

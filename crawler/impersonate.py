"""Optional browser-fingerprint downloads (scrapy-impersonate) for marketplaces that turn plain HTTP clients away."""

from __future__ import annotations

from scrapy.exceptions import NotConfigured

HANDLER = "scrapy_impersonate.ImpersonateDownloadHandler"


class ImpersonateAddon:
    """Scrapy add-on: TURFWATCH_IMPERSONATE=chrome (any curl_cffi browser name) routes the
    requests of the marketplaces in TURFWATCH_IMPERSONATE_MARKETPLACES through
    scrapy-impersonate's handler. Off by default; `pip install 'turfwatch[impersonate]'`."""

    def update_settings(self, settings) -> None:
        if not settings.get("TURFWATCH_IMPERSONATE"):
            return
        try:
            import scrapy_impersonate  # noqa: F401
        except ImportError as exc:
            raise NotConfigured(
                "TURFWATCH_IMPERSONATE is set but scrapy-impersonate is not installed: "
                "pip install 'turfwatch[impersonate]'"
            ) from exc
        # In place, as Scrapy's add-on docs do: these component dicts are set at project priority.
        settings["DOWNLOAD_HANDLERS"]["http"] = HANDLER
        settings["DOWNLOAD_HANDLERS"]["https"] = HANDLER
        settings["DOWNLOADER_MIDDLEWARES"]["crawler.impersonate.ImpersonateMiddleware"] = 540


class ImpersonateMiddleware:
    """Marks the chosen marketplaces' requests; the handler downloads only marked ones
    with a browser fingerprint, everything else as plain Scrapy would."""

    def __init__(self, crawler, browser: str, marketplaces: set[str]):
        self.crawler = crawler
        self.browser = browser
        self.marketplaces = marketplaces

    @classmethod
    def from_crawler(cls, crawler):
        s = crawler.settings
        return cls(crawler, s.get("TURFWATCH_IMPERSONATE"), set(s.getlist("TURFWATCH_IMPERSONATE_MARKETPLACES")))

    def process_request(self, request):
        spider = self.crawler.spider
        if getattr(spider, "marketplace", None) in self.marketplaces:
            request.meta.setdefault("impersonate", self.browser)
            self.crawler.stats.inc_value("turfwatch/impersonated")
        return None

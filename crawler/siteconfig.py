"""Marketplaces by configuration: load and validate a site's YAML file, and read fields with its selectors."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jmespath
import yaml
from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator

from crawler.pages.common import clean_text, html_to_text

SITES_DIR = Path(__file__).resolve().parent.parent / "sites"
NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
TOP_KEYS = {"name", "base_url", "side", "queries", "search_url", "start_urls", "max_pages", "json_script",
            "search", "listing", "seller", "notes"}
SEARCH_KEYS = {"listing_links", "next_page"}
LISTING_KEYS = {"id", "title", "description", "tags", "price", "currency", "category", "seller_id", "seller_url",
                "rating", "rating_count", "images"}
SELLER_KEYS = {"id", "display_name", "country", "member_since", "listing_links"}
LIST_FIELDS = {"tags", "images", "listing_links"}
_TRANSLATOR = HTMLTranslator()
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


class SiteConfigError(ValueError):
    """A site file that cannot work; the message is one line naming the file and the key."""


@dataclass
class Field:
    """One selector: `css:…` (the default), `xpath:…` or `json:<JMESPath>`, with an optional regex group."""

    kind: str
    expr: str
    regex: re.Pattern | None = None

    def values(self, page: "Page") -> list[str]:
        if self.kind == "json":
            found = jmespath.search(self.expr, page.data) if page.data is not None else None
            raw = found if isinstance(found, list) else ([] if found is None else [found])
            values = [v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list)) else str(v)
                      for v in raw if v is not None]
        else:
            nodes = page.sel.css(self.expr) if self.kind == "css" else page.sel.xpath(self.expr)
            values = []
            for node in nodes:
                root = node.root
                # An element gives its readable text; ::text, ::attr() and @attr give strings as they are.
                values.append(html_to_text(node.get()) if isinstance(root, etree._Element) else str(root))
        values = [clean_text(v).strip() for v in values]
        if self.regex is not None:
            matched = [self.regex.search(v) for v in values]
            values = [(m.group(1) if m.groups() else m.group(0)) for m in matched if m]
        return [v for v in values if v]

    def first(self, page: "Page") -> str | None:
        values = self.values(page)
        return values[0] if values else None


@dataclass
class Page:
    """A response as the selectors see it: its HTML and, when the site embeds it, its JSON."""

    sel: Selector
    data: Any = None


@dataclass
class SiteConfig:
    name: str
    base_url: str
    path: Path | None = None
    side: str = "seller"
    queries: list[str] = field(default_factory=list)
    search_url: str | None = None
    start_urls: list[str] = field(default_factory=list)
    max_pages: int = 10
    json_script: str | None = None
    search: dict[str, Field] = field(default_factory=dict)
    listing: dict[str, Field] = field(default_factory=dict)
    seller: dict[str, Field] = field(default_factory=dict)

    def page(self, text: str, content_type: str = "") -> Page:
        """Parse a response once: HTML for css/xpath, JSON (the body, or the `json_script`) for json paths."""
        data = None
        stripped = text.lstrip()
        if "json" in content_type or stripped[:1] in ("{", "["):
            data = _json(stripped)
        sel = Selector(text=text if data is None else "<html></html>")
        if data is None and self.json_script:
            data = _json(sel.css(self.json_script + "::text").get() or "")
        return Page(sel, data)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def number(value: str | None) -> float | None:
    match = _NUMBER.search(value or "")
    return float(match.group(0).replace(",", "")) if match else None


def _fail(where: str, key: str, message: str) -> SiteConfigError:
    return SiteConfigError(f"{where}: {key}: {message}")


def _field(where: str, key: str, spec: Any) -> Field:
    regex = None
    if isinstance(spec, dict):
        unknown = set(spec) - {"select", "regex"}
        if unknown or "select" not in spec:
            raise _fail(where, key, "a field is a selector string or {select: …, regex: …}")
        if spec.get("regex") is not None:
            try:
                regex = re.compile(str(spec["regex"]))
            except re.error as exc:
                raise _fail(where, key, f"bad regex {spec['regex']!r}: {exc}") from None
        spec = spec["select"]
    if not isinstance(spec, str) or not spec.strip():
        raise _fail(where, key, "a selector must be a non-empty string")
    kind, sep, expr = spec.partition(":")
    if not sep or kind not in ("css", "xpath", "json"):
        kind, expr = "css", spec  # plain CSS; `a::attr(href)` has a colon of its own
    expr = expr.strip()
    try:
        if kind == "css":
            _TRANSLATOR.css_to_xpath(expr)
        elif kind == "xpath":
            etree.XPath(expr)
        else:
            jmespath.compile(expr)
    except Exception as exc:  # noqa: BLE001 - each library raises its own syntax error
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(where, key, f"bad {kind} selector {expr!r}: {detail}") from None
    return Field(kind, expr, regex)


def _section(where: str, raw: dict, name: str, allowed: set[str], required: set[str]) -> dict[str, Field]:
    section = raw.get(name) or {}
    if not isinstance(section, dict):
        raise _fail(where, name, "must be a mapping of field: selector")
    unknown = sorted(set(section) - allowed)
    if unknown:
        raise _fail(where, f"{name}.{unknown[0]}", f"unknown field (known: {', '.join(sorted(allowed))})")
    missing = sorted(required - set(section))
    if missing:
        raise _fail(where, f"{name}.{missing[0]}", "required")
    return {k: _field(where, f"{name}.{k}", v) for k, v in section.items()}


def parse_config(raw: Any, where: str = "<config>", path: Path | None = None) -> SiteConfig:
    """Validate a loaded YAML document; every problem is a SiteConfigError with one clear line."""
    if not isinstance(raw, dict):
        raise SiteConfigError(f"{where}: the file must be a YAML mapping")
    unknown = sorted(set(raw) - TOP_KEYS)
    if unknown:
        raise _fail(where, unknown[0], f"unknown key (known: {', '.join(sorted(TOP_KEYS))})")
    name = raw.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise _fail(where, "name", "required: lowercase letters, digits, - or _, 2-40 characters (the marketplace column)")
    base_url = raw.get("base_url")
    if not isinstance(base_url, str) or not re.match(r"^https?://[^/\s]+", base_url):
        raise _fail(where, "base_url", "required: an http(s) URL")
    side = raw.get("side", "seller")
    if side not in ("seller", "buyer"):
        raise _fail(where, "side", "seller or buyer")
    search_url = raw.get("search_url")
    if search_url is not None and (not isinstance(search_url, str) or "{query}" not in search_url):
        raise _fail(where, "search_url", "must contain {query} (and may contain {page})")
    start_urls = raw.get("start_urls") or []
    queries = raw.get("queries") or []
    for key, value in (("start_urls", start_urls), ("queries", queries)):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise _fail(where, key, "must be a list of strings")
    if not search_url and not start_urls:
        raise _fail(where, "search_url", "give search_url or start_urls: where the crawl begins")
    max_pages = raw.get("max_pages", 10)
    if not isinstance(max_pages, int) or max_pages < 1:
        raise _fail(where, "max_pages", "a whole number >= 1")
    json_script = raw.get("json_script")
    if json_script is not None:
        try:
            _TRANSLATOR.css_to_xpath(str(json_script))
        except Exception as exc:  # noqa: BLE001
            raise _fail(where, "json_script", f"bad CSS selector: {exc}") from None
    return SiteConfig(
        name=name, base_url=base_url.rstrip("/"), path=path, side=side, queries=list(queries), search_url=search_url,
        start_urls=list(start_urls), max_pages=max_pages, json_script=json_script,
        search=_section(where, raw, "search", SEARCH_KEYS, {"listing_links"}),
        listing=_section(where, raw, "listing", LISTING_KEYS, {"title", "description", "seller_id"}),
        seller=_section(where, raw, "seller", SELLER_KEYS, set()),
    )


def site_path(name_or_path: str | Path) -> Path:
    """A file path, or the name of a file in ./sites or the repository's sites/."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    for folder in (Path.cwd() / "sites", SITES_DIR):
        for suffix in (".yaml", ".yml"):
            if (folder / f"{name_or_path}{suffix}").is_file():
                return folder / f"{name_or_path}{suffix}"
    raise SiteConfigError(f"no site config {name_or_path!r} (looked in ./sites and {SITES_DIR})")


def load_config(name_or_path: str | Path) -> SiteConfig:
    path = site_path(name_or_path)
    if not path.is_file():
        raise SiteConfigError(f"{path}: no such file")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark else ""
        raise SiteConfigError(f"{path}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None
    return parse_config(raw, str(path), path)


def all_configs(folder: Path = SITES_DIR) -> list[SiteConfig]:
    return [load_config(p) for p in sorted(folder.glob("*.yaml"))]

"""Helpers shared by page objects: embedded JSON, HTML to text, canonical URLs, tolerant lookups."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from parsel import Selector
from w3lib.html import remove_tags, remove_tags_with_content, replace_entities

_BLOCK_END = re.compile(r"(?i)<\s*(br\s*/?|/p|/div|/li|/h[1-6]|/tr)\s*>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
_PRICE = re.compile(r"(\d[\d,]*(?:\.\d+)?)")


# Script content ends at the first "</script", exactly as an HTML parser ends it. The leading "<" stays outside
# the case-insensitive groups, so the regex engine can jump from "<" to "<" instead of trying every character.
_SCRIPT_END = re.compile(r"<(?i:/script)")


# HTML's whitespace (not str's \s, which also takes \v, \xa0, ...: the HTML parser does not).
_WS = r"[\t\n\f\r ]"


@lru_cache(maxsize=16)
def _script_start(script_id: str) -> re.Pattern:
    """The start tag of a script whose id attribute is exactly script_id, as `script#script_id` selects it.

    The id must be a whole attribute (after whitespace: not `data-id=`), its value the whole value, in the
    same case (not `...-old`, not upper case): quoted, or unquoted up to whitespace or ">" (an unquoted
    value takes a "/", as the HTML parser reads it). Tag and attribute names are matched in any case."""
    value = re.escape(script_id)
    return re.compile(rf"<(?i:script)(?=[\t\n\f\r />])[^>]*?{_WS}(?i:id){_WS}*={_WS}*"
                      rf"(?:\"{value}\"|'{value}'|{value}(?=[\t\n\f\r >]))[^>]*>")


def _script_text(html: str, script_id: str) -> str | None:
    """The content of the first `<script id=script_id ...>` that has an end tag after it.

    The same as searching the start tag followed by `(.*?)</script` (re.S, "script" in any case) in one go,
    in two searches: a start tag's end is fixed (nothing in it can pass a ">"), and with no "</script"
    after the first start tag there is none after any later one either."""
    start = _script_start(script_id).search(html)
    if start is None:
        return None
    end = _SCRIPT_END.search(html, start.end())
    return None if end is None else html[start.end():end.start()]


def embedded_json(html: str | Selector, script_id: str) -> dict | None:
    """The JSON object in `<script id=script_id>`, or None when absent or broken.

    Regular expressions find the script without parsing the whole page (every
    page of a crawl comes through here); the HTML parser is the fallback."""
    raw = _script_text(html, script_id) if isinstance(html, str) else None
    if raw is None:
        sel = html if isinstance(html, Selector) else Selector(text=html)
        raw = sel.css(f"script#{script_id}::text").get()
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def html_to_text(html: str | None) -> str:
    """Readable plain text of an HTML fragment: paragraphs become lines, entities decoded."""
    if not html:
        return ""
    text = remove_tags_with_content(html, which_ones=("script", "style"))
    text = _BLOCK_END.sub("\n", text)
    text = replace_entities(remove_tags(text))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n", "\n".join(lines)).strip()


# Longer URLs than browsers take are not remembered: a page may hold any number of huge ones.
CACHED_URL_CHARS = 2083


def url_cache(maxsize: int) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Remember what a function of URL parts (str or None arguments) answers, as a crawl meets most URLs more
    than once; unless its arguments together are longer than CACHED_URL_CHARS."""
    def decorate(function: Callable[..., str]) -> Callable[..., str]:
        cached = lru_cache(maxsize=maxsize)(function)

        @wraps(function)
        def call(*parts: str | None) -> str:
            if sum(map(len, filter(None, parts))) <= CACHED_URL_CHARS:
                return cached(*parts)
            return function(*parts)

        call.cache_info = cached.cache_info
        return call
    return decorate


@url_cache(maxsize=8192)
def canonical_url(url: str, base: str | None = None) -> str:
    """Absolute URL without query, fragment or trailing slash: tracking parameters
    (context_referrer, pos, funnel, imp_id, ...) would otherwise make one listing many."""
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))


def dig(data: Any, *path: str | int, default: Any = None) -> Any:
    """data[p0][p1]... that never raises: markup drifts, keys vanish."""
    for key in path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return default
    return default if data is None else data


def first(*values: Any) -> Any:
    """The first value that is not None or empty string."""
    for value in values:
        if value is not None and value != "":
            return value
    return None


def to_float(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def price(text: str | None) -> float | None:
    """The first number in a price text ("$1,250.50 / hour" -> 1250.5), or None."""
    match = _PRICE.search(text or "")
    return to_float(match.group(1).replace(",", "")) if match else None


def to_int(value: Any) -> int | None:
    number = to_float(value)
    return None if number is None else int(number)


def clean_text(value: Any, limit: int = 100_000) -> str:
    """A str field from untrusted JSON: non-strings become "", NULs go, size is bounded."""
    if not isinstance(value, str):
        return "" if value is None or isinstance(value, (dict, list)) else str(value)
    return value.replace("\x00", "")[:limit]

"""Small HTTP and HTML helpers shared by the demo shape renderers."""

from __future__ import annotations

import json
import re
from html import escape
from urllib.parse import urlencode

HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"
ROBOTS = "User-agent: *\nAllow: /\n"
Reply = tuple[int, str, bytes]


def esc(value) -> str:
    return escape(str(value), quote=True)


def ok(text: str, ctype: str = HTML) -> Reply:
    return 200, ctype, text.encode("utf-8")


def not_found() -> Reply:
    return 404, HTML, b"<html><body><h1>Not found</h1></body></html>"


def as_json(data, status: int = 200) -> Reply:
    return status, JSON, json.dumps(data, ensure_ascii=False).encode("utf-8")


def json_script(script_id: str, data) -> str:
    """JSON in a <script> that seller text cannot close early."""
    payload = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return f'<script type="application/json" id="{esc(script_id)}">{payload}</script>'


def document(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
            f'<meta property="og:title" content="{esc(title)}"></head><body>{body}</body></html>')


def paragraphs(text: str) -> str:
    return "".join(f"<p>{'<br>'.join(esc(line) for line in para.split(chr(10)))}</p>" for para in text.split("\n\n"))


def page_of(items: list, page: int, size: int) -> tuple[list, bool]:
    start = (page - 1) * size
    return items[start:start + size], start + size < len(items)


def int_arg(qs: dict, name: str, default: int = 1) -> int:
    try:
        return max(0, int(qs.get(name, [str(default)])[0]))
    except ValueError:
        return default


def url(path: str, **params) -> str:
    params = {k: v for k, v in params.items() if v not in (None, "")}
    return path + ("?" + urlencode(params) if params else "")


def slug_words(title: str) -> str:
    """`Amazon-Reviews-For-Your-Book`: the SEOClerks way of writing a slug."""
    return "-".join(w.capitalize() for w in re.findall(r"[A-Za-z0-9]+", title.removeprefix("I will "))[:10]) or "Service"

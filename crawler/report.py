"""The case report: one standalone, script-free HTML page, every piece of seller text escaped."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent / "templates"
CONTEXT_CHARS = 120
_JSON_FIELDS = {"tags", "packages", "faq"}
_PATH_TOKEN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|(\.)")

# Timeline geometry (SVG user units).
_LABEL_W, _PLOT_W, _ROW_H, _TOP = 170, 560, 22, 24


def field_text(version: dict, path: str) -> str | None:
    """The text a flag's field path ("title", "tags[2]", "packages[0].description") points to
    in a stored listing version; None when the path does not lead to a string."""
    tokens = list(_PATH_TOKEN.finditer(path))
    if not tokens or "".join(t.group(0) for t in tokens) != path or not tokens[0].group(1):
        return None
    column = tokens[0].group(1)
    if column not in version:
        return None
    value = version[column]
    if column in _JSON_FIELDS:
        try:
            value = json.loads(value or "null")
        except ValueError:
            return None
    for token in tokens[1:]:
        name, index = token.group(1), token.group(2)
        if index is not None:
            if not isinstance(value, list) or int(index) >= len(value):
                return None
            value = value[int(index)]
        elif name is not None:
            if not isinstance(value, dict) or name not in value:
                return None
            value = value[name]
    return value if isinstance(value, str) else None


def flag_context(version: dict, flag: dict, width: int = CONTEXT_CHARS) -> dict:
    """Text around a flag's span in the ORIGINAL field text, split so the template escapes
    each part and marks only the span. `placed` is False when the stored text and the
    flag disagree: the report then says so instead of guessing."""
    text = field_text(version, flag["field"])
    start, end = flag["span_start"], flag["span_end"]
    if text is None or not (0 <= start <= end <= len(text)) or text[start:end] != flag["matched_text"]:
        return {"placed": False, "before": "", "match": flag["matched_text"], "after": ""}
    lo, hi = max(0, start - width), min(len(text), end + width)
    return {
        "placed": True,
        "before": ("…" if lo > 0 else "") + text[lo:start],
        "match": text[start:end],
        "after": text[end:hi] + ("…" if hi < len(text) else ""),
    }


def safe_href(url: str | None) -> str | None:
    """Only http(s) URLs become links; anything else (javascript:, data:) stays plain text."""
    if url and urlsplit(url).scheme.lower() in ("http", "https"):
        return url
    return None


def _when(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ") if value else None
    except ValueError:
        return None


def timeline(case: dict) -> dict:
    """Coordinates for the seller's listing timeline: a bar per listing from first to last
    seen, a tick per version (edit), a cross at removal."""
    listings = case["listings"]
    times = [t for listing in listings for t in (
        _when(listing["first_seen"]), _when(listing["last_seen"]), _when(listing.get("removed_at")),
        *(_when(v["first_seen"]) for v in listing["versions"])) if t]
    if not times:
        return {"rows": [], "height": 0, "width": _LABEL_W + _PLOT_W + 20, "start": None, "end": None}
    t0, t1 = min(times), max(times)
    span = (t1 - t0).total_seconds() or 1.0

    def x(value: str | None) -> float:
        t = _when(value) or t0
        return round(_LABEL_W + _PLOT_W * (t - t0).total_seconds() / span, 1)

    rows = []
    for i, listing in enumerate(listings):
        y = _TOP + i * _ROW_H
        end = listing.get("removed_at") or listing["last_seen"]
        rows.append({
            "y": y, "label": listing["listing_id"][:28], "flagged": listing["flagged"],
            "x1": x(listing["first_seen"]), "x2": max(x(end), x(listing["first_seen"]) + 2),
            "edits": [x(v["first_seen"]) for v in listing["versions"][1:]],
            "removed": x(listing["removed_at"]) if listing.get("removed_at") else None,
            "title": f"{listing['listing_id']}: first seen {listing['first_seen']}, last seen {listing['last_seen']}"
                     f", {len(listing['versions'])} version(s)"
                     + (f", removed {listing['removed_at']} ({listing.get('removed_reason')})" if listing.get("removed_at") else ""),
        })
    return {"rows": rows, "height": _TOP + len(rows) * _ROW_H + 10, "width": _LABEL_W + _PLOT_W + 20,
            "start": t0.strftime("%Y-%m-%d %H:%M"), "end": t1.strftime("%Y-%m-%d %H:%M"),
            "plot_x": _LABEL_W, "plot_end": _LABEL_W + _PLOT_W}


def _environment() -> Environment:
    # autoescape on for every template: seller text is hostile by assumption.
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(flag_context=flag_context, safe_href=safe_href, timeline=timeline)
    return env


def render_report(cases: list[dict], exhibit: list[dict], meta: dict) -> str:
    return _environment().get_template("report.html.j2").render(cases=cases, exhibit=exhibit, meta=meta)

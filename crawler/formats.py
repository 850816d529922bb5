"""Write lead lists as a terminal table, CSV safe for spreadsheets, or JSON."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable, Sequence
from typing import IO

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")

# Excel only reads UTF-8 without mojibake when the file starts with a BOM.
UTF8_BOM = "\ufeff"

LEAD_COLUMNS = [
    "marketplace", "seller_id", "side", "score", "status", "flagged_listings",
    "categories", "platforms", "first_flagged", "last_flagged", "profile_url", "listing_urls",
]


def csv_safe(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text and never evaluates."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = " ".join(str(v) for v in value)
    text = str(value)
    # Some spreadsheets trim leading blanks before deciding a cell is a formula.
    if text.startswith(_FORMULA_START) or text.lstrip(" \u00a0").startswith(_FORMULA_START):
        return "'" + text
    return text


def terminal_safe(value: object, width: int | None = None) -> str:
    """Seller text for a terminal: control characters (escape sequences, bidi
    overrides) are shown as code points instead of acting on the screen."""
    text = "" if value is None else (", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value))
    text = "".join(
        ch if unicodedata.category(ch)[0] != "C" or ch == " " else f"\\u{ord(ch):04x}" for ch in text
    )
    if width and len(text) > width:
        text = text[: width - 1] + "…"
    return text


def terminal_line(value: object) -> str:
    """`terminal_safe` on one line: a seller's line breaks become spaces, not \\u000a."""
    return terminal_safe(value.replace("\n", " ") if isinstance(value, str) else value)


def write_csv(rows: Iterable[dict], columns: Sequence[str], out: IO[str], *, excel: bool = False) -> int:
    """Write rows as CSV where no cell can run as a spreadsheet formula. Returns rows written.

    `excel` adds a UTF-8 BOM and CRLF line ends, what Excel expects when a file is double-clicked.
    `out` should be opened with newline="" so the csv module controls line ends."""
    if excel:
        out.write(UTF8_BOM)
    # Every cell quoted: a bare CR inside a cell would otherwise split the row when LF ends lines.
    writer = csv.writer(out, lineterminator="\r\n" if excel else "\n", quoting=csv.QUOTE_ALL)
    writer.writerow([csv_safe(c) for c in columns])
    count = 0
    for row in rows:
        writer.writerow([csv_safe(row.get(c)) for c in columns])
        count += 1
    return count


def leads_csv(leads: Iterable[dict]) -> str:
    out = io.StringIO()
    write_csv(leads, LEAD_COLUMNS, out)
    return out.getvalue()


def leads_json(leads: Iterable[dict]) -> str:
    return json.dumps([{c: lead.get(c) for c in LEAD_COLUMNS} for lead in leads], ensure_ascii=False, indent=2) + "\n"


def leads_table(leads: list[dict]) -> str:
    if not leads:
        return "No leads.\n"
    header = f"{'#':>3}  {'score':>5}  {'marketplace':<13} {'side':<6} {'account':<24} {'status':<9} {'listings':>8}  categories / platforms"
    lines = [header, "-" * len(header)]
    for i, lead in enumerate(leads, 1):
        kinds = terminal_safe(lead.get("categories"), 40)
        platforms = terminal_safe(lead.get("platforms"), 40)
        lines.append(
            f"{i:>3}  {lead['score']:>5.2f}  {terminal_safe(lead['marketplace'], 13):<13} {lead.get('side') or 'seller':<6} "
            f"{terminal_safe(lead['seller_id'], 24):<24} {lead['status']:<9} {lead['flagged_listings']:>8}  "
            f"{kinds}{' / ' + platforms if platforms else ''}"
        )
    return "\n".join(lines) + "\n"

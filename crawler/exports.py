"""Lead exports for analysts: formula-safe CSV, Excel-ready CSV and JSON lines."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import IO

from crawler.formats import LEAD_COLUMNS, write_csv

LEAD_FORMATS = ("csv", "jsonl", "xlsx-safe-csv")

def write_jsonl(rows: Iterable[dict], columns: Sequence[str], out: IO[str]) -> int:
    """One JSON object a line; values keep their types (lists stay lists)."""
    count = 0
    for row in rows:
        out.write(json.dumps({c: row.get(c) for c in columns}, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_leads(leads: Iterable[dict], fmt: str, out: IO[str]) -> int:
    """Write leads (as from Store.leads) in one of LEAD_FORMATS. Returns leads written."""
    if fmt == "csv":
        return write_csv(leads, LEAD_COLUMNS, out)
    if fmt == "xlsx-safe-csv":
        return write_csv(leads, LEAD_COLUMNS, out, excel=True)
    if fmt == "jsonl":
        return write_jsonl(leads, LEAD_COLUMNS, out)
    raise ValueError(f"format must be one of {', '.join(LEAD_FORMATS)}")

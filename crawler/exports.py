"""Lead exports for analysts: formula-safe CSV, Excel-ready CSV and JSON lines."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from typing import IO

from crawler.formats import LEAD_COLUMNS, csv_safe

LEAD_FORMATS = ("csv", "jsonl", "xlsx-safe-csv")

# Excel only reads UTF-8 without mojibake when the file starts with a BOM.
UTF8_BOM = "\ufeff"


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

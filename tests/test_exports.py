"""Lead exports: formula-safe CSV, Excel CSV with BOM and CRLF, JSON lines; from a real demo crawl."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pytest
from click.testing import CliRunner

from crawler.export_commands import export
from crawler.exports import write_leads
from crawler.formats import LEAD_COLUMNS
from crawler.store import Store
from tests.conftest import HOSTILE_SELLER

DANGEROUS = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://e.x","y")']


def test_export_leads_csv_from_the_crawl(crawl_db, tmp_path):
    out = tmp_path / "leads.csv"
    result = CliRunner().invoke(export, ["leads", "--db", str(crawl_db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    raw = out.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    with Store(crawl_db, read_only=True) as store:
        leads = store.leads()
    assert [r["seller_id"] for r in rows] == [lead["seller_id"] for lead in leads]
    assert HOSTILE_SELLER in {r["seller_id"] for r in rows}
    assert f"{len(rows)} leads written" in result.output


def test_export_leads_status_filter_and_stdout(crawl_db, tmp_path):
    db = tmp_path / "t.db"
    shutil.copyfile(crawl_db, db)
    with Store(db) as store:
        confirmed = store.leads()[1]["seller_id"]
        store.triage(confirmed, "confirmed", who="test")
    result = CliRunner().invoke(export, ["leads", "--db", str(db), "--format", "jsonl", "--status", "confirmed"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    with Store(db, read_only=True) as store:
        expected = [lead["seller_id"] for lead in store.leads(status="confirmed")]
    assert confirmed in expected
    assert [json.loads(line)["seller_id"] for line in lines] == expected
    assert {json.loads(line)["status"] for line in lines} == {"confirmed"}
    result = CliRunner().invoke(export, ["leads", "--db", str(db), "--format", "jsonl"])
    lines = result.stdout.splitlines()
    assert len(lines) > 1 and all(set(json.loads(line)) == set(LEAD_COLUMNS) for line in lines)
    assert isinstance(json.loads(lines[0])["categories"], list)


def test_xlsx_safe_csv_has_bom_and_crlf(crawl_db):
    result = CliRunner().invoke(export, ["leads", "--db", str(crawl_db), "--format", "xlsx-safe-csv"])
    raw = result.stdout_bytes
    assert raw.startswith(b"\xef\xbb\xbf")
    body = raw[3:]
    assert body.count(b"\r\n") == body.count(b"\n") > 1


@pytest.mark.parametrize("fmt", ["csv", "xlsx-safe-csv"])
@pytest.mark.parametrize("value", DANGEROUS)
def test_formula_cells_are_neutralised(fmt, value):
    lead = {c: None for c in LEAD_COLUMNS} | {"seller_id": value, "categories": [value], "profile_url": value}
    out = io.StringIO(newline="")
    write_leads([lead], fmt, out)
    text = out.getvalue().lstrip("\ufeff")
    row = next(r for r in csv.DictReader(io.StringIO(text, newline="")))
    for column in ("seller_id", "categories", "profile_url"):
        assert row[column] == "'" + value


def test_jsonl_keeps_values_as_they_are():
    lead = {c: None for c in LEAD_COLUMNS} | {"seller_id": "=1+1", "platforms": ["google"]}
    out = io.StringIO()
    write_leads([lead, lead], "jsonl", out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and json.loads(lines[0])["seller_id"] == "=1+1" and json.loads(lines[0])["platforms"] == ["google"]


def test_unknown_format_is_refused():
    with pytest.raises(ValueError):
        write_leads([], "xlsx", io.StringIO())

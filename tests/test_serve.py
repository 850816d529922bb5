"""Datasette over the database: metadata built by the library, served read-only over real HTTP."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from crawler.browse import build_metadata, database_name, datasette_args
from crawler.store import Store
from tests.conftest import HOSTILE_SELLER
from tests.crawl_helpers import free_port

STARTUP_TIMEOUT_S = 60


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def wait_until_up(process: subprocess.Popen, url: str) -> None:
    """Poll until the server answers, bounded; fail early if it died."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stderr.read().decode(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.1)
    raise AssertionError(f"no answer from {url} within {STARTUP_TIMEOUT_S} s")


def start(command: list[str], url: str):
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_up(process, url)
    except BaseException:
        stop(process)
        raise
    return process


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def db(crawl_db, tmp_path) -> Path:
    target = tmp_path / "served.db"
    shutil.copyfile(crawl_db, target)
    return target


def test_metadata_describes_tables_and_canned_queries(db):
    meta = build_metadata(db)
    database = meta["databases"][database_name(db)]
    assert {"leads", "flags", "captures", "listing_versions"} <= set(database["tables"])
    assert database["tables"]["flags"]["columns"]["span_start"]
    assert set(database["queries"]) == {"top_leads", "new_since_last_run", "seller_flags"}
    assert "cluster_members" not in database["tables"]


def test_clusters_query_only_when_the_table_exists(db):
    with Store(db) as store:
        store.db.execute("CREATE TABLE cluster_members (cluster_id INTEGER, marketplace TEXT, seller_id TEXT)")
    database = build_metadata(db)["databases"][database_name(db)]
    assert "clusters" in database["queries"] and "cluster_members" in database["tables"]


def test_datasette_serves_the_db_read_only_with_canned_queries(db, tmp_path):
    metadata = tmp_path / "metadata.json"
    metadata.write_text(json.dumps(build_metadata(db)))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    datasette = str(Path(sys.executable).with_name("datasette"))
    name = database_name(db)
    process = start([datasette, *datasette_args(db, metadata, host="127.0.0.1", port=port, live=False)],
                    f"{base}/-/versions.json")
    try:
        with Store(db, read_only=True) as store:
            leads = store.leads()
            last_run = store.last_run_id()
        top = get_json(f"{base}/{name}/top_leads.json?_shape=array")
        assert [r["seller_id"] for r in top] == [lead["seller_id"] for lead in leads][:100]
        new = get_json(f"{base}/{name}/new_since_last_run.json?_shape=array")
        with Store(db, read_only=True) as store:
            expected = {r["seller_id"] for r in store.db.query("SELECT seller_id FROM leads WHERE new_in_run_id = ?", [last_run])}
        assert {r["seller_id"] for r in new} == expected and expected
        flags = get_json(f"{base}/{name}/seller_flags.json?_shape=array&marketplace=fiverr&seller_id={HOSTILE_SELLER}")
        assert flags and all(f["rule_id"] and f["capture_id"] for f in flags)
        databases = get_json(f"{base}/-/databases.json")
        assert [d for d in databases if d["name"] == name][0]["is_mutable"] is False
        # Read-only: a write through the SQL API is refused.
        request = f"{base}/{name}.json?sql=" + urllib.parse.quote("DELETE FROM leads")
        with pytest.raises(urllib.error.HTTPError):
            get_json(request)
    finally:
        stop(process)
    with Store(db, read_only=True) as store:
        assert store.counts()["leads"] == len(leads)


def test_serve_command_answers_on_localhost(db):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    code = "import sys; from crawler.export_commands import serve; serve(sys.argv[1:], prog_name='turfwatch serve')"
    process = start([sys.executable, "-c", code, "--db", str(db), "--port", str(port)], f"{base}/-/versions.json")
    try:
        meta = get_json(f"{base}/-/metadata.json")
        assert "top_leads" in meta["databases"][database_name(db)]["queries"]
        tables = get_json(f"{base}/{database_name(db)}.json")["tables"]
        assert {t["name"] for t in tables} >= {"leads", "flags", "captures"}
    finally:
        stop(process)

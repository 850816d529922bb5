"""The project deploys to a real Scrapyd as an egg (scrapyd-deploy) and two scheduled jobs split the queries."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from crawler.demo import DemoMarketplace
from spiders.fiverr import FiverrSpider
from tests.conftest import ROOT
from tests.crawl_helpers import count, need_binary, rows, server_home, serving, tail, wait_until

# Only in the deployed copy: a spider Scrapyd can list only if it runs the egg, not this checkout.
PROBE = '''import scrapy


class EggProbe(scrapy.Spider):
    name = "egg_probe"
'''


def api(base: str, path: str, data: list[tuple[str, str]] | None = None) -> dict:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(f"{base}/{path}", data=body, timeout=30) as response:
        return json.loads(response.read())


def reachable(base: str) -> bool:
    try:
        return api(base, "daemonstatus.json").get("status") == "ok"
    except OSError:
        return False


@pytest.fixture
def scrapyd(tmp_path):
    """A Scrapyd on a free 127.0.0.1 port, with its own config and folders in tmp_path."""
    binary = need_binary("scrapyd", "pip install scrapyd")
    port, home = server_home(tmp_path, "scrapyd")
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\n"
        f"bind_address = 127.0.0.1\nhttp_port = {port}\n"
        f"eggs_dir = {home / 'eggs'}\nlogs_dir = {home / 'logs'}\ndbs_dir = {home / 'dbs'}\n"
        "items_dir =\njobs_dir =\npoll_interval = 0.2\nmax_proc = 4\n",
        encoding="utf-8",
    )
    base = f"http://127.0.0.1:{port}"
    # HOME points here too, so no ~/.scrapyd.conf of the machine joins in.
    with serving([binary, "--pidfile="], home / "scrapyd.out", lambda: reachable(base), "scrapyd to answer",
                 cwd=home, env={**os.environ, "HOME": str(home)}):
        yield base, home


def deploy(base: str, tmp_path: Path) -> None:
    """scrapyd-deploy from a copy of the project, as a user would from the checkout."""
    deployer = need_binary("scrapyd-deploy", "pip install scrapyd-client")
    project = tmp_path / "project"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("crawler", "spiders", "rules"):
        shutil.copytree(ROOT / folder, project / folder, ignore=ignore)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, project / name)
    (project / "spiders" / "egg_probe.py").write_text(PROBE, encoding="utf-8")
    (project / "scrapy.cfg").write_text(
        "[settings]\ndefault = crawler.settings\n\n"
        f"[deploy]\nurl = {base}/\nproject = turfwatch\n",
        encoding="utf-8",
    )
    proc = subprocess.run([deployer, "--version", "1"], cwd=project, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1])["status"] == "ok", proc.stdout + proc.stderr


def test_deployed_egg_runs_two_parts_into_sqlite(scrapyd, tmp_path):
    base, home = scrapyd
    deploy(base, tmp_path)
    spiders = api(base, "listspiders.json?project=turfwatch")
    assert "fiverr" in spiders["spiders"] and "egg_probe" in spiders["spiders"], spiders

    db = (tmp_path / "data" / "scrapyd.db").resolve()
    with DemoMarketplace() as site:
        jobs = []
        for part in ("0", "1"):
            answer = api(base, "schedule.json", [
                ("project", "turfwatch"), ("spider", "fiverr"), ("base_url", site.base_url),
                ("part", part), ("of", "2"),
                ("setting", f"TURFWATCH_DB={db}"), ("setting", "DOWNLOAD_DELAY=0"),
                ("setting", "AUTOTHROTTLE_ENABLED=0"), ("setting", "TURFWATCH_PROGRESS_INTERVAL=0"),
            ])
            assert answer["status"] == "ok", answer
            jobs.append(answer["jobid"])

        def finished() -> bool:
            done = {job["id"] for job in api(base, "listjobs.json?project=turfwatch")["finished"]}
            return set(jobs) <= done

        logs = home / "logs" / "turfwatch" / "fiverr"
        wait_until(finished, timeout=600, what="both Scrapyd jobs to finish", log=home / "scrapyd.out")

    job_logs = "\n".join(tail(path, 4000) for path in sorted(logs.glob("*.log")))
    assert db.is_file(), f"no database written; the jobs' logs:\n{job_logs}"
    assert rows(db, "SELECT finish_reason FROM runs") == [("finished",), ("finished",)], job_logs
    assert count(db, "listings") > 0 and count(db, "leads") > 0, job_logs
    # The two nodes took complementary halves of the query list.
    parts = [json.loads(args) for (args,) in rows(db, "SELECT args FROM runs ORDER BY id")]
    queries = [q for args in parts for q in args["queries"]]
    assert sorted(queries) == sorted(FiverrSpider.default_queries)
    assert sorted((args["part"], args["of"]) for args in parts) == [(0, 2), (1, 2)]

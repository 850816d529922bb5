"""Crawl speed and memory: a full turfwatch crawl of the demo against a bare Scrapy fetch of the same URLs, and a 10x demo.

The full crawl is three processes: Scrapy and parsing in one, the flag worker (spaCy and the rules,
crawler/flag_worker.py) in another, and the run's writer (WARC files, SQLite, item checks; crawler/writer.py) in
the third. On a machine with one core their work would be the crawl's again."""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Our own server on 127.0.0.1: no politeness delays, for both crawls alike.
# CONCURRENT_ITEMS is turfwatch's own engine tuning (see crawler/settings.py); the bare spider gets it too,
# so the ratio measures the work a full crawl adds, not a Scrapy default the bare one would pay.
FAST = {"CONCURRENT_ITEMS": 4, "DOWNLOAD_DELAY": 0, "AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16, "LOG_LEVEL": "WARNING", "TELNETCONSOLE_ENABLED": False}


def _run_child(cmd: list[str]) -> tuple[int, float, int]:
    """Run a child; return its exit code, wall seconds and peak RSS in bytes (wait4: the largest peak among that
    child and the children it waited for)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    # Read stderr in the child's lifetime so a chatty crawl cannot fill the pipe and stall.
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 3):
        sys.stderr.write(err.decode(errors="replace")[-3000:])
        raise SystemExit(f"child failed: {' '.join(cmd)}")
    return proc.returncode, time.perf_counter() - start, usage.ru_maxrss * 1024


def full_crawl(base_url: str, db: Path, *extra: str) -> dict:
    settings = [a for k, v in FAST.items() for a in ("-s", f"{k}={v}")]
    code, wall, rss = _run_child([sys.executable, "-m", "crawler.cli", "crawl", "fiverr", "--base-url", base_url,
                                  "--db", str(db), *settings, "-s", "TURFWATCH_PROGRESS_INTERVAL=0", *extra])
    stats = json.loads(sqlite3.connect(db).execute("SELECT stats FROM runs ORDER BY id DESC").fetchone()[0])
    # Three processes, each reporting its own peak (crawler/memory.py): the figure is their sum. wait4's figure
    # is the largest of them alone; it stands in for the crawl's own where /proc is missing.
    own = stats.get("turfwatch/max_rss") or rss
    children = stats.get("turfwatch/writer/max_rss", 0) + stats.get("turfwatch/flag_worker/max_rss", 0)
    return {"pages": stats["response_received_count"], "seconds": stats["elapsed_time_seconds"],
            "rss": own + children, "memusage_max": stats.get("memusage/max"),
            "wall": wall, "exit": code}


def bare_crawl(urls_file: Path, out: Path) -> dict:
    _, wall, rss = _run_child([sys.executable, __file__, "--bare", str(urls_file), str(out)])
    result = json.loads(out.read_text())
    return {**result, "rss": rss, "wall": wall}


def _bare_main(urls_file: str, out: str) -> None:
    """A minimal Scrapy spider fetching the URLs and nothing else: no pipelines, no captures, no parsing."""
    import scrapy
    from scrapy.crawler import CrawlerProcess

    urls = Path(urls_file).read_text().split()

    class Bare(scrapy.Spider):
        name = "bare"

        async def start(self):
            for url in urls:
                yield scrapy.Request(url, dont_filter=True, callback=self.parse)

        def parse(self, response):
            return None

    process = CrawlerProcess({**FAST, "ROBOTSTXT_OBEY": False, "COOKIES_ENABLED": False})
    crawler = process.create_crawler(Bare)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    Path(out).write_text(json.dumps({"pages": stats.get("response_received_count", 0),
                                     "seconds": stats["elapsed_time_seconds"]}))


def _rate(run: dict) -> float:
    return run["pages"] / run["seconds"]


def main(repeat: int) -> None:
    from crawler.demo import DemoMarketplace

    with tempfile.TemporaryDirectory(prefix="turfwatch-bench-") as tmp:
        tmp = Path(tmp)
        with DemoMarketplace() as site:
            fulls, bares = [], []
            # Interleaved: each full crawl is paired with the bare fetch of its own URLs right after it.
            for i in range(repeat):
                db = tmp / f"full{i}" / "t.db"
                fulls.append(full_crawl(site.base_url, db, "-a", "max_pages=1000"))
                # Every URL the full crawl fetched, from its captures (robots.txt aside: the bare spider skips it).
                urls = [r[0] for r in sqlite3.connect(db).execute(
                    "SELECT url FROM captures WHERE url NOT LIKE '%/robots.txt' ORDER BY fetched_at")]
                (tmp / "urls.txt").write_text("\n".join(urls))
                bares.append(bare_crawl(tmp / "urls.txt", tmp / "bare.json"))
            print(f"runs: full {', '.join(f'{_rate(r):.0f}' for r in fulls)} pages/s; "
                  f"bare {', '.join(f'{_rate(r):.0f}' for r in bares)} pages/s")
        with DemoMarketplace(scale=10) as site:
            big = full_crawl(site.base_url, tmp / "big" / "t.db", "-a", "max_pages=1000")

    # The verdict is the median of the pairs' ratios: a pair's two crawls run seconds apart, in the same stretch
    # of this small shared machine, and one stray crawl (a demo crawl lasts a second or two) moves it little.
    # The best of each kind is printed too; the ratio of two maxima follows whichever side had the luckier run.
    ratio = statistics.median(_rate(f) / _rate(b) for f, b in zip(fulls, bares))
    full, bare = max(fulls, key=_rate), max(bares, key=_rate)
    print(f"full turfwatch crawl: {full['pages']} pages in {full['seconds']:.2f} s = {_rate(full):.1f} pages/s "
          f"(flagging, SQLite, WARC on, in three processes; best of {repeat})")
    print(f"bare Scrapy fetch:    {bare['pages']} pages in {bare['seconds']:.2f} s = {_rate(bare):.1f} pages/s "
          f"(best of {repeat})")
    print(f"ratio full/bare: {ratio:.2f} (median of {repeat} paired crawls; the best-of rates give "
          f"{_rate(full) / _rate(bare):.2f}) (goal >= 0.60) {'OK' if ratio >= 0.6 else 'BELOW GOAL'}")
    mib = 1024 * 1024
    print("peak RSS: the crawl, its flag worker and its writer process, each at its peak, added up")
    print(f"peak RSS, normal demo crawl: {full['rss'] / mib:.0f} MiB ({full['pages']} pages; memusage/max "
          f"{(full['memusage_max'] or 0) / mib:.0f} MiB)")
    print(f"peak RSS, 10x demo crawl:    {big['rss'] / mib:.0f} MiB ({big['pages']} pages; memusage/max "
          f"{(big['memusage_max'] or 0) / mib:.0f} MiB)")
    print(f"10x demo crawl speed: {big['pages'] / big['seconds']:.1f} pages/s")
    mem_ratio = big["rss"] / full["rss"]
    print(f"ratio 10x/normal: {mem_ratio:.2f} (goal <= 1.50) {'OK' if mem_ratio <= 1.5 else 'ABOVE GOAL'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bare", nargs=2, metavar=("URLS", "OUT"), help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=9, help="paired crawls (full, then bare)")
    args = parser.parse_args()
    if args.bare:
        _bare_main(*args.bare)
    else:
        main(args.repeat)

"""Named crawl jobs: a job keeps its frontier on disk (Scrapy's JOBDIR), so a stopped crawl resumes where it was.

A job that ran to its end is done: the next run under the same name starts afresh. So the nightly
`--job nightly` crawls every night, and continues where it stopped only after an interruption
(Ctrl-C, SIGTERM, a block, a crash). Without this, Scrapy's JOBDIR would keep the finished
crawl's seen-requests and every later night would fetch nothing at all.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from scrapy import signals

logger = logging.getLogger(__name__)
# Written into a job's folder when its crawl finishes; the next start of the job clears the folder.
FINISHED_MARKER = "turfwatch-finished"

# Job names become a folder name and a Redis key: nothing that could walk out of either.
JOB_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


def validate_job_name(name: str) -> str:
    """The name itself, or ValueError. `.` and `..` match the pattern but name no job of their own."""
    if not isinstance(name, str) or not JOB_NAME.fullmatch(name) or set(name) == {"."}:
        raise ValueError(
            f"job name must be 1 to 64 characters from A-Z a-z 0-9 . _ - (and not only dots), got {name!r}"
        )
    return name


def job_dir(db_path: str | Path, name: str) -> Path:
    """`<db dir>/jobs/<name>`: the job's state lives beside the database it fills."""
    return Path(db_path).resolve().parent / "jobs" / validate_job_name(name)


class JobAddon:
    """Scrapy add-on: TURFWATCH_JOB=NAME sets JOBDIR to `<db dir>/jobs/NAME` unless
    JOBDIR is given, so `--job` on the CLI and `setting=TURFWATCH_JOB=...` on Scrapyd agree."""

    def update_settings(self, settings) -> None:
        name = settings.get("TURFWATCH_JOB")
        if not name or settings.get("JOBDIR"):
            return
        folder = job_dir(settings.get("TURFWATCH_DB"), name)
        if (folder / FINISHED_MARKER).is_file():
            logger.info("Job %s finished last time: starting it afresh", name)
            shutil.rmtree(folder)
        settings.set("JOBDIR", str(folder), priority="addon")


class JobCompletion:
    """Extension: marks a job's folder finished when its crawl ends with finish reason `finished`.

    Only folders that JobAddon manages (`--job NAME`) are marked; a JOBDIR given by hand keeps
    Scrapy's own meaning."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    @classmethod
    def from_crawler(cls, crawler):
        name = crawler.settings.get("TURFWATCH_JOB")
        jobdir = crawler.settings.get("JOBDIR")
        folder = None
        if name and jobdir and Path(jobdir).resolve() == job_dir(crawler.settings.get("TURFWATCH_DB"), name):
            folder = Path(jobdir)
        ext = cls(folder)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self, spider, reason: str) -> None:
        if self.folder is not None and reason == "finished":
            self.folder.mkdir(parents=True, exist_ok=True)
            (self.folder / FINISHED_MARKER).write_text("finished\n", encoding="utf-8")

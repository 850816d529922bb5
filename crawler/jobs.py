"""Named crawl jobs: a job keeps its frontier on disk (Scrapy's JOBDIR), so a stopped crawl resumes where it was."""

from __future__ import annotations

import re
from pathlib import Path

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
        settings.set("JOBDIR", str(job_dir(settings.get("TURFWATCH_DB"), name)), priority="addon")

"""The run's writer: a child process that writes a crawl's captures and items (WARC files and SQLite rows).

Why a process of its own: writing evidence (gzip, SHA-256, WARC records, one SQLite transaction after
another) took over a quarter of the crawl's one thread, which Scrapy's downloads and parsing share. In a
child, that work runs on another core; and a writer waiting for another run's write lock (up to the store's
busy timeout) no longer stops every download of this one, until the pipe's 1 MiB is full.

What it keeps, and when:
- One pipe carries the crawl's messages in the order they were sent: a page's capture is written before
  the items read from it.
- The writer commits whatever it has read each time it has caught up. So it groups messages in one
  transaction only while it is behind, and everything the crawl handed over is committed whenever the
  writer waits for more. Each item still has its own savepoint: never half a listing.
- The end of its input ends the run's writing: the crawl closing the pipe, or dying. Either way the writer
  commits what it has read, closes its WARC file and reports on stdout. Killing the crawl loses what Scrapy
  held in memory, never what it had handed over.
- It also runs the run's item checks that only count (validation and field coverage, crawler/item_checks.py),
  in a thread of its own, and reports their counts with the rest.
- It ignores SIGINT and SIGTERM and has a process group of its own (crawler/frames.py): a Ctrl-C or a
  service stop is for the crawl, which then stops gracefully and closes the pipe.

Messages are pickled frames (crawler/frames.py).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crawler.frames import Frames, Outbox, ignore_stop_signals, spawn_child, write_all
from crawler.items import Listing, Removal, Seller
from crawler.memory import peak_rss

# Errors reported in full; beyond these, only counted.
_MAX_REPORTED_ERRORS = 100


class WriterGone(RuntimeError):
    """The run's writer has exited: nothing more can be stored in this run."""


@dataclass
class WriterReport:
    """What the writer did, as it reports when its input ends."""

    stored: int = 0  # captures and items committed
    captures: int = 0
    removed: int = 0  # listings newly marked removed
    warc_files: int = 0
    max_rss: int = 0  # bytes: the writer's own peak, which the crawl's memory figures must add
    checks: dict = field(default_factory=dict)  # the item checks' stats (crawler/item_checks.py)
    checks_error: str | None = None  # why the item checks could not count every item
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    exit_code: int | None = None  # None: the report came from a writer that ran to its end

    @property
    def complete(self) -> bool:
        return self.exit_code is None


class RunWriter:
    """The crawl's end of the run's writer process."""

    def __init__(self, proc: subprocess.Popen, on_gone: Callable[[int | None], None] | None = None):
        self.proc = proc
        self.on_gone = on_gone
        self.gone = False
        self.opened = False
        self.outbox = Outbox(self._write, self._failed)

    @classmethod
    def start(cls, db_path: str | Path, run_id: int | None,
              on_gone: Callable[[int | None], None] | None = None, checks: dict | None = None) -> "RunWriter":
        """Start the writer for run `run_id` of the store at `db_path`. `on_gone(exit_code)` is called once,
        on the first message that finds the writer gone. `checks`: the settings of the item checks to run
        (`crawler.item_checks.checks_settings`); None for none."""
        writer = cls.spawn(on_gone)
        writer.open(db_path, run_id, checks)
        return writer

    @classmethod
    def spawn(cls, on_gone: Callable[[int | None], None] | None = None) -> "RunWriter":
        """A writer process that has no run yet (`open` gives it one). Spawned before the crawl builds its
        spiders (crawler/runner.py), it has done its imports, about a second of CPU, before the first page."""
        # A grown pipe: the crawl's pages keep coming while the writer starts or waits for a lock.
        return cls(spawn_child("crawler.writer", grow_input=True), on_gone)

    def open(self, db_path: str | Path, run_id: int | None, checks: dict | None = None) -> None:
        """Give the writer its run: `run_id` of the store at `db_path`, with these item checks (or none)."""
        self.opened = True
        self._send(("open", str(db_path), run_id, checks))

    def open_warc(self, directory: str | Path, max_bytes: int, warcinfo: dict) -> None:
        """From now on the writer takes captures, into WARC files in `directory`."""
        self._send(("warc", str(directory), max_bytes, warcinfo))

    def capture(self, exchange) -> None:
        """Write a `crawler.warc.Exchange` to WARC and index it in `captures`."""
        self._send(("capture", exchange))

    def save(self, item) -> None:
        """Store a Listing, Seller or Removal."""
        self._send(("item", item))

    def _send(self, message: tuple) -> None:
        if self.gone:
            raise WriterGone(self._gone_message())
        self.outbox.send(message)
        if self.gone:  # written at once (outside the event loop), and the write found the writer gone
            raise WriterGone(self._gone_message())

    def _write(self, view: memoryview) -> None:
        # A full pipe blocks the crawl here until the writer catches up: memory stays bounded.
        write_all(self.proc.stdin.fileno(), view)

    def _failed(self, exc: OSError) -> None:
        """A write found the writer gone (BrokenPipeError): it has exited."""
        if not self.gone:
            self.gone = True
            if self.on_gone is not None:
                self.on_gone(self.proc.poll())

    def _gone_message(self) -> str:
        return f"the run's writer has exited (code {self.proc.poll()})"

    def finish(self) -> WriterReport:
        """End the run's input and wait until the writer has committed it all; its report."""
        try:
            if not self.gone:
                self.outbox.flush()
            self.proc.stdin.close()
        except OSError:
            pass  # already gone: its exit code says so
        out = self.proc.stdout.read()
        code = self.proc.wait()
        self.gone = True
        if code == 0:
            try:
                return WriterReport(**json.loads(out))
            except (ValueError, TypeError):
                pass
        return WriterReport(exit_code=code, errors=[f"the run's writer exited with code {code} without its report"],
                            error_count=1)


# --- the writer process -----------------------------------------------------


class _Run:
    """The writer's side of one run: its store connection, its WARC files, its counts."""

    def __init__(self, db_path: str, run_id: int | None, checks: dict | None):
        from crawler.store import Store  # here, not at the top: after main() has kept numpy out

        self.store = Store(db_path)
        self.run_id = run_id
        self.files = None
        self.checks = _ItemChecks(checks) if checks is not None else None
        self.report = WriterReport()

    def apply(self, batch: list[tuple]) -> None:
        """One transaction for the batch, a savepoint for each message in it. Counted once committed."""
        done = Counter()
        try:
            with self.store.db.atomic():
                for message in batch:
                    try:
                        done[self._apply_one(message)] += 1
                    except Exception as exc:  # noqa: BLE001 - one bad item must not cost the others
                        self._error(_describe(message), exc)
                # A capture row must never point at WARC bytes still in a buffer.
                if self.files is not None:
                    self.files.flush()
        except Exception as exc:  # noqa: BLE001 - BEGIN or COMMIT failed (a lock held past the busy timeout)
            self._error(f"{len(batch)} messages not stored", exc)
            return
        report = self.report
        report.captures += done["capture"]
        report.removed += done["removed"]
        report.stored += done["capture"] + done["item"] + done["removed"]

    def _apply_one(self, message: tuple) -> str:
        """Apply one message; what it was, for the counts."""
        kind = message[0]
        if kind == "capture":
            if self.files is None:
                raise RuntimeError("capture before the WARC files were opened")
            self.store.save_capture(self.files.write(message[1]))
            return "capture"
        if kind == "item":
            if self.checks is not None:  # every item handed over, stored or not, as in the crawl before
                self.checks.put(message[1])
            return self._item(message[1])
        if kind == "warc":
            from crawler.warc import WarcFiles

            self.files = WarcFiles(Path(message[1]), message[2], self.run_id, message[3])
            return "warc"
        raise ValueError(f"unknown message {kind!r}")

    def _item(self, item) -> str:
        if isinstance(item, Listing):
            self.store.save_listing(item, self.run_id)
        elif isinstance(item, Seller):
            self.store.save_seller(item, self.run_id)
        elif isinstance(item, Removal):
            if self.store.mark_removed(item.marketplace, f"HTTP {item.status}", item.fetched_at,
                                       listing_id=item.listing_id, url=item.url):
                return "removed"
        else:
            raise TypeError(f"not a turfwatch item: {type(item).__name__}")
        return "item"

    def _error(self, what: str, exc: BaseException) -> None:
        self.report.error_count += 1
        if len(self.report.errors) < _MAX_REPORTED_ERRORS:
            self.report.errors.append(f"{what}: {type(exc).__name__}: {exc}")

    def close(self) -> None:
        if self.checks is not None:
            self.report.checks, self.report.checks_error = self.checks.finish()
        if self.files is not None:
            self.report.warc_files = self.files.serial
            self.files.close()
        self.store.close()
        self.report.max_rss = peak_rss()


class _ItemChecks:
    """The run's item checks (crawler/item_checks.py) in a thread of the writer. They only count, so they may
    lag behind the storing. They start once the writer has first caught up with the crawl: a writer spawned
    as its run opened (Scrapyd, `scrapy crawl`) has not imported them yet (Scrapy, Spidermon, jsonschema:
    about a second of CPU), and that must not hold up the crawl's first pages."""

    _END = object()

    def __init__(self, settings: dict):
        self.settings = settings
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.counts: dict = {}
        self.error: str | None = None

    def put(self, item) -> None:
        if self.error is None:  # checks that failed take no more items: the queue would only grow
            self.queue.put(item)

    def start(self) -> None:
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="item-checks", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        try:
            from crawler.item_checks import ItemChecks

            checks = ItemChecks(self.settings)
            while (item := self.queue.get()) is not self._END:
                checks.check(item)
            self.counts = checks.counts()
        except Exception as exc:  # noqa: BLE001 - reported; the run's health checks cannot trust partial counts
            self.error = f"{type(exc).__name__}: {exc}"

    def finish(self) -> tuple[dict, str | None]:
        """The counts once every item is checked, and why not every item could be, if so."""
        self.start()
        self.queue.put(self._END)
        self.thread.join()
        return (self.counts, None) if self.error is None else ({}, self.error)


def _describe(message: tuple) -> str:
    """Which message failed, in words an analyst can look up: the item's key and URL."""
    kind = message[0]
    if kind == "capture":
        return f"capture of {message[1].url}"
    if kind == "item":
        item = message[1]  # a Listing, Seller or Removal; getattr, since describing must not fail too
        key = getattr(item, "listing_id", None) or getattr(item, "seller_id", None)
        url = getattr(item, "url", None) or getattr(item, "profile_url", "")
        return f"{type(item).__name__} {getattr(item, 'marketplace', '?')}/{key} ({url})"
    return kind


def _warm_up(opened: threading.Event) -> None:
    """Import what a run needs while the writer waits for it: the store and WARC modules, and the item checks'
    Scrapy, Spidermon and jsonschema unless the run has opened by then. A writer spawned when its run opens
    leaves those to the checks thread, which starts once the writer has caught up with the crawl."""
    import crawler.store  # noqa: F401
    import crawler.warc  # noqa: F401

    if not opened.is_set():
        import crawler.item_checks  # noqa: F401


def main() -> int:
    ignore_stop_signals()
    # The crawl's first pages fill the pipe within a fraction of a second, so the writer must start fast.
    # sqlite-utils imports numpy, if it can, only to map numpy types to columns; the writer stores none,
    # and the import was 130 ms of its 240 ms start.
    sys.modules.setdefault("numpy", None)
    opened = threading.Event()
    threading.Thread(target=_warm_up, args=(opened,), name="warm-up", daemon=True).start()
    frames = Frames(sys.stdin.fileno())
    first = frames.batch()
    opened.set()
    if first is None:  # spawned for a crawl that never opened its run: nothing done, nothing wrong
        return _report(WriterReport())
    if first[0][0] != "open":
        print("crawler.writer: the first message must open a run", file=sys.stderr)
        return 2
    _, db_path, run_id, checks = first[0]
    run = _Run(db_path, run_id, checks)
    batch = first[1:]
    while batch is not None:
        if batch:
            run.apply(batch)
        if run.checks is not None and run.checks.thread is None and frames.caught_up():
            run.checks.start()
        batch = frames.batch()
    if frames.truncated:
        run._error("the last message", EOFError("cut off when the crawl stopped"))
    run.close()
    return _report(run.report)


def _report(report: WriterReport) -> int:
    try:
        sys.stdout.write(json.dumps(report.__dict__))
        sys.stdout.flush()
    except BrokenPipeError:
        pass  # the crawl is gone (it died, or never asked): what was read is committed all the same
    return 0


if __name__ == "__main__":
    code = main()
    # Store and files are closed and the report is out: the crawl waits for this exit, not for the
    # interpreter to take its modules apart.
    os._exit(code)

"""The crawl's flagger in a process of its own: spaCy and the rules judge listings on another core.

Why: judging a listing (spaCy's tokenizer, then the rules' engine) took about 9% of the crawl's one thread,
which Scrapy's downloads and parsing share. The spider needs the verdict, since it decides whom to follow,
so its callback awaits it (`MarketplaceSpider.judge`), and Scrapy goes on with other responses meanwhile.
A listing now costs the crawl a small pickle each way.

- One worker per crawl process, shared by its spiders (the demo crawls six marketplaces in one process).
  The spiders wait until it has loaded its flagger before the crawl starts, as they waited for their own.
- Verdicts come back in the order the listings went, each with the number its listing was sent under.
- A worker that dies, or never starts, costs no listing: the spider judges in its own process from then on
  (`FlagWorkerGone`) and logs why.
- Its input ending ends it. It ignores SIGINT and SIGTERM and has a process group of its own, like the
  run's writer (crawler/frames.py): a Ctrl-C is for the crawl, which stops gracefully.

Messages are pickled frames (crawler/frames.py): (number, listing fields) in; (number, verdict, error) out,
the verdict being what `verdict()` makes of a Judgement.
"""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import sys
from typing import Any

from crawler.frames import Frames, Outbox, encode, ignore_stop_signals, spawn_child, write_all
from crawler.memory import peak_rss

Verdict = tuple[str, float, bool, list[dict[str, Any]]]  # language, score, sells_reviews, flags
# Loading spaCy and the rules takes seconds; a worker silent for this long is not going to start.
READY_SECONDS = 300


class FlagWorkerGone(RuntimeError):
    """The flag worker has exited: judge in this process."""


class FlagError(RuntimeError):
    """The flagger failed on one listing (the worker goes on with the others)."""


def rules_version(flagger) -> str:
    """`id@version` of every rule the flagger judges by."""
    return " ".join(f"{rule.id}@{rule.version}" for rule in flagger.rules)


def verdict(judgement) -> Verdict:
    """What a listing keeps of a Judgement (crawler/flagging/flagger.py)."""
    return judgement.language, judgement.score, judgement.sells_reviews, [flag.to_dict() for flag in judgement.flags]


class FlagWorker:
    """The crawl's end of the flag worker process."""

    _shared: FlagWorker | None = None

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.frames = Frames(proc.stdout.fileno())
        self.pending: dict[int, asyncio.Future] = {}
        self.sent = 0
        self.ready = False
        self.rules_version = ""  # rules_version() of the worker's flagger, once it is ready
        self.gone: str | None = None  # why, once it is gone
        self.loop: asyncio.AbstractEventLoop | None = None
        self.outbox = Outbox(self._write, self._exited)

    @classmethod
    def spawn(cls) -> FlagWorker:
        proc = spawn_child("crawler.flag_worker")
        # Writes never block: a full pipe is waited out while reading verdicts (see _write).
        os.set_blocking(proc.stdin.fileno(), False)
        return cls(proc)

    @classmethod
    def shared(cls) -> FlagWorker:
        """This process's worker, spawned on first use."""
        if cls._shared is None:
            cls._shared = cls.spawn()
        return cls._shared

    @classmethod
    def ready_shared(cls) -> FlagWorker | None:
        """This process's worker if it is judging listings."""
        worker = cls._shared
        return worker if worker is not None and worker.ready and not worker.gone else None

    @classmethod
    def close_shared(cls) -> None:
        if cls._shared is not None:
            cls._shared.close()
            cls._shared = None

    def wait_ready(self) -> bool:
        """Wait until the worker has loaded its flagger; False if it never will."""
        if not self.ready and not self.gone:
            if not select.select([self.proc.stdout], [], [], READY_SECONDS)[0]:
                self.proc.kill()
                self._gone(f"did not start within {READY_SECONDS} s")
                return False
            batch = self.frames.batch()
            if batch and len(batch) == 1 and batch[0][0] == "ready":
                self.ready, self.rules_version = True, batch[0][1]
            else:
                self._gone(f"did not start (exit code {self.proc.poll()})")
        return self.ready and not self.gone

    async def judge(self, fields: dict[str, Any]) -> Verdict:
        """The worker's verdict on one listing's fields (those `Flagger.judge` takes)."""
        if self.gone:
            raise FlagWorkerGone(self.gone)
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
            self.loop.add_reader(self.proc.stdout.fileno(), self._readable)
        number = self.sent
        self.sent += 1
        future = self.pending[number] = self.loop.create_future()
        self.outbox.send((number, fields))
        return await future

    def _write(self, view: memoryview) -> None:
        """Write the frames whole, or until the worker is gone. Any other OSError (BrokenPipeError: it has
        exited) goes to the Outbox, which reports it to `_exited`."""
        stdin, stdout = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        while view and not self.gone:
            try:
                view = view[os.write(stdin, view):]
            except BlockingIOError:
                # The worker is behind. Its verdicts are read meanwhile: a worker blocked on writing them
                # would never read the rest of this listing.
                readable, _, _ = select.select([stdout], [stdin], [])
                if readable:
                    self._readable()

    def _exited(self, exc: OSError) -> None:
        """A write found the worker gone: every pending listing fails."""
        self._gone(f"exited (code {self.proc.poll()})")

    def _readable(self) -> None:
        if not self.frames.read():
            self._gone(f"exited (code {self.proc.wait()})")
            return
        for number, result, error in self.frames.take():
            future = self.pending.pop(number, None)
            if future is None or future.done():  # its callback was cancelled
                continue
            if error is None:
                future.set_result(result)
            else:
                future.set_exception(FlagError(error))

    def _gone(self, why: str) -> None:
        if self.gone:
            return
        self.gone = f"the flag worker {why}"
        if self.loop is not None:
            self.loop.remove_reader(self.proc.stdout.fileno())
        for future in self.pending.values():
            if not future.done():
                future.set_exception(FlagWorkerGone(self.gone))
        self.pending.clear()

    def max_rss(self) -> int:
        """The worker's peak resident memory in bytes so far (0 where unknown)."""
        return peak_rss(self.proc.pid)

    def close(self) -> None:
        """End the worker's input; it exits at once (every listing sent has been answered by now)."""
        if self.loop is not None and not self.gone:
            self.loop.remove_reader(self.proc.stdout.fileno())
        self.gone = self.gone or "the flag worker was closed"
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.stdout.close()
        self.proc.wait()


# --- the worker process ------------------------------------------------------


def main() -> int:
    ignore_stop_signals()
    # Frames go out on a descriptor of their own; anything a library prints goes to stderr, not into them.
    out = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    from crawler.flagging import get_flagger

    flagger = get_flagger()
    write_all(out, encode(("ready", rules_version(flagger))))
    frames = Frames(sys.stdin.fileno())
    while (batch := frames.batch()) is not None:
        replies = []
        for number, fields in batch:
            try:
                replies.append(encode((number, verdict(flagger.judge(fields)), None)))
            except Exception as exc:  # noqa: BLE001 - one listing's failure is the spider's to report
                replies.append(encode((number, None, f"{type(exc).__name__}: {exc}")))
        write_all(out, memoryview(b"".join(replies)))
    return 0


if __name__ == "__main__":
    code = main()
    os._exit(code)  # nothing to flush or close: the crawl waits for this exit, not for module teardown

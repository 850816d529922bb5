"""The crawl's child processes (the run's writer, the flag worker): how they start, and the messages between
them and the crawl over a pipe.

Each message is pickled (the children are our own, fed by their parent alone) in a frame of an 8-byte length
and the pickle. One pipe keeps the order in which messages were written.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
from collections.abc import Callable

LENGTH = struct.Struct("<Q")
# What a grown pipe holds (Linux; the default is 64 KiB), and how much is read at a time.
PIPE_BYTES = 1 << 20


# How much lower the children's CPU priority is than the crawl's. The crawl sets the pace: its children only
# work through what it sends them, and the pipes hold a backlog. On a busy machine the crawl runs first.
CHILD_NICE = 5
# Popen's own process group (Python 3.11+); before it, a session of its own does as much for signals.
_OWN_GROUP = {"process_group": 0} if sys.version_info >= (3, 11) else {"start_new_session": True}


def spawn_child(module: str, *, grow_input: bool = False) -> subprocess.Popen:
    """`python -m module` with pipes to its stdin and stdout, CHILD_NICE below the crawl.

    The child has a process group of its own, so that a Ctrl-C reaches only the crawl, which then ends the
    child's input. It stays in the crawl's session: Linux's scheduler (autogroup) gives every session an
    equal share of the CPU, so a child in a session of its own took as much CPU as the crawl it serves.
    `grow_input`: room in the pipe for a burst of messages while the child starts or waits (PIPE_BYTES)."""
    # The child finds this process's modules where this process found them (a Scrapyd egg included).
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    proc = subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            env=env, **_OWN_GROUP)
    try:
        # Set here, not by the child: its start (imports) already competes with the crawl's.
        os.setpriority(os.PRIO_PROCESS, proc.pid, os.getpriority(os.PRIO_PROCESS, 0) + CHILD_NICE)
    except (AttributeError, OSError):
        pass  # no priorities here (not Unix), or the child is gone already: its pipe will say so
    if grow_input:
        try:
            import fcntl

            fcntl.fcntl(proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except (ImportError, AttributeError, OSError):
            pass  # not Linux, or above the system's limit: the default pipe is only smaller
    return proc


def ignore_stop_signals() -> None:
    """In a child: SIGINT and SIGTERM are for the crawl, which stops gracefully and then ends our input.
    SIGTTOU would stop a child in a background group that writes to a terminal (`stty tostop`) while the
    crawl waits for it: its traceback is printed instead."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if hasattr(signal, "SIGTTOU"):
        signal.signal(signal.SIGTTOU, signal.SIG_IGN)


def encode(message) -> memoryview:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return memoryview(LENGTH.pack(len(data)) + data)


class Outbox:
    """Frames for one pipe, written together once per turn of the event loop: the child is woken once for
    everything a turn produced (a page's capture and its items), not once per message. Waking a sleeping
    process costs the crawl more than the write itself. Outside a running loop each send is written at once.

    `write(view)` writes a whole buffer (it may block or raise OSError); `failed(exc)` hears of any OSError
    a send's write raised, whether the loop made the write or the send itself."""

    def __init__(self, write: Callable[[memoryview], None], failed: Callable[[OSError], None]):
        self.write = write
        self.failed = failed
        self.pending: list[memoryview] = []

    def send(self, message) -> None:
        self.pending.append(encode(message))
        if len(self.pending) > 1:
            return  # a flush is already due
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._flush_reporting()
        else:
            loop.call_soon(self._flush_reporting)

    def flush(self) -> None:
        """Write what is pending now (an OSError is the caller's)."""
        if self.pending:
            data = memoryview(b"".join(self.pending))
            self.pending.clear()
            self.write(data)

    def _flush_reporting(self) -> None:
        try:
            self.flush()
        except OSError as exc:
            self.failed(exc)


def write_all(fd: int, view: memoryview) -> None:
    """Write the whole frame; a full pipe blocks until the reader catches up, so memory stays bounded."""
    while view:
        view = view[os.write(fd, view):]


class Frames:
    """Whole messages from a file descriptor, as many as have arrived."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = bytearray()
        self.truncated = False

    def batch(self) -> list | None:
        """Every whole message that has arrived, waiting for at least one; None at the end of input."""
        while True:
            messages = self.take()
            if messages:
                return messages
            if not self.read():
                return None

    def read(self) -> bool:
        """Read what is there (waiting for some); False at the end of input."""
        chunk = os.read(self.fd, PIPE_BYTES)
        if not chunk:
            # A sender killed while it wrote leaves half a message: it was never handed over.
            self.truncated = bool(self.buffer)
            return False
        self.buffer += chunk
        return True

    def caught_up(self) -> bool:
        """Nothing more to read for now: every message that has arrived has been taken."""
        return not self.buffer and not select.select([self.fd], [], [], 0)[0]

    def take(self) -> list:
        """The whole messages in the buffer, without reading."""
        messages, pos, buffer = [], 0, self.buffer
        with memoryview(buffer) as view:  # released before the buffer is cut below
            while len(buffer) - pos >= LENGTH.size:
                (size,) = LENGTH.unpack_from(buffer, pos)
                end = pos + LENGTH.size + size
                if end > len(buffer):
                    break
                messages.append(pickle.loads(view[pos + LENGTH.size:end]))
                pos = end
        del buffer[:pos]
        return messages

"""Messages between the crawl and its child processes (the run's writer, the flag worker) over a pipe.

Each message is pickled (the children are our own, fed by their parent alone) in a frame of an 8-byte length
and the pickle. One pipe keeps the order in which messages were written.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import select
import struct
from collections.abc import Callable

LENGTH = struct.Struct("<Q")
# How much is read at a time: the size the crawl's pipes are grown to (crawler/writer.py).
READ_BYTES = 1 << 20


def encode(message) -> memoryview:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return memoryview(LENGTH.pack(len(data)) + data)


class Outbox:
    """Frames for one pipe, written together once per turn of the event loop: the child is woken once for
    everything a turn produced (a page's capture and its items), not once per message. Waking a sleeping
    process costs the crawl more than the write itself. Outside a running loop each send is written at once.

    `write(view)` writes a whole buffer (it may block or raise OSError); `failed(exc)` hears of an OSError
    that came up in a write the loop made, where no caller can catch it."""

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
            self.flush()
        else:
            loop.call_soon(self._flush_in_loop)

    def flush(self) -> None:
        """Write what is pending now."""
        if self.pending:
            data = memoryview(b"".join(self.pending))
            self.pending.clear()
            self.write(data)

    def _flush_in_loop(self) -> None:
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
        chunk = os.read(self.fd, READ_BYTES)
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

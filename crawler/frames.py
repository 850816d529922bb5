"""Messages between the crawl and its child processes (the run's writer, the flag worker) over a pipe.

Each message is pickled (the children are our own, fed by their parent alone) in a frame of an 8-byte length
and the pickle. One pipe keeps the order in which messages were written.
"""

from __future__ import annotations

import os
import pickle
import select
import struct

LENGTH = struct.Struct("<Q")
# How much is read at a time: the size the crawl's pipes are grown to (crawler/writer.py).
READ_BYTES = 1 << 20


def encode(message) -> memoryview:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return memoryview(LENGTH.pack(len(data)) + data)


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

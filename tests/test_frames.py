"""Frames between the crawl and its children (crawler/frames.py): what goes in comes out, in order, and a turn
of the event loop's messages leave in one write."""

from __future__ import annotations

import asyncio
import os

from crawler.frames import Frames, Outbox


def _pipe_outbox(failed=None):
    read_fd, write_fd = os.pipe()
    writes = []

    def write(view):
        writes.append(len(view))
        os.write(write_fd, view)  # small enough for the pipe's buffer

    return Outbox(write, failed or (lambda exc: None)), Frames(read_fd), writes, write_fd


def test_outside_the_event_loop_each_message_is_written_at_once():
    outbox, frames, writes, _ = _pipe_outbox()
    for n in range(3):
        outbox.send(("item", n))
    assert len(writes) == 3
    assert frames.take() == [] and frames.read() and frames.take() == [("item", 0), ("item", 1), ("item", 2)]


def test_a_turn_of_the_event_loop_is_written_once_and_in_order():
    outbox, frames, writes, _ = _pipe_outbox()

    async def turn():
        for n in range(5):
            outbox.send(("item", n))
        assert writes == []  # not yet: at the end of the turn
        await asyncio.sleep(0)
        outbox.send(("item", 5))
        await asyncio.sleep(0)

    asyncio.run(turn())
    assert len(writes) == 2
    frames.read()
    assert frames.take() == [("item", n) for n in range(6)]


def test_a_write_that_fails_in_the_loop_is_reported():
    failures = []
    outbox, _, _, write_fd = _pipe_outbox(failures.append)
    os.close(write_fd)

    async def turn():
        outbox.send(("item", 1))
        await asyncio.sleep(0)

    asyncio.run(turn())
    assert len(failures) == 1 and isinstance(failures[0], OSError)

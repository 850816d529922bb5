"""sqlite-utils Database whose transactions take the write lock up front (BEGIN IMMEDIATE)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlite_utils


class ImmediateDatabase(sqlite_utils.Database):
    """A deferred BEGIN that reads first and writes later cannot wait for another
    process's writer: SQLite answers "database is locked" at once, whatever the busy
    timeout. BEGIN IMMEDIATE waits its turn (up to the busy timeout) instead, so
    overlapping runs serialise their writes rather than lose items."""

    @contextlib.contextmanager
    def atomic(self) -> Iterator["ImmediateDatabase"]:
        if self.conn.in_transaction:
            with super().atomic():  # nested: a savepoint
                yield self
            return
        # sqlite-utils' own atomic(), with BEGIN IMMEDIATE for its BEGIN.
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.rollback()
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                # Left open, the failed transaction would swallow every later atomic() as a savepoint.
                self.rollback()
                raise

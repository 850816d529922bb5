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

    _savepoints = 0  # how many savepoints are open: the next one is named by its depth

    @contextlib.contextmanager
    def atomic(self) -> Iterator["ImmediateDatabase"]:
        if self.conn.in_transaction:
            with self._savepoint():
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

    @contextlib.contextmanager
    def _savepoint(self) -> Iterator[None]:
        """A nested atomic(): a savepoint, as sqlite-utils makes one, named by its depth. sqlite-utils names
        each with secrets.token_hex, an os.urandom call for every item the run's writer stores; a name only
        has to differ from those of the savepoints still open."""
        self._savepoints += 1
        name = f"turfwatch_{self._savepoints}"
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            # An error that ended the whole transaction (a RAISE(ROLLBACK) trigger) took the savepoint with it.
            if self.conn.in_transaction:
                self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self.conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            self.conn.execute(f"RELEASE SAVEPOINT {name}")
        finally:
            self._savepoints -= 1

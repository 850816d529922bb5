"""ImmediateDatabase.atomic: a transaction whose COMMIT fails is rolled back, not left open."""

from __future__ import annotations

import sqlite3

import pytest

from crawler.sqlite_tx import ImmediateDatabase


def test_a_failed_commit_leaves_no_transaction_open(tmp_path):
    db = ImmediateDatabase(tmp_path / "t.db")
    db.execute("PRAGMA foreign_keys = ON")
    db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    # A deferred foreign key is checked at COMMIT: the commit itself fails.
    db.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(sqlite3.IntegrityError):
        with db.atomic():
            db.execute("INSERT INTO child VALUES (42)")
    assert not db.conn.in_transaction
    with db.atomic():  # a real transaction again, not a savepoint inside the failed one
        db.execute("INSERT INTO parent VALUES (1)")
    assert sqlite3.connect(tmp_path / "t.db").execute("SELECT COUNT(*) FROM parent").fetchone() == (1,)
    assert sqlite3.connect(tmp_path / "t.db").execute("SELECT COUNT(*) FROM child").fetchone() == (0,)


def test_nested_atomics_are_savepoints_that_roll_back_alone(tmp_path):
    db = ImmediateDatabase(tmp_path / "t.db")
    db.execute("CREATE TABLE t (v INTEGER)")
    with db.atomic():
        db.execute("INSERT INTO t VALUES (1)")
        for value in (2, 3):  # the same depth twice: its name is free again
            with pytest.raises(ValueError):
                with db.atomic():
                    db.execute("INSERT INTO t VALUES (?)", [value])
                    with db.atomic():
                        db.execute("INSERT INTO t VALUES (?)", [value * 10])
                    raise ValueError("this item only")
        with db.atomic():
            db.execute("INSERT INTO t VALUES (4)")
            with pytest.raises(ValueError):
                with db.atomic():
                    db.execute("INSERT INTO t VALUES (5)")
                    raise ValueError("the inner one only")
    assert [v for (v,) in sqlite3.connect(tmp_path / "t.db").execute("SELECT v FROM t ORDER BY v")] == [1, 4]
    assert db._savepoints == 0

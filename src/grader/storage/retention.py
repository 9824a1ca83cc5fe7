"""Pruning stored rows by age and by total size, in small batches.

A table kept this way has a ``created`` time (epoch seconds), a ``size`` in bytes (of
its key and payload, written with the row) and an index on ``(created, size)``, so
measuring and pruning read that index, never the payloads.  ``prune`` deletes the
rows older than the age limit, then the oldest rows until the rest fit the size
limit; it deletes ``BATCH`` rows per statement, so writers waiting on the same file
(grading threads saving results) get the lock between batches.

Deleted rows free pages inside the file for new rows; the file itself shrinks only
with ``vacuum`` (``grader cache prune --vacuum``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from grader.storage.sqlite import MEMORY, Database

BATCH = 500  # rows per DELETE


@dataclass(frozen=True)
class Limits:
    """What one table keeps: rows younger than ``max_age_seconds``, ``max_bytes`` in all."""

    max_age_seconds: float
    max_bytes: int


@dataclass(frozen=True)
class TableSize:
    table: str
    rows: int
    bytes: int  # keys and payloads
    oldest: float | None  # epoch seconds of the oldest row


@dataclass(frozen=True)
class Pruned:
    """What one ``prune`` removed from one table, and its size before and after."""

    table: str
    expired: int
    over_cap: int
    before: TableSize
    after: TableSize

    @property
    def removed(self) -> int:
        return self.expired + self.over_cap


def table_size(db: Database, table: str) -> TableSize:
    rows, size, oldest = db.query(
        f"SELECT count(*), coalesce(sum(size), 0), min(created) FROM {table}"
    )[0]
    return TableSize(table, rows, size, oldest)


def prune(db: Database, table: str, limits: Limits, now: float | None = None) -> Pruned:
    """Delete the rows of ``table`` over ``limits`` (see the module docstring)."""
    before = table_size(db, table)
    oldest_kept = (time.time() if now is None else now) - limits.max_age_seconds
    expired = _delete_batches(db, table, "created < ?", (oldest_kept,))
    over_cap = 0
    cutoff = _size_cutoff(db, table, limits.max_bytes)
    if cutoff is not None:
        created, rowid = cutoff
        over_cap = _delete_batches(
            db, table, "created < ? OR (created = ? AND rowid <= ?)", (created, created, rowid)
        )
    return Pruned(table, expired, over_cap, before, table_size(db, table))


def _size_cutoff(db: Database, table: str, max_bytes: int) -> tuple[float, int] | None:
    """(created, rowid) of the newest row that does not fit: it and every older row go."""
    # The running total grows with age, so the newest row over the limit has the least
    # total over it (SQLite's min() returns the other columns of that row: no sort).
    created, rowid, _ = db.query(
        f"SELECT created, rowid, min(running) FROM (SELECT created, rowid, sum(size) OVER "
        f"(ORDER BY created DESC, rowid DESC) AS running FROM {table}) WHERE running > ?",
        (max_bytes,),
    )[0]
    return None if created is None else (created, rowid)


def _delete_batches(db: Database, table: str, where: str, args: tuple[object, ...]) -> int:
    deleted = 0
    while True:
        n = db.execute(
            f"DELETE FROM {table} WHERE rowid IN "
            f"(SELECT rowid FROM {table} WHERE {where} LIMIT {BATCH})",
            args,
        )
        deleted += n
        if n < BATCH:
            return deleted


def file_bytes(path: Path | str) -> int:
    """The database file with its WAL and shared-memory files (0 for ``":memory:"``)."""
    if str(path) == MEMORY:
        return 0
    return sum(
        p.stat().st_size
        for p in (Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm"))
        if p.exists()
    )


def vacuum(db: Database) -> None:
    """Give the free pages back to the file system (rewrites the file; takes the write lock)."""
    db.execute("VACUUM")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

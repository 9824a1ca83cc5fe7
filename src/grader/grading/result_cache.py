"""Persistence (SQLite by default): the result cache; later jobs and reviews.

``ResultStore.save`` is the seam's one required method; ``get`` reads back.
One connection per thread; WAL mode so readers never block the writer.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from grader.models import GradeResult

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY,
    question_id TEXT NOT NULL,
    config_hash TEXT NOT NULL,
    result TEXT NOT NULL,
    created REAL NOT NULL
);
"""


class Connections:
    """SQLite connections for one database file: one per thread (WAL mode, so readers never
    block the writer), or a single shared connection for ``":memory:"``."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._memory = (
            sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            if self.path == ":memory:"
            else None
        )
        if self._memory is None:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)

    def get(self) -> sqlite3.Connection:
        if self._memory is not None:
            return self._memory
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn


class ResultStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn = Connections(path).get
        self._lock = threading.Lock()
        self._conn().executescript(_SCHEMA)

    def save(self, key: str, result: GradeResult) -> None:
        with self._lock:
            self._conn().execute(
                "INSERT OR REPLACE INTO results(key, question_id, config_hash, result, created) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    key,
                    result.question_id,
                    result.provenance.config_hash,
                    result.model_dump_json(),
                    time.time(),
                ),
            )

    def get(self, key: str) -> GradeResult | None:
        with self._lock:
            row = (
                self._conn().execute("SELECT result FROM results WHERE key = ?", (key,)).fetchone()
            )
        return GradeResult.model_validate_json(row[0]) if row else None

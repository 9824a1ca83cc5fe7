"""Stored responses for ``Idempotency-Key`` (a table next to the result cache).

A client that retries ``POST /v1/grade`` with the same key gets the stored
response back instead of a second grading.  The key is scoped to the caller's
API key, remembered for ``GRADER_IDEMPOTENCY_TTL_HOURS``, and bound to a
fingerprint of the request body: the same key with another body is a conflict.
Ungraded results (the judge failed) are not stored, so a retry grades again.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.grading.result_cache import Connections

_SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS idempotency_created ON idempotency(created);
"""
_PURGE_EVERY = 200  # puts


@dataclass(frozen=True)
class StoredResponse:
    fingerprint: str
    body: str  # JSON


def scoped_key(principal: str | None, key: str) -> str:
    """The stored key: one namespace per API key (or one shared when auth is off)."""
    return hashlib.sha256(f"{principal or ''}\0{key}".encode()).hexdigest()


def fingerprint(payload: dict[str, Any]) -> str:
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


class KeyedLocks:
    """One asyncio lock per key in use; a key's lock is dropped when nobody holds it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, list[int]]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.setdefault(key, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


class IdempotencyStore:
    """SQLite table ``idempotency`` in the given database file (WAL, one connection per thread)."""

    def __init__(self, path: Path | str, ttl_seconds: float) -> None:
        self.path = str(path)
        self.ttl = ttl_seconds
        self._conn = Connections(path).get
        self._lock = threading.Lock()
        self._puts = 0
        self.locks = KeyedLocks()
        self._conn().executescript(_SCHEMA)
        self.purge()

    def get(self, key: str) -> StoredResponse | None:
        cutoff = time.time() - self.ttl
        with self._lock:
            row = (
                self._conn()
                .execute(
                    "SELECT fingerprint, response FROM idempotency WHERE key = ? AND created >= ?",
                    (key, cutoff),
                )
                .fetchone()
            )
        return StoredResponse(row[0], row[1]) if row else None

    def put(self, key: str, fingerprint: str, body: str) -> None:
        with self._lock:
            self._conn().execute(
                "INSERT OR REPLACE INTO idempotency(key, fingerprint, response, created) "
                "VALUES (?, ?, ?, ?)",
                (key, fingerprint, body, time.time()),
            )
            self._puts += 1
            due = self._puts % _PURGE_EVERY == 0
        if due:
            self.purge()

    def purge(self) -> int:
        """Delete expired keys; returns how many."""
        with self._lock:
            cur = self._conn().execute(
                "DELETE FROM idempotency WHERE created < ?", (time.time() - self.ttl,)
            )
        return cur.rowcount

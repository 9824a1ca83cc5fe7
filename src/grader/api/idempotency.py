"""Stored responses for ``Idempotency-Key`` (table ``idempotency`` in the grader database).

A client that retries ``POST /v1/grade`` with the same key gets the stored
response back instead of a second grading.  The key is scoped to the caller's
API key, remembered for ``GRADER_IDEMPOTENCY_TTL_HOURS``, and bound to a
fingerprint of the request body: the same key with another body is a conflict.
Ungraded results (the judge failed) are not stored, so a retry grades again.
An expired key is never replayed; ``prune`` deletes expired keys and holds the table
under ``GRADER_IDEMPOTENCY_MAX_MB`` (storage/retention.py), in the API's background
task (api/pruning.py) and in ``grader cache prune``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.storage import GRADER_DB, Database
from grader.storage.retention import Limits, Pruned, TableSize, prune, table_size

TABLE = "idempotency"


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
    """Table ``idempotency`` of the given database file (see grader.storage)."""

    def __init__(self, path: Path | str, ttl_seconds: float) -> None:
        self.path = str(path)
        self.ttl = ttl_seconds
        self._db = Database(path, GRADER_DB)
        self.locks = KeyedLocks()

    def get(self, key: str) -> StoredResponse | None:
        rows = self._db.query(
            "SELECT fingerprint, response FROM idempotency WHERE key = ? AND created >= ?",
            (key, time.time() - self.ttl),
        )
        return StoredResponse(rows[0][0], rows[0][1]) if rows else None

    def put(self, key: str, fingerprint: str, body: str) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO idempotency(key, fingerprint, response, created, size) "
            "VALUES (?, ?, ?, ?, ?)",
            (key, fingerprint, body, time.time(), len(key.encode()) + len(body.encode())),
        )

    def prune(self, max_bytes: int, now: float | None = None) -> Pruned:
        """Delete expired keys, then the oldest until the rest fit ``max_bytes``."""
        return prune(self._db, TABLE, Limits(self.ttl, max_bytes), now)

    def size(self) -> TableSize:
        return table_size(self._db, TABLE)

    def close(self) -> None:
        self._db.close()

"""The result cache: a stored GradeResult per cache key (table ``results``).

``ResultStore.save`` is the seam's one required method; ``get`` reads back.
Connections and the table's schema belong to grader.storage (``GRADER_DB``).
The cache is bounded by ``prune`` (age and total size, storage/retention.py),
which ``grader cache prune`` and the API's background task call.
"""

from __future__ import annotations

import time
from pathlib import Path

from grader.models import GradeResult
from grader.storage import GRADER_DB, Database
from grader.storage.retention import Limits, Pruned, TableSize, prune, table_size

TABLE = "results"


class ResultStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db = Database(path, GRADER_DB)

    def save(self, key: str, result: GradeResult) -> None:
        payload = result.model_dump_json()
        self._db.execute(
            "INSERT OR REPLACE INTO results(key, question_id, config_hash, result, created, size) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                key,
                result.question_id,
                result.provenance.config_hash,
                payload,
                time.time(),
                len(key.encode()) + len(payload.encode()),
            ),
        )

    def get(self, key: str) -> GradeResult | None:
        rows = self._db.query("SELECT result FROM results WHERE key = ?", (key,))
        return GradeResult.model_validate_json(rows[0][0]) if rows else None

    def prune(self, limits: Limits, now: float | None = None) -> Pruned:
        """Delete results older than the age limit, then the oldest over the size limit."""
        return prune(self._db, TABLE, limits, now)

    def size(self) -> TableSize:
        return table_size(self._db, TABLE)

    @property
    def database(self) -> Database:
        return self._db

    def close(self) -> None:
        self._db.close()

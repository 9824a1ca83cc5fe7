"""The result cache: a stored GradeResult per cache key (table ``results``).

``ResultStore.save`` is the seam's one required method; ``get`` reads back.
Connections and the table's schema belong to grader.storage (``GRADER_DB``).
"""

from __future__ import annotations

import time
from pathlib import Path

from grader.models import GradeResult
from grader.storage import GRADER_DB, Database


class ResultStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db = Database(path, GRADER_DB)

    def save(self, key: str, result: GradeResult) -> None:
        self._db.execute(
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
        rows = self._db.query("SELECT result FROM results WHERE key = ?", (key,))
        return GradeResult.model_validate_json(rows[0][0]) if rows else None

    def close(self) -> None:
        self._db.close()

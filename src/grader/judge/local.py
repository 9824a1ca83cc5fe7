"""Embedded judge: llama.cpp in-process, checklist style.

One yes/no probe per criterion and per misconception; P(yes) is read from the
logits of the last prompt token.  The prompt is tokenised in segments
(shared question part | answer | probe) and the KV cache keeps the longest
common prefix, so the question part is evaluated once per question and the
answer once per answer, whatever the number of probes.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import Settings
from ..errors import JudgeError, ModelUnavailableError
from .base import CriterionJudgement, JudgeRequest, JudgeResponse, Prompt
from .model_files import MODEL_FILE, Progress, ensure_model

PROMPT = "checklist-v1"
YES = ("yes", "Yes", "YES", " yes", " Yes")
NO = ("no", "No", "NO", " no", " No")


class LocalJudge:
    """Checklist judge on a local GGUF chat model (default: Qwen2.5-Coder-1.5B-Instruct)."""

    prompt_version = PROMPT

    def __init__(
        self, model_path: Path, n_threads: int = 2, n_ctx: int = 4096, seed: int = 0
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
        self.prompt = Prompt.load(PROMPT)
        self._lock = threading.Lock()
        self._yes = self._token_ids(YES)
        self._no = self._token_ids(NO)
        self._n_vocab = self._llm.n_vocab()
        self.tokens_evaluated = 0

    @classmethod
    def from_settings(cls, settings: Settings, progress: Progress | None = None) -> LocalJudge:
        path = settings.local_model_path or ensure_model(settings.cache_dir, progress)
        return cls(path, settings.n_threads, settings.n_ctx, settings.seed)

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

    def _segments(self, request: JudgeRequest) -> tuple[list[int], list[int]]:
        q = request.question
        system = self.prompt.render("system")
        head = self._tok(
            f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n", special=True
        )
        before, _, after = self.prompt.render(
            "context", question=q.text, reference=q.reference.text, answer="\x00"
        ).partition("\x00")
        shared = head + self._tok(before)
        # The answer is tokenised without special tokens: '<|im_end|>' in an answer stays text.
        answer = self._tok(request.answer) + self._tok(after + "\n\n")
        return shared, answer

    def _probe(self, section: str, description: str) -> list[int]:
        text = self.prompt.render(section, description=description.strip())
        return self._tok(text) + self._tok("<|im_end|>\n<|im_start|>assistant\n", special=True)

    def _p_yes(self, tokens: list[int]) -> float:
        llm = self._llm
        if len(tokens) > llm.n_ctx():
            raise JudgeError(
                f"prompt of {len(tokens)} tokens exceeds the judge context ({llm.n_ctx()}); "
                "raise GRADER_N_CTX or shorten the answer"
            )
        cached = llm.input_ids[: llm.n_tokens]
        k = 0
        for a, b in zip(cached, tokens, strict=False):
            if a != b:
                break
            k += 1
        k = min(k, len(tokens) - 1)  # always evaluate at least the last token for its logits
        llm.n_tokens = k
        llm.eval(tokens[k:])
        self.tokens_evaluated += len(tokens) - k
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(self._n_vocab,))  # type: ignore[no-untyped-call]
        return _p_yes_from_logits(logits, self._yes, self._no)

    def judge(self, request: JudgeRequest) -> JudgeResponse:
        rubric = request.question.rubric
        shared, answer = self._segments(request)
        base = shared + answer
        criteria: dict[str, CriterionJudgement] = {}
        miscon: dict[str, CriterionJudgement] = {}
        with self._lock:
            before = self.tokens_evaluated
            try:
                for c in rubric.criteria:
                    p = self._p_yes(base + self._probe("criterion", c.description))
                    criteria[c.id] = CriterionJudgement(p, request.hints.get(c.id))
                for m in rubric.misconceptions:
                    miscon[m.id] = CriterionJudgement(
                        self._p_yes(base + self._probe("misconception", m.description))
                    )
            except JudgeError:
                raise
            except Exception as exc:  # llama.cpp failures become an ungraded result
                self._llm.reset()  # type: ignore[no-untyped-call]
                raise JudgeError(f"local model failed: {exc}") from exc
            evaluated = self.tokens_evaluated - before
        return JudgeResponse(
            criteria,
            miscon,
            model=self.model,
            prompt_version=PROMPT,
            calls=len(criteria) + len(miscon),
            prompt_tokens=evaluated,
            completion_tokens=0,
        )


def _p_yes_from_logits(logits: Any, yes: list[int], no: list[int]) -> float:
    vals = np.asarray(logits, dtype=np.float64)
    top = float(vals.max())
    p_yes = float(np.exp(vals[yes] - top).sum())
    p_no = float(np.exp(vals[no] - top).sum())
    if not math.isfinite(p_yes + p_no) or p_yes + p_no <= 0:
        raise JudgeError("judge produced no usable yes/no probability")
    return p_yes / (p_yes + p_no)


__all__ = ["MODEL_FILE", "LocalJudge"]

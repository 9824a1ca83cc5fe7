"""Embedded judge: llama.cpp in-process, checklist style.

One yes/no probe per criterion and per misconception; P(yes) is read from the
logits of the last prompt token and mapped to P(met) by the fitted
:class:`~grader.grading.judges.calibration.ProbeCalibration`.  The prompt is
tokenised in segments (shared question part | answer | probe,
:mod:`.prompting`) and the KV cache keeps the longest common prefix
(:mod:`.runtime`), so the question part is evaluated once per question and the
answer once per answer, whatever the number of probes.  Raw logits are cached
on disk (:mod:`.logit_cache`), so a refitted calibration re-scores without the model.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import JudgeError
from grader.grading.judges.base import CriterionJudgement, JudgeRequest, JudgeResponse, Prompt
from grader.grading.judges.calibration import ProbeCalibration
from grader.grading.judges.local.logit_cache import LogitCache, probe_key
from grader.grading.judges.local.model_files import MODEL_FILE, Progress, ensure_model
from grader.grading.judges.local.prompting import (
    NO,
    YES,
    ChecklistPrompt,
    logit,
    p_yes_from_logits,
    single_token_ids,
)
from grader.grading.judges.local.runtime import LlamaRuntime
from grader.models import Question

if TYPE_CHECKING:
    from grader.config import JudgeSettings

PROMPT = "checklist-v4"


class LocalJudge:
    """Checklist judge on a local GGUF chat model (default: Qwen2.5-Coder-1.5B-Instruct)."""

    prompt_version = PROMPT
    max_parallel_calls = 1  # one answer at a time (the lock): grading/gate.py orders callers

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
        fence: bool = False,
    ) -> None:
        self.runtime = LlamaRuntime.load(
            model_path,
            n_threads=n_threads,
            n_ctx=n_ctx,
            seed=seed,
            parallel=parallel,
            prefix_cache_bytes=prefix_cache_mb * 2**20,
        )
        self.model = model_path.name.removesuffix(".gguf")
        self.name = f"local:{self.model}"
        self.prompt = ChecklistPrompt(Prompt.load(prompt), self.runtime.tokenize, fence)
        # The fence changes the prompt's tokens: its logits are cached apart.  The probe
        # calibration is the prompt's own (same probes; the effect is measured in the README).
        self.prompt_version = f"{prompt}+fence" if fence else prompt
        self.calibration = ProbeCalibration.load(self.model, prompt)
        self._cache = LogitCache(cache_dir / "probe-logits.sqlite") if cache_dir else None
        self._lock = threading.Lock()
        self._yes = single_token_ids(self.runtime.tokenize, YES)
        self._no = single_token_ids(self.runtime.tokenize, NO)

    @classmethod
    def from_settings(cls, settings: JudgeSettings, progress: Progress | None = None) -> LocalJudge:
        path = settings.local_model_path or ensure_model(settings.cache_dir, progress)
        return cls(
            path,
            settings.n_threads,
            settings.n_ctx,
            settings.seed,
            prompt=settings.local_prompt,
            cache_dir=settings.cache_dir,
            prefix_cache_mb=settings.prefix_cache_mb,
            fence=settings.judge_fence,
        )

    @property
    def tokens_evaluated(self) -> int:
        """Tokens the model has evaluated so far (restored and reused prefixes not counted)."""
        return self.runtime.tokens_evaluated

    # -- the Judge protocol ------------------------------------------------------------------

    def judge(self, request: JudgeRequest) -> JudgeResponse:
        with self._lock:
            self.runtime.check_open()
            before = self.runtime.tokens_evaluated
            try:
                logits = self._logits_for(request.question, request.answer)
            except JudgeError:
                raise
            except Exception as exc:  # llama.cpp failures become an ungraded result
                self.runtime.reset()
                raise JudgeError(f"local model failed: {exc}") from exc
            evaluated = self.runtime.tokens_evaluated - before
        return self._response(request, logits, evaluated)

    def ping(self) -> None:
        """The model is loaded and not closed (no evaluation: a grade may be running)."""
        self.runtime.check_open()

    def close(self) -> None:
        """Free the llama.cpp context and model and close the logit cache."""
        with self._lock:
            self.runtime.close()
            if self._cache is not None:
                self._cache.close()
                self._cache = None

    def is_cached(self, question: Question, answer: str) -> bool:
        """True when this answer's probe logits are in the cache (grading needs no model run)."""
        key = probe_key(self.model, self.prompt_version, question, answer)
        return self._cache is not None and self._cache.get(key) is not None

    # -- internals ---------------------------------------------------------------------------

    def _logits_for(self, question: Question, answer: str) -> list[float]:
        """logit P(yes) of every probe: criteria first, then misconceptions (cached)."""
        key = probe_key(self.model, self.prompt_version, question, answer)
        if self._cache is not None and (hit := self._cache.get(key)) is not None:
            return hit
        logits = self._evaluate(question, answer)
        if self._cache is not None:
            self._cache.put(key, logits)
        return logits

    def _evaluate(self, question: Question, answer: str) -> list[float]:
        """Run the model: the question's prefix, the answer, then every probe."""
        shared, answer_tokens = self.prompt.segments(question, answer)
        probes = self.prompt.probes(question)
        self.runtime.load_shared(shared)
        rows = self.runtime.probe_logits(shared + answer_tokens, probes)
        return [logit(p_yes_from_logits(row, self._yes, self._no)) for row in rows]

    def _response(
        self, request: JudgeRequest, logits: list[float], evaluated: int
    ) -> JudgeResponse:
        rubric = request.question.rubric
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


__all__ = ["MODEL_FILE", "LocalJudge"]

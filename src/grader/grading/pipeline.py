"""``Grader``: the one place where the stages are wired together.

request -> bank -> prefilter -> judge (only when needed) -> aggregate -> result -> store
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace

from grader.bank.loader import QuestionBank, load_bank
from grader.config import Settings, load_settings
from grader.errors import AnswerTooLargeError, InvalidAnswerError, JudgeError
from grader.grading.embeddings import Embedder, make_embedder
from grader.grading.judges import Judge, make_judge
from grader.grading.prefilter import BankIndex, Prefilter, PrefilterOutcome
from grader.grading.result_cache import ResultStore
from grader.grading.score_calibration import load_calibration
from grader.grading.scoring import Aggregate, aggregate, feedback_for, level_for
from grader.models import GradeResult, PrefilterInfo, Provenance, Question, Usage
from grader.text import strip_injections

log = logging.getLogger(__name__)


class Grader:
    """Grades answers against a bank.  Build once (models load here), grade many."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        bank: QuestionBank | None = None,
        embedder: Embedder | None = None,
        judge: Judge | str | None = "from-settings",
        store: ResultStore | None = None,
    ) -> None:
        self.settings = s = settings or load_settings()
        t0 = time.perf_counter()
        self.bank = bank or load_bank(s.bank_dir)
        self.calibration = load_calibration(s.calibration_path) if s.calibration_path else None
        self.embedder = embedder or make_embedder(s.embedder, s.n_threads, s.embed_dtype)
        self.index = BankIndex(self.bank, self.embedder, s.cache_dir)
        self.prefilter = Prefilter(self.index, self.embedder, s)
        self.judge: Judge | None = make_judge(s) if judge == "from-settings" else judge  # type: ignore[assignment]
        self.store = store if store is not None else ResultStore(s.database)
        self.load_seconds = round(time.perf_counter() - t0, 3)
        self.config_hash = self._config_hash()
        log.info(
            "grader ready in %.2fs: %d questions, embedder=%s, judge=%s, config=%s",
            self.load_seconds,
            len(self.bank),
            self.embedder.name,
            self.judge.name if self.judge else None,
            self.config_hash,
        )

    def _config_hash(self) -> str:
        parts = [
            self.bank.content_hash,
            self.settings.scoring_hash(),
            self.embedder.name,
            self.judge.name if self.judge else "none",
            self.judge.prompt_version if self.judge else "",
            self._judge_calibration(),
            self.calibration.digest if self.calibration else "",
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def _judge_calibration(self) -> str:
        """The local judge's probe calibration: a refit must not reuse cached results."""
        cal = getattr(self.judge, "calibration", None)
        return str(getattr(cal, "digest", ""))

    # ------------------------------------------------------------------ public

    def grade(self, question_id: str | int, answer: str) -> GradeResult:
        """Grade one answer.  Same input and configuration -> identical result."""
        question = self.bank.get(question_id)
        self._check_answer(answer)
        key = hashlib.sha256(f"{question.id}\0{self.config_hash}\0{answer}".encode()).hexdigest()
        cached = self.store.get(key)
        if cached is not None:
            cached.usage.cache_hit = True
            return cached
        result = self._grade(question, answer)
        if result.status != "ungraded":  # failures are retried next time, not cached
            self.store.save(key, result)
        return result

    def _check_answer(self, answer: object) -> None:
        if not isinstance(answer, str):
            raise InvalidAnswerError(f"answer must be text, got {type(answer).__name__}")
        if len(answer) > self.settings.max_answer_chars:
            raise AnswerTooLargeError(
                f"answer has {len(answer):,} characters; the limit is "
                f"{self.settings.max_answer_chars:,} (GRADER_MAX_ANSWER_CHARS). Shorten the answer."
            )

    # ------------------------------------------------------------------ stages

    def _grade(self, question: Question, answer: str) -> GradeResult:
        seconds: dict[str, float] = {}
        t = time.perf_counter()
        cleaned, injections = strip_injections(answer)
        flags = ["injection_attempt"] if injections else []
        pre = self.prefilter.check(question, cleaned if injections else answer)
        seconds["prefilter"] = round(time.perf_counter() - t, 4)
        if pre.short_circuit:
            return self._short_circuit(question, pre, flags, seconds)
        if self.judge is None:
            return self._ungraded(
                question,
                pre,
                "no judge configured (GRADER_JUDGE=none): only the prefilter ran",
                flags,
                seconds,
                Usage(),
            )
        t = time.perf_counter()
        try:
            judged = self.judge.judge(pre.judge_request(question, cleaned))
        except JudgeError as exc:
            seconds["judge"] = round(time.perf_counter() - t, 4)
            return self._ungraded(
                question,
                pre,
                f"judge failed: {exc}",
                flags,
                seconds,
                Usage(
                    judge_calls=max(exc.calls, 1),
                    prompt_tokens=exc.prompt_tokens,
                    completion_tokens=exc.completion_tokens,
                    cost_usd=exc.cost_usd,
                    seconds=seconds,
                ),
            )
        seconds["judge"] = round(time.perf_counter() - t, 4)
        t = time.perf_counter()
        raw = aggregate(question, cleaned, judged, pre, self.settings)
        agg = self._calibrated(question, raw)
        seconds["aggregate"] = round(time.perf_counter() - t, 4)
        reasons = [*agg.review_reasons, *judged.review_reasons]
        feedback = agg.feedback
        if pre.term_list:
            flags = [*flags, "term_list"]
            reasons.append(
                "the answer is a bare list of terms, not sentences: naming the rubric's terms "
                "was not counted as evidence of explaining them"
            )
            if feedback is not None:
                feedback = feedback.model_copy(
                    update={
                        "summary": feedback.summary + " It is a list of terms: explain each idea "
                        "in a sentence or two (what it is, how it works, why it matters)."
                    }
                )
        if injections:
            reasons.append(
                f"answer tried to instruct the grader ({len(injections)} sentence(s) "
                "ignored): " + " | ".join(s[:120] for s in injections)
            )
        return GradeResult(
            question_id=question.id,
            question_number=question.number,
            status="graded",
            score=agg.score,
            raw_score=raw.score,
            max_score=question.rubric.max_points,
            normalized=agg.normalized,
            level=agg.level,
            criteria=agg.criteria,
            misconceptions=agg.misconceptions,
            feedback=feedback,
            confidence=agg.confidence,
            needs_review=bool(reasons),
            review_reasons=reasons,
            flags=flags,
            prefilter=_pre_info(pre),
            provenance=self._provenance(question, judged.model, judged.prompt_version),
            usage=Usage(
                judge_calls=judged.calls,
                prompt_tokens=judged.prompt_tokens,
                completion_tokens=judged.completion_tokens,
                cost_usd=judged.cost_usd,
                seconds=seconds,
            ),
        )

    def _calibrated(self, question: Question, agg: Aggregate) -> Aggregate:
        """The aggregate with GRADER_CALIBRATION_PATH applied to its score (graded answers only)."""
        if self.calibration is None:
            return agg
        normalized = round(self.calibration.apply(agg.normalized), 4)
        score = round(normalized * question.rubric.max_points, 2)
        level = level_for(normalized)
        fb = feedback_for(question, agg.criteria, agg.misconceptions, score, level)
        return replace(agg, score=score, normalized=normalized, level=level, feedback=fb)

    def _short_circuit(
        self, question: Question, pre: PrefilterOutcome, flags: list[str], seconds: dict[str, float]
    ) -> GradeResult:
        from grader.grading.scoring import feedback_for

        rubric = question.rubric
        verdicts = [
            {
                "id": c.id,
                "description": c.description,
                "verdict": "not_met",
                "awarded": 0.0,
                "max_points": c.points,
            }
            for c in rubric.criteria
        ]
        result = GradeResult.model_validate(
            {
                "question_id": question.id,
                "question_number": question.number,
                "status": "short_circuited",
                "reason": pre.reason,
                "score": 0.0,
                "raw_score": 0.0,
                "max_score": rubric.max_points,
                "normalized": 0.0,
                "level": "none",
                "criteria": verdicts,
                "confidence": 1.0,
                "flags": flags,
                "needs_review": bool(flags),
                "review_reasons": ["answer tried to instruct the grader"] if flags else [],
                "prefilter": _pre_info(pre).model_dump(),
                "provenance": self._provenance(question, None, None).model_dump(),
                "usage": {"seconds": seconds},
            }
        )
        fb = feedback_for(question, result.criteria, [], 0.0, "none")
        fb.summary = f"Not graded by the judge: {pre.reason}. Score 0/{rubric.max_points:g}."
        result.feedback = fb
        return result

    def _ungraded(
        self,
        question: Question,
        pre: PrefilterOutcome,
        reason: str,
        flags: list[str],
        seconds: dict[str, float],
        usage: Usage,
    ) -> GradeResult:
        usage.seconds = seconds
        return GradeResult(
            question_id=question.id,
            question_number=question.number,
            status="ungraded",
            reason=reason,
            max_score=question.rubric.max_points,
            needs_review=True,
            review_reasons=[reason],
            flags=flags,
            prefilter=_pre_info(pre),
            provenance=self._provenance(question, None, None),
            usage=usage,
        )

    def _provenance(self, question: Question, model: str | None, prompt: str | None) -> Provenance:
        return Provenance(
            bank_hash=self.bank.content_hash,
            rubric_version=question.rubric.version,
            prompt_version=prompt or (self.judge.prompt_version if self.judge else None),
            embedder=self.embedder.name,
            judge=self.judge.name if self.judge else None,
            judge_model=model,
            seed=self.settings.seed,
            config_hash=self.config_hash,
            calibration=self.calibration.name if self.calibration else None,
        )


def _pre_info(pre: PrefilterOutcome) -> PrefilterInfo:
    return PrefilterInfo(
        decision="short_circuit" if pre.short_circuit else "judge",
        code=pre.reason_code,
        reason=pre.reason,
        reference_similarity=pre.reference_similarity,
        question_similarity=pre.question_similarity,
        best_other_question=pre.best_other_question,
        best_other_similarity=pre.best_other_similarity,
    )

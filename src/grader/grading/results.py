"""The one place a ``GradeResult`` (and its ``Provenance``) is built.

Three kinds, told apart by ``status`` and never by ``score``:

``graded``           the judge ran; points, level, verdicts and feedback from scoring.
``short_circuited``  the prefilter decided (empty, off-topic, ...): 0 points and its reason.
``ungraded``         no verdict (judge failed or none configured, or the caller could not
                     grade): a reason, flagged for review, and never a score.

Every result is stamped with the same :class:`Provenance` (bank, rubric and prompt
versions, embedder, judge, seed, configuration hash and score calibration), so any
grade can be replayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grader.grading.guard import Guarded
from grader.grading.judges.base import JudgeResponse
from grader.grading.prefilter import PrefilterOutcome
from grader.grading.scoring import Scored, feedback_for
from grader.models import (
    CriterionVerdict,
    GradeResult,
    PrefilterInfo,
    Provenance,
    Question,
    Usage,
)

TERM_LIST_FLAG = "term_list"
NOTHING_FOUND = Guarded("", "")


@dataclass(frozen=True)
class Subject:
    """What a result says about its question: enough to build one when the bank no longer
    has the question (a resumed transcript job)."""

    id: str
    number: int
    max_score: float
    rubric_version: int

    @classmethod
    def of(cls, question: Question) -> Subject:
        rubric = question.rubric
        return cls(question.id, question.number, rubric.max_points, rubric.version)


@dataclass(frozen=True)
class ResultBuilder:
    """Builds the results of one configuration; ``Grader.results`` gives the current one."""

    bank_hash: str
    embedder: str
    judge: str | None
    prompt_version: str | None  # the judge's; a graded result stamps the one it used
    seed: int
    config_hash: str
    calibration: str | None  # the score calibration's name (GRADER_CALIBRATION_PATH)

    def provenance(self, rubric_version: int, judged: JudgeResponse | None = None) -> Provenance:
        """The stamp of one result; ``judged`` names the model and prompt that judged it."""
        return Provenance(
            bank_hash=self.bank_hash,
            rubric_version=rubric_version,
            prompt_version=(judged.prompt_version if judged else None) or self.prompt_version,
            embedder=self.embedder,
            judge=self.judge,
            judge_model=judged.model if judged else None,
            seed=self.seed,
            config_hash=self.config_hash,
            calibration=self.calibration,
        )

    def graded(
        self,
        question: Question,
        pre: PrefilterOutcome,
        judged: JudgeResponse,
        scored: Scored,
        guarded: Guarded,
        seconds: dict[str, float],
    ) -> GradeResult:
        """An answer the judge saw, scored; ``guarded`` says what was taken out of it first."""
        flags = _flags(guarded, [TERM_LIST_FLAG] if pre.term_list else [])
        reasons = list(scored.review_reasons) + guarded.review_reasons
        feedback = scored.feedback
        if guarded.advice:
            feedback = feedback.model_copy(
                update={"summary": f"{feedback.summary} {guarded.advice}".strip()}
            )
        return GradeResult(
            question_id=question.id,
            question_number=question.number,
            status="graded",
            score=scored.score,
            raw_score=scored.raw_score,
            max_score=question.rubric.max_points,
            normalized=scored.normalized,
            level=scored.level,
            criteria=scored.criteria,
            misconceptions=scored.misconceptions,
            feedback=feedback,
            confidence=scored.confidence,
            needs_review=bool(reasons),
            review_reasons=reasons,
            flags=flags,
            prefilter=prefilter_info(pre),
            provenance=self.provenance(question.rubric.version, judged),
            usage=Usage(
                judge_calls=judged.calls,
                prompt_tokens=judged.prompt_tokens,
                completion_tokens=judged.completion_tokens,
                cost_usd=judged.cost_usd,
                seconds=seconds,
            ),
        )

    def short_circuited(
        self,
        question: Question,
        pre: PrefilterOutcome,
        guarded: Guarded,
        seconds: dict[str, float],
    ) -> GradeResult:
        """An answer the prefilter decided: every criterion not met, 0 points, its reason."""
        rubric = question.rubric
        verdicts = [
            CriterionVerdict(
                id=c.id,
                description=c.description,
                verdict="not_met",
                awarded=0.0,
                max_points=c.points,
            )
            for c in rubric.criteria
        ]
        feedback = feedback_for(question, verdicts, [], 0.0, "none")
        feedback.summary = f"Not graded by the judge: {pre.reason}. Score 0/{rubric.max_points:g}."
        return GradeResult(
            question_id=question.id,
            question_number=question.number,
            status="short_circuited",
            reason=pre.reason,
            score=0.0,
            raw_score=0.0,
            max_score=rubric.max_points,
            normalized=0.0,
            level="none",
            criteria=verdicts,
            feedback=feedback,
            confidence=1.0,
            needs_review=bool(guarded.findings),
            review_reasons=guarded.review_reasons,
            flags=_flags(guarded),
            prefilter=prefilter_info(pre),
            provenance=self.provenance(rubric.version),
            usage=Usage(seconds=seconds),
        )

    def ungraded(
        self,
        subject: Subject,
        reason: str,
        *,
        pre: PrefilterOutcome | None = None,
        guarded: Guarded = NOTHING_FOUND,
        usage: Usage | None = None,
    ) -> GradeResult:
        """No verdict: the reason, flagged for review, no score (kept out of averages)."""
        return GradeResult(
            question_id=subject.id,
            question_number=subject.number,
            status="ungraded",
            reason=reason,
            max_score=subject.max_score,
            needs_review=True,
            review_reasons=[reason],
            flags=_flags(guarded),
            prefilter=prefilter_info(pre) if pre is not None else None,
            provenance=self.provenance(subject.rubric_version),
            usage=usage or Usage(),
        )


def prefilter_info(pre: PrefilterOutcome) -> PrefilterInfo:
    """What a result reports of the prefilter's decision and measures."""
    return PrefilterInfo(
        decision=pre.decision,
        code=pre.reason_code,
        reason=pre.reason,
        reference_similarity=pre.reference_similarity,
        question_similarity=pre.question_similarity,
        best_other_question=pre.best_other_question,
        best_other_similarity=pre.best_other_similarity,
    )


def _flags(guarded: Guarded, extra: Sequence[str] = ()) -> list[str]:
    return list(dict.fromkeys([*guarded.flags, *extra]))

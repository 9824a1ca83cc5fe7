"""Pydantic types at every boundary: bank files in, grade results out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[a-z0-9][a-z0-9-]*$"

Verdict = Literal["met", "partial", "not_met"]
Status = Literal["graded", "short_circuited", "ungraded"]
Level = Literal["excellent", "good", "partial", "weak", "none"]
FeedbackLevel = Literal["full", "hints", "score"]  # what a caller sees of a grade (api/policy.py)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Criterion(_Strict):
    """One checkable idea a good answer contains."""

    id: str = Field(pattern=ID_PATTERN, description="Unique within the rubric, kebab-case.")
    description: str = Field(min_length=1, description="A checkable statement of one idea.")
    points: float = Field(gt=0, description="Points awarded when the criterion is fully met.")
    partial_credit: str | None = Field(
        default=None, description="What earns part of the points; absent means all or nothing."
    )


class Misconception(_Strict):
    """A wrong belief that costs points when an answer states it."""

    id: str = Field(pattern=ID_PATTERN)
    description: str = Field(min_length=1)
    penalty: float = Field(ge=0, description="Points subtracted when present.")
    correction: str = Field(min_length=1, description="One sentence the candidate should read.")


class Rubric(_Strict):
    """A rubric file: ``rubrics/<id>.yaml``."""

    id: str = Field(pattern=ID_PATTERN, description="Question id; equals the file stem.")
    number: int = Field(gt=0, description="Unique question number in the bank.")
    question: str = Field(min_length=1)
    topics: list[str] = Field(default_factory=list, description="Topic tags for roll-ups.")
    version: int = Field(ge=1, description="Bump whenever a change would change scores.")
    max_points: float = Field(gt=0)
    criteria: list[Criterion] = Field(min_length=1)
    misconceptions: list[Misconception] = Field(default_factory=list)
    scoring: Literal["bands", "expected"] = Field(
        default="bands",
        description="'bands': a criterion earns all, half (where partial_credit allows) or none "
        "of its points by the judge's probability; 'expected': points x probability in half-point "
        "steps, for coarse rubrics such as one criterion 'matches the reference answer'.",
    )


class ReferenceAnswer(_Strict):
    """A reference answer file: ``reference_answers/<id>.md`` with front matter."""

    question_id: str = Field(pattern=ID_PATTERN)
    text: str = Field(min_length=1)


class Question(_Strict):
    """A bank question: its rubric and its reference answer."""

    rubric: Rubric
    reference: ReferenceAnswer

    @property
    def id(self) -> str:
        return self.rubric.id

    @property
    def number(self) -> int:
        return self.rubric.number

    @property
    def text(self) -> str:
        return self.rubric.question


# --------------------------------------------------------------------------- results


class CriterionVerdict(BaseModel):
    id: str
    description: str
    verdict: Verdict
    awarded: float
    max_points: float
    probability: float | None = Field(
        default=None, description="Judge's P(criterion met); None when the judge did not run."
    )
    similarity: float | None = Field(
        default=None, description="Embedding similarity of the best-matching answer sentence."
    )
    evidence: str | None = Field(
        default=None, description="Sentence quoted verbatim from the answer."
    )


class MisconceptionFinding(BaseModel):
    id: str
    description: str
    penalty: float
    correction: str
    probability: float | None = None
    evidence: str | None = None


class Feedback(BaseModel):
    summary: str
    strengths: list[str] = Field(default_factory=list)
    to_add: list[str] = Field(default_factory=list, description="Rubric points the answer missed.")
    corrections: list[str] = Field(default_factory=list)


class PrefilterInfo(BaseModel):
    decision: Literal["short_circuit", "judge"]
    code: str = Field(
        description="empty, not_text, too_short, copied_question, off_topic, needs_judge"
    )
    reason: str
    reference_similarity: float | None = None
    question_similarity: float | None = None
    best_other_question: str | None = None
    best_other_similarity: float | None = None


class Provenance(BaseModel):
    bank_hash: str
    rubric_version: int
    prompt_version: str | None
    embedder: str
    judge: str | None
    judge_model: str | None = None
    seed: int
    config_hash: str
    calibration: str | None = None


class Usage(BaseModel):
    judge_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    seconds: dict[str, float] = Field(default_factory=dict)
    cache_hit: bool = False


class GradeResult(BaseModel):
    """What the grader says about one answer.

    ``status`` is kept apart from ``score``: an *ungraded* result carries a
    reason and no score, and never counts in an average.
    """

    question_id: str
    question_number: int
    status: Status
    reason: str | None = Field(default=None, description="Why short-circuited or ungraded.")
    score: float | None = None
    raw_score: float | None = Field(
        default=None, description="Score before GRADER_CALIBRATION_PATH was applied."
    )
    max_score: float
    normalized: float | None = Field(default=None, description="score / max_score in [0, 1].")
    level: Level | None = None
    criteria: list[CriterionVerdict] = Field(default_factory=list)
    misconceptions: list[MisconceptionFinding] = Field(default_factory=list)
    feedback: Feedback | None = None
    confidence: float | None = Field(default=None, description="0..1, how sure the grader is.")
    needs_review: bool = False
    review_reasons: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list, description="e.g. injection_attempt")
    prefilter: PrefilterInfo | None = None
    provenance: Provenance
    usage: Usage = Field(default_factory=Usage)

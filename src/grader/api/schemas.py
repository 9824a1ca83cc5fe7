"""Request and response bodies of the HTTP API, with the examples shown in /docs.

Request models are separate from the library's result models: ``GradeResponse``
is the library's ``GradeResult`` plus the caller's own ``candidate_id`` and
``metadata`` echoed back.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from grader.models import Criterion, GradeResult, Misconception, Question
from grader.text import METADATA_MAX_BYTES, METADATA_MAX_DEPTH, has_lone_surrogate, json_problem

# Error types of the request validators below (see api/errors.py).
BAD_ENCODING = "bad_encoding"
METADATA_LIMIT = "metadata_limit"

GOOD_ANSWER = (
    "Dropout randomly sets a fraction of activations to zero during training, at every step. "
    "It is active only during training and disabled at inference time. "
    "This prevents co-adaptation of units and acts like averaging many thinned networks."
)


class GradeBody(BaseModel):
    """One answer to grade.  Name the question by ``question_id`` *or* ``question_number``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            # exactly one of the two, not null
            "oneOf": [
                {"required": ["question_id"], "properties": {"question_id": {"type": "string"}}},
                {
                    "required": ["question_number"],
                    "properties": {"question_number": {"type": "integer"}},
                },
            ],
            "examples": [{"question_id": "q01-dropout", "answer": GOOD_ANSWER}],
        },
    )

    question_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Bank id such as 'q01-dropout' (see GET /v1/questions).",
    )
    question_number: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Bank number such as 1."
    )
    answer: str = Field(
        description="The candidate's answer as plain text. An empty answer is graded (0 points)."
    )
    candidate_id: str | None = Field(
        default=None, max_length=200, description="Your id for the candidate; echoed back."
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description=f"Anything you want echoed back; never used to score. At most "
        f"{METADATA_MAX_DEPTH} levels deep and {METADATA_MAX_BYTES:,} bytes as JSON.",
    )

    @field_validator("question_id", "answer", "candidate_id", mode="before")
    @classmethod
    def _valid_unicode(cls, value: Any) -> Any:
        if isinstance(value, str) and has_lone_surrogate(value):
            raise PydanticCustomError(
                BAD_ENCODING, "holds a lone surrogate (such as \\ud800): send valid Unicode text"
            )
        return value

    @field_validator("question_number", mode="before")
    @classmethod
    def _json_integer(cls, value: Any) -> Any:
        # JSON Schema's integer (1 or 1.0), not pydantic's lax int: true or "1" is no number
        if isinstance(value, bool | str):
            raise PydanticCustomError("int_type", "must be a JSON integer such as 1")
        return value

    @field_validator("metadata", mode="before")
    @classmethod
    def _bounded_metadata(cls, value: Any) -> Any:
        problem = json_problem(value, "metadata", max_depth=METADATA_MAX_DEPTH)
        if problem is not None:
            kind = BAD_ENCODING if problem.encoding else METADATA_LIMIT
            raise PydanticCustomError(
                kind, "{where} {what}", {"where": problem.where, "what": problem.message}
            )
        size = len(json.dumps(value, ensure_ascii=False).encode())
        if size > METADATA_MAX_BYTES:
            raise PydanticCustomError(
                METADATA_LIMIT,
                "metadata is {size} bytes as JSON, over the limit of {limit}: send less",
                {"size": f"{size:,}", "limit": f"{METADATA_MAX_BYTES:,}"},
            )
        return value

    @model_validator(mode="after")
    def _one_question(self) -> GradeBody:
        if self.question_id is None and self.question_number is None:
            raise ValueError("give question_id (e.g. 'q01-dropout') or question_number (e.g. 1)")
        if self.question_id is not None and self.question_number is not None:
            raise ValueError("give question_id or question_number, not both")
        return self

    @property
    def question_key(self) -> str | int:
        if self.question_id is not None:
            return self.question_id
        assert self.question_number is not None  # guaranteed by _one_question
        return self.question_number


class GradeResponse(GradeResult):
    """The grade of one answer (``GradeResult``) and what the caller sent along with it."""

    candidate_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


GRADE_EXAMPLE: dict[str, Any] = {
    "question_id": "q01-dropout",
    "question_number": 1,
    "status": "graded",
    "score": 7.0,
    "max_score": 10.0,
    "normalized": 0.7,
    "level": "good",
    "criteria": [
        {
            "id": "random-zeroing",
            "description": "States that dropout randomly sets a fraction of activations to zero.",
            "verdict": "met",
            "awarded": 4.0,
            "max_points": 4.0,
            "probability": 0.93,
            "similarity": 0.8,
            "evidence": "Dropout randomly sets a fraction of activations to zero during training.",
        },
        {
            "id": "why-it-helps",
            "description": "Explains that dropout prevents co-adaptation of units.",
            "verdict": "not_met",
            "awarded": 0.0,
            "max_points": 3.0,
            "probability": 0.12,
        },
    ],
    "feedback": {
        "summary": "Good answer: 7/10. It covers 2 of 3 rubric points.",
        "strengths": ["States that dropout randomly sets a fraction of activations to zero."],
        "to_add": ["Explains that dropout prevents co-adaptation of units."],
    },
    "confidence": 0.81,
    "prefilter": {
        "decision": "judge",
        "code": "needs_judge",
        "reason": "passed to the judge",
        "reference_similarity": 0.63,
    },
    "provenance": {
        "bank_hash": "27b4545e272eb124",
        "rubric_version": 1,
        "prompt_version": "checklist-v1",
        "embedder": "all-MiniLM-L6-v2",
        "judge": "local",
        "judge_model": "qwen2.5-coder-1.5b-instruct-q4_k_m",
        "seed": 0,
        "config_hash": "0f48d82d900f7df9",
    },
    "usage": {"judge_calls": 4, "seconds": {"prefilter": 0.02, "judge": 1.8, "aggregate": 0.001}},
    "candidate_id": "cand-042",
    "metadata": {"interview": "2024-05-01"},
}


# --------------------------------------------------------------------------- bank


class QuestionSummary(BaseModel):
    id: str
    number: int
    question: str
    topics: list[str]
    version: int = Field(description="Rubric version; bumped whenever scores would change.")
    max_points: float


class QuestionList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "count": 1,
                    "questions": [
                        {
                            "id": "q01-dropout",
                            "number": 1,
                            "question": "What are dropout layers, and how do they help?",
                            "topics": ["regularization"],
                            "version": 1,
                            "max_points": 10,
                        }
                    ],
                }
            ]
        }
    )

    count: int
    questions: list[QuestionSummary]


class QuestionDetail(QuestionSummary):
    """A bank question.  The operator may hide the rubric and/or the reference answer."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "q01-dropout",
                    "number": 1,
                    "question": "What are dropout layers, and how do they help?",
                    "topics": ["regularization"],
                    "version": 1,
                    "max_points": 10,
                    "criteria": None,
                    "misconceptions": None,
                    "reference_answer": None,
                    "hidden": ["rubric", "reference_answer"],
                }
            ]
        }
    )

    criteria: list[Criterion] | None = Field(description="None when the rubric is hidden.")
    misconceptions: list[Misconception] | None = Field(description="None when hidden.")
    reference_answer: str | None = Field(description="None when the reference is hidden.")
    hidden: list[Literal["rubric", "reference_answer"]] = Field(
        description="What the operator hides (GRADER_EXPOSE_RUBRIC, GRADER_EXPOSE_REFERENCE)."
    )


def summary_of(q: Question) -> QuestionSummary:
    r = q.rubric
    return QuestionSummary(
        id=q.id,
        number=q.number,
        question=q.text,
        topics=list(r.topics),
        version=r.version,
        max_points=r.max_points,
    )


def detail_of(q: Question, *, rubric: bool, reference: bool) -> QuestionDetail:
    hidden: list[Literal["rubric", "reference_answer"]] = []
    if not rubric:
        hidden.append("rubric")
    if not reference:
        hidden.append("reference_answer")
    return QuestionDetail(
        **summary_of(q).model_dump(),
        criteria=list(q.rubric.criteria) if rubric else None,
        misconceptions=list(q.rubric.misconceptions) if rubric else None,
        reference_answer=q.reference.text if reference else None,
        hidden=hidden,
    )


# --------------------------------------------------------------------------- health


class Health(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "ok"}]})

    status: Literal["ok"]


class Check(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "ready",
                    "checks": {
                        "bank": {"ok": True, "detail": "46 questions (hash 27b4545e272eb124)"},
                        "embedder": {"ok": True, "detail": "all-MiniLM-L6-v2 loaded"},
                        "judge": {"ok": True, "detail": "local (in-process) loaded"},
                    },
                    "queue": {"in_flight": 0, "max_queue": 64, "workers": 2},
                    "jobs": {
                        "answers_queued": 92,
                        "jobs_queued": 1,
                        "jobs_running": 1,
                        "rejected": 3,
                        "max_answers": 1000,
                        "max_answers_per_key": 300,
                        "ms_per_answer": 4100,
                        "judge_waiting_interactive": 0,
                        "judge_waiting_jobs": 3,
                    },
                    "load_seconds": 17.3,
                }
            ]
        }
    )

    status: Literal["ready", "not_ready"]
    checks: dict[str, Check]
    queue: dict[str, int] = Field(
        default_factory=dict, description="Single answers (POST /v1/grade) in the pool."
    )
    jobs: dict[str, int] = Field(
        default_factory=dict,
        description="Transcript jobs: answers still to grade, jobs queued and running, posts "
        "refused (429/503), the bounds, and judge calls waiting per lane.",
    )
    load_seconds: float | None = None


# --------------------------------------------------------------------------- errors


class FieldProblem(BaseModel):
    field: str = Field(description="Where, e.g. 'body.answer' or 'header.Idempotency-Key'.")
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. 'unknown_question'.")
    message: str = Field(description="What went wrong and how to fix it.")
    request_id: str | None = Field(default=None, description="Quote it when reporting a bug.")
    fields: list[FieldProblem] = Field(default_factory=list)


class ErrorBody(BaseModel):
    error: ErrorDetail

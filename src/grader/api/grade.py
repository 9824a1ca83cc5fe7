"""``POST /v1/grade``: grade one answer.

Cheap checks run on the event loop (``Grader.accept``: question lookup and size
limit; then idempotency); the grading itself runs in the bounded :class:`GradingPool`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from grader.api.deps import (
    ApiState,
    FeedbackLevelDep,
    GradeKey,
    GraderDep,
    PoolDep,
    StateDep,
    require_utf8_body,
)
from grader.api.errors import error_responses
from grader.api.idempotency import fingerprint, scoped_key
from grader.api.policy import redact_result
from grader.api.pool import GradingPool
from grader.api.schemas import GOOD_ANSWER, GRADE_EXAMPLE, GradeBody, GradeResponse
from grader.errors import IdempotencyConflictError, OverloadedError
from grader.grading.pipeline import Grader, Submission
from grader.models import GradeResult

log = logging.getLogger("grader.api.grade")
router = APIRouter(prefix="/v1", tags=["grading"])

_BODY_EXAMPLES: dict[str, Any] = {
    "by id": {
        "summary": "A good answer, question by id",
        "value": {"question_id": "q01-dropout", "answer": GOOD_ANSWER, "candidate_id": "cand-042"},
    },
    "by number": {
        "summary": "Question by number, with metadata",
        "value": {
            "question_number": 1,
            "answer": "Dropout turns off random neurons while training so the net overfits less.",
            "metadata": {"interview": "2024-05-01"},
        },
    },
    "empty": {
        "summary": "An empty answer (decided by the prefilter: 0 points)",
        "value": {"question_id": "q01-dropout", "answer": ""},
    },
}

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="Retry-safe key: the same key and body return the stored result "
        "(header Idempotent-Replayed: true); the same key with another body is a 409.",
        examples=["4c1f2a7e-retry-safe"],
    ),
]


@router.post(
    "/grade",
    summary="Grade one answer",
    description="Scores the answer against the question's rubric and reference answer, with "
    "per-criterion verdicts, evidence quoted from the answer and feedback. "
    "`status` is `graded`, `short_circuited` (decided by the prefilter, e.g. empty or "
    "off-topic) or `ungraded` (the judge failed: no score, a reason; retry later).",
    response_model=GradeResponse,
    dependencies=[Depends(require_utf8_body)],
    responses={
        200: {
            "description": "The grade.",
            "content": {"application/json": {"example": GRADE_EXAMPLE}},
        },
        **error_responses(400, 401, 404, 409, 413, 415, 422, 503),
    },
)
async def grade(
    request: Request,
    _key: GradeKey,
    level: FeedbackLevelDep,
    state: StateDep,
    grader: GraderDep,
    pool: PoolDep,
    body: Annotated[GradeBody, Body(openapi_examples=_BODY_EXAMPLES)],
    idempotency_key: IdempotencyKey = None,
) -> Response:
    # 404 / 413 before the pool; each key has its own result cache, so neither the result
    # nor usage.cache_hit tells one caller what another sent (the principal is a hash of the key)
    auth = state.settings.api_keys or state.settings.grade_only_keys
    submission = grader.accept(body.question_key, body.answer, partition=_key if auth else "")
    call = _Call(request, state, grader, pool, submission, body)
    if idempotency_key is None:
        payload, replayed = (await _grade(call))[0], False
    else:
        payload, replayed = await _idempotent(call, scoped_key(_key, idempotency_key))
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    if level != "full":  # the full result is stored; the caller sees its level's view
        full = GradeResponse.model_validate_json(payload)
        payload = redact_result(full, submission.question, level).model_dump_json()
    return Response(payload, media_type="application/json", headers=headers)


@dataclass(frozen=True)
class _Call:
    """One validated grade request and what it needs."""

    request: Request
    state: ApiState
    grader: Grader
    pool: GradingPool
    submission: Submission
    body: GradeBody


async def _grade(call: _Call) -> tuple[str, GradeResult]:
    """Grade in the pool; returns the response JSON and the result."""
    metrics, body = call.state.metrics, call.body
    t0 = time.perf_counter()
    try:
        result = await call.pool.run(call.grader.grade_submission, call.submission)
    except OverloadedError:
        metrics.rejected.inc()
        raise
    seconds = time.perf_counter() - t0
    metrics.observe_grade(result, seconds)
    _log_grade(call, result, seconds)
    response = GradeResponse(
        **result.model_dump(), candidate_id=body.candidate_id, metadata=body.metadata
    )
    return response.model_dump_json(), result


async def _idempotent(call: _Call, key: str) -> tuple[str, bool]:
    """Replay the stored response for ``key``, or grade and store it."""
    state, body = call.state, call.body
    store = state.idempotency
    assert store is not None
    fp = fingerprint(
        {
            "question_id": call.submission.question.id,
            **body.model_dump(include={"answer", "candidate_id", "metadata"}),
        }
    )
    async with store.locks.hold(key):  # concurrent retries with one key grade once
        stored = await run_in_threadpool(store.get, key)
        if stored is not None:
            if stored.fingerprint != fp:
                raise IdempotencyConflictError(
                    "this Idempotency-Key was used with a different request body: "
                    "use a new key for a new request"
                )
            state.metrics.idempotent_replays.inc()
            return stored.body, True
        payload, result = await _grade(call)
        if result.status != "ungraded":  # a failure is graded again on retry, not replayed
            await run_in_threadpool(store.put, key, fp, payload)
        return payload, False


def _log_grade(call: _Call, result: GradeResult, seconds: float) -> None:
    body = call.body
    fields: dict[str, Any] = {
        "request_id": call.request.scope.get("state", {}).get("request_id"),
        "question_id": result.question_id,
        "candidate_id": body.candidate_id,
        "status": result.status,
        "score": result.score,
        "max_score": result.max_score,
        "needs_review": result.needs_review,
        "cache_hit": result.usage.cache_hit,
        "judge_calls": result.usage.judge_calls,
        "answer_chars": len(body.answer),
        "ms": round(seconds * 1000, 1),
    }
    if call.state.settings.log_answers:
        fields["answer"] = body.answer
    log.info(
        "graded %s: %s %s/%g",
        result.question_id,
        result.status,
        "-" if result.score is None else f"{result.score:g}",
        result.max_score,
        extra={"fields": fields},
    )

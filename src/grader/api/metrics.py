"""``GET /metrics``: the app's Prometheus metrics (:class:`grader.api.telemetry.Metrics`)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4

from grader.api.deps import ReadKey, StateDep
from grader.api.errors import error_responses

router = APIRouter(tags=["operations"])

_EXAMPLE = """# HELP grader_grades_total Answers graded, by result status.
# TYPE grader_grades_total counter
grader_grades_total{status="graded"} 12.0
grader_grades_total{status="short_circuited"} 3.0
"""


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Request counts and latencies, grades by status, judge calls, cache hits, "
    "queue depth, the transcript job backlog and its refusals, judge calls waiting. "
    "Needs a full API key when keys are configured.",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"example": _EXAMPLE}}, "description": "Metrics."},
        **error_responses(401, 403),
    },
)
async def metrics(state: StateDep, _key: ReadKey) -> Response:
    runner, grader = state.transcript_jobs, state.grader
    text = state.metrics.render(
        state.pool,
        runner.backlog.state() if runner is not None else None,
        grader.judge_gate.state() if grader is not None else None,
    )
    return Response(text, media_type=CONTENT_TYPE_PLAIN_0_0_4)

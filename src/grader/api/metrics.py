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
    "queue depth. Needs a full API key when keys are configured.",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"example": _EXAMPLE}}, "description": "Metrics."},
        **error_responses(401, 403),
    },
)
async def metrics(state: StateDep, _key: ReadKey) -> Response:
    return Response(state.metrics.render(state.pool), media_type=CONTENT_TYPE_PLAIN_0_0_4)

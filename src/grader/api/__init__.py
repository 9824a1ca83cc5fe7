"""The HTTP API (FastAPI): ``create_app(settings=None, grader=None)``.

Modules, one concern each::

    app.py          factory, lifespan (models load once), router list, OpenAPI tweaks
    deps.py         shared state, dependencies and API-key checks (Annotated aliases)
    middleware.py   request id, body size limit, access log, metrics, 500s
    errors.py       GraderError / validation errors -> {"error": {"code", "message"}}
    pool.py         bounded thread pool for CPU-bound grading (503 + Retry-After when full)
    idempotency.py  stored responses for Idempotency-Key (SQLite, next to the result cache)
    policy.py       feedback levels (full / hints / score): the view of a grade a key may see
    telemetry.py    Prometheus metrics of one app (the collectors)
    metrics.py      GET /metrics
    grade.py        POST /v1/grade
    questions.py    GET /v1/questions, GET /v1/questions/{key}
    health.py       GET /healthz, GET /readyz
    transcripts.py  /v1/transcripts: whole interviews graded as background jobs
    server.py       run under uvicorn (``grader serve``)

To add routes: define ``router = APIRouter(prefix="/v1")`` in a new module, take
``GradeKey``/``ReadKey``, ``GraderDep`` and ``PoolDep`` from ``deps``, and add the
router to ``app.ROUTERS``.
"""

from __future__ import annotations

from grader.api.app import ROUTERS, create_app

__all__ = ["ROUTERS", "create_app"]

"""The app factory: ``create_app(settings=None, grader=None)``.

Models load once, in the lifespan (not per request); the routers are listed in
:data:`ROUTERS`, so adding one is an import and a list entry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi

from grader.api import errors, grade, health, metrics, questions, transcripts
from grader.api.deps import ApiState
from grader.api.idempotency import IdempotencyStore
from grader.api.middleware import RequestContextMiddleware
from grader.api.pool import GradingPool
from grader.api.pruning import BackgroundPruning
from grader.api.telemetry import Metrics
from grader.config import Settings, get_settings
from grader.errors import GraderError
from grader.grading.pipeline import Grader

log = logging.getLogger("grader.api")

# Every route of the API, in the order of the OpenAPI document.
ROUTERS: list[APIRouter] = [
    health.router,
    grade.router,
    questions.router,
    metrics.router,
    transcripts.router,
]

DESCRIPTION = """Grades free-text answers to neural-network interview questions against
each question's rubric and reference answer.

Errors are JSON `{"error": {"code": ..., "message": ..., "request_id": ...}}` with a stable
`code`. When the operator configures API keys, send `Authorization: Bearer <key>`.
"""

TAGS = [
    {"name": "grading", "description": "Grade answers."},
    {"name": "bank", "description": "The question bank (rubrics may be hidden)."},
    {"name": "operations", "description": "Health, readiness and metrics."},
]


def _version() -> str:
    try:
        return version("grader")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0"


def create_app(
    settings: Settings | None = None,
    grader: Grader | None = None,
    *,
    public_url: str | None = None,
) -> FastAPI:
    """Build the API.  Pass ``grader`` to serve an already built one (tests, benchmarks)."""
    settings = settings or (grader.settings if grader is not None else get_settings())
    collectors = Metrics()
    app = FastAPI(
        title="grader",
        version=_version(),
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=_lifespan,
    )
    app.state.api = ApiState(
        settings=settings, metrics=collectors, grader=grader, public_url=public_url
    )
    for router in ROUTERS:
        app.include_router(router)
    errors.install(app)
    app.add_middleware(
        RequestContextMiddleware,
        metrics=collectors,
        max_body_bytes=settings.max_answer_chars * 6 + 64 * 1024,  # \uXXXX escapes + fields
        body_timeout=settings.body_timeout_seconds,
    )
    app.openapi = lambda: _openapi(app, settings)  # type: ignore[method-assign]
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: ApiState = app.state.api
    s = state.settings
    t0 = time.perf_counter()
    owns_grader = state.grader is None  # an injected grader is closed by its owner
    if state.grader is None:
        try:
            state.grader = await asyncio.to_thread(Grader, s)
        except GraderError as exc:
            log.error("start-up failed: %s", exc, extra={"fields": {"code": exc.code}})
            raise
    grader: Grader = state.grader
    state.pool = GradingPool(s.api_workers, s.max_queue)
    state.idempotency = IdempotencyStore(s.database, s.idempotency_ttl_hours * 3600)
    pruning = BackgroundPruning(grader.store, state.idempotency, s.storage).start()
    state.load_seconds = round(time.perf_counter() - t0, 3)
    _log_ready(state, grader)
    state.ready = True
    try:
        yield
    finally:
        state.ready = False
        await pruning.stop()
        state.pool.shutdown()
        state.idempotency.close()
        if owns_grader:
            grader.close()
        log.info("stopped")


def _log_ready(state: ApiState, grader: Grader) -> None:
    judge = grader.judge.name if grader.judge else "none"
    docs = f"; interactive docs at {state.public_url}/docs" if state.public_url else ""
    log.info(
        "ready in %.2fs: %d questions, embedder %s, judge %s%s",
        state.load_seconds,
        len(grader.bank),
        grader.embedder.name,
        judge,
        docs,
        extra={
            "fields": {
                "load_seconds": state.load_seconds,
                "questions": len(grader.bank),
                "bank_hash": grader.bank.content_hash,
                "embedder": grader.embedder.name,
                "judge": judge,
                "config_hash": grader.config_hash,
                "workers": state.settings.api_workers,
                "max_queue": state.settings.max_queue,
                "auth": bool(state.settings.api_keys or state.settings.grade_only_keys),
            }
        },
    )


def _openapi(app: FastAPI, settings: Settings) -> dict[str, Any]:
    """The generated schema, adjusted to this configuration (size limit, auth on/off)."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    body = schema.get("components", {}).get("schemas", {}).get("GradeBody")
    if body:
        body["properties"]["answer"]["maxLength"] = settings.max_answer_chars
    if settings.api_keys or settings.grade_only_keys:
        _document_401(schema)
    else:
        _strip_auth(schema)
    app.openapi_schema = schema
    return schema


def _document_401(schema: dict[str, Any]) -> None:
    """Every operation that takes a key (``GradeKey``/``ReadKey``) can answer 401."""
    doc = errors.error_responses(401)[401]
    media = doc["content"]["application/json"]
    response = {
        "description": doc["description"],
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorBody"},
                "example": media["example"],
            }
        },
    }
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            if operation.get("security"):
                operation.setdefault("responses", {}).setdefault("401", response)


def _strip_auth(schema: dict[str, Any]) -> None:
    """With no keys configured the API is open: say so instead of advertising a bearer scheme."""
    schema.get("components", {}).pop("securitySchemes", None)
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            operation.pop("security", None)
            for status in ("401", "403"):
                operation.get("responses", {}).pop(status, None)

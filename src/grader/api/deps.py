"""Dependencies: the app's state (settings, grader, pool, stores) and API-key checks.

Routes take what they need through the ``Annotated`` aliases below, so tests can
override any of them with ``app.dependency_overrides``.  The dependencies are
``async def`` on purpose: FastAPI runs a plain ``def`` dependency in a thread,
which costs a thread hop per dependency per request::

    async def route(grader: GraderDep, key: GradeKey) -> ...

Auth: with no keys configured (``GRADER_API_KEYS`` and ``GRADER_GRADE_ONLY_KEYS``
empty) the API is open.  Otherwise every route that takes ``GradeKey`` or
``ReadKey`` needs ``Authorization: Bearer <key>``: keys from ``GRADER_API_KEYS``
may do everything, keys from ``GRADER_GRADE_ONLY_KEYS`` may only grade.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from grader.api.idempotency import IdempotencyStore
from grader.api.policy import feedback_level
from grader.api.pool import GradingPool
from grader.api.telemetry import Metrics
from grader.config import Settings
from grader.errors import AuthError, BadEncodingError, ForbiddenError, ModelUnavailableError
from grader.grading.pipeline import Grader
from grader.models import FeedbackLevel
from grader.transcripts.jobs import JobRunner


@dataclass
class ApiState:
    """Everything the routes share; lives on ``app.state.api``."""

    settings: Settings
    metrics: Metrics
    grader: Grader | None = None
    pool: GradingPool | None = None
    idempotency: IdempotencyStore | None = None
    ready: bool = False
    load_seconds: float | None = None
    public_url: str | None = None
    transcript_jobs: JobRunner | None = None  # set by the transcripts router's lifespan


async def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.api
    return state


StateDep = Annotated[ApiState, Depends(get_state)]


async def get_settings(state: StateDep) -> Settings:
    return state.settings


async def get_grader(state: StateDep) -> Grader:
    if state.grader is None or not state.ready:
        raise ModelUnavailableError("the service is starting or stopping; retry in a few seconds")
    return state.grader


async def get_pool(state: StateDep) -> GradingPool:
    if state.pool is None or not state.ready:
        raise ModelUnavailableError("the service is starting or stopping; retry in a few seconds")
    return state.pool


async def require_utf8_body(request: Request) -> None:
    """JSON must be UTF-8 (RFC 8259); Python's json would also take UTF-16/32: refuse it."""
    try:
        (await request.body()).decode("utf-8")
    except UnicodeDecodeError:
        raise BadEncodingError(
            "the body is not UTF-8 text: send the answer as a JSON string in a UTF-8 encoded body"
        ) from None


SettingsDep = Annotated[Settings, Depends(get_settings)]
GraderDep = Annotated[Grader, Depends(get_grader)]
PoolDep = Annotated[GradingPool, Depends(get_pool)]

# --------------------------------------------------------------------------- auth

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key from GRADER_API_KEYS (or GRADER_GRADE_ONLY_KEYS to grade only).",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _matches(key: str, keys: list[str]) -> bool:
    # Compare every key in constant time so timing does not reveal a prefix.
    found = False
    for candidate in keys:
        found |= hmac.compare_digest(key.encode(), candidate.encode())
    return found


def _principal(key: str) -> str:
    """A stable, non-secret name for a key (logs, idempotency scope)."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _check(settings: Settings, creds: HTTPAuthorizationCredentials | None, grade: bool) -> str:
    if not settings.api_keys and not settings.grade_only_keys:
        return "anonymous"
    if creds is None or not creds.credentials:
        raise AuthError(
            "missing API key: send the header 'Authorization: Bearer <key>' "
            "with a key the operator configured in GRADER_API_KEYS"
        )
    key = creds.credentials
    if _matches(key, settings.api_keys):
        return _principal(key)
    if _matches(key, settings.grade_only_keys):
        if grade:
            return _principal(key)
        raise ForbiddenError(
            "this API key may only grade answers (POST /v1/grade); reading the bank "
            "or the metrics needs a key from GRADER_API_KEYS"
        )
    raise AuthError("unknown API key: check the key, or ask the operator for a valid one")


async def require_grade_key(settings: SettingsDep, creds: Credentials) -> str:
    """Any configured key (full or grade-only); returns the caller's principal."""
    return _check(settings, creds, grade=True)


async def require_read_key(settings: SettingsDep, creds: Credentials) -> str:
    """A full key from GRADER_API_KEYS; returns the caller's principal."""
    return _check(settings, creds, grade=False)


async def get_feedback_level(settings: SettingsDep, creds: Credentials) -> FeedbackLevel:
    """The caller's feedback level (api/policy.py); the key itself is checked by ``GradeKey``."""
    key = creds.credentials if creds is not None else ""
    grade_only = (
        bool(key)
        and not _matches(key, settings.api_keys)
        and _matches(key, settings.grade_only_keys)
    )
    return feedback_level(settings.api, grade_only=grade_only)


GradeKey = Annotated[str, Depends(require_grade_key)]
FeedbackLevelDep = Annotated[FeedbackLevel, Depends(get_feedback_level)]
ReadKey = Annotated[str, Depends(require_read_key)]

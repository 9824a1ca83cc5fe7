"""``/healthz`` (the process answers) and ``/readyz`` (it can grade)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from grader.api.deps import StateDep
from grader.api.schemas import Check, Health, Readiness
from grader.grading.pipeline import Grader

router = APIRouter(tags=["operations"])

_PING_TIMEOUT = 5.0


@router.get(
    "/healthz",
    summary="Liveness: the process is up",
    description="Always open (no API key). 200 as long as the process serves requests.",
)
async def healthz() -> Health:
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness: bank and models loaded, judge reachable",
    description="200 when an answer can be graded now, 503 (same body) while starting, "
    "stopping or when the judge is unreachable. Open (no API key).",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready; see the failing checks."}},
)
async def readyz(state: StateDep) -> JSONResponse:
    grader = state.grader
    if grader is None or not state.ready:
        checks = {"startup": Check(ok=False, detail="models are loading or the app is stopping")}
    else:
        checks = {
            "bank": Check(
                ok=len(grader.bank) > 0,
                detail=f"{len(grader.bank)} questions (hash {grader.bank.content_hash})",
            ),
            "embedder": Check(ok=True, detail=f"{grader.embedder.name} loaded"),
            "judge": await _judge_check(grader),
        }
    pool = state.pool
    queue = (
        {"in_flight": pool.in_flight, "max_queue": pool.max_queue, "workers": pool.workers}
        if pool
        else {}
    )
    ok = all(c.ok for c in checks.values())
    body = Readiness(
        status="ready" if ok else "not_ready",
        checks=checks,
        queue=queue,
        load_seconds=state.load_seconds,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


async def _judge_check(grader: Grader) -> Check:
    """Ask the judge itself (``Judge.ping``): a remote server is reached, a local model alive."""
    judge = grader.judge
    if judge is None:
        return Check(ok=True, detail="none configured: the prefilter decides or answers ungraded")
    try:
        await asyncio.wait_for(asyncio.to_thread(judge.ping), _PING_TIMEOUT)
    except TimeoutError:
        return Check(
            ok=False, detail=f"{judge.name} not ready: no answer to the ping in {_PING_TIMEOUT:g} s"
        )
    except Exception as exc:  # JudgeError by contract; any failure means "not ready", with why
        return Check(ok=False, detail=f"{judge.name} not ready: {exc or type(exc).__name__}")
    return Check(ok=True, detail=f"{judge.name} ready")

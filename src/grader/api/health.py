"""``/healthz`` (the process answers) and ``/readyz`` (it can grade)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from grader.api.deps import ApiState, StateDep
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
        jobs=_jobs(state),
        load_seconds=state.load_seconds,
    )
    return JSONResponse(body.model_dump(), status_code=200 if ok else 503)


def _jobs(state: ApiState) -> dict[str, int]:
    """The transcript job backlog and the judge's lanes (empty while starting)."""
    runner, grader = state.transcript_jobs, state.grader
    if runner is None or grader is None:
        return {}
    backlog, gate = runner.backlog.state(), grader.judge_gate.state()
    return {
        "answers_queued": backlog.answers_queued,
        "jobs_queued": backlog.jobs_queued,
        "jobs_running": backlog.jobs_running,
        "rejected": backlog.rejected_per_key + backlog.rejected_total,
        "max_answers": backlog.max_answers,
        "max_answers_per_key": backlog.max_answers_per_key,
        "ms_per_answer": round(backlog.seconds_per_answer * 1000),
        "judge_waiting_interactive": gate.interactive_waiting,
        "judge_waiting_jobs": gate.background_waiting,
    }


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

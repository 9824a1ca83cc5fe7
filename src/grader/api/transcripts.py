"""``/v1/transcripts``: grade a whole interview as a background job.

``POST /v1/transcripts`` reads the transcript (JSON, or Markdown / plain text),
matches its questions to the bank at once (bad files fail here, with the
reason) and answers 202 with the job id.  ``GET /v1/transcripts/{id}`` returns
status and progress (graded / total), and the report when done;
``GET /v1/transcripts/{id}/report.html`` the report as one HTML page.

Admission is counted in answers to grade (:mod:`grader.transcripts.admission`): a
job that would put its API key over ``GRADER_MAX_JOB_ANSWERS_PER_KEY`` answers
waiting is refused with 429, one that would put all jobs over
``GRADER_MAX_JOB_ANSWERS`` with 503, both with ``Retry-After``; nothing is stored.

Jobs live in SQLite (:mod:`grader.transcripts.jobs`): a restarted server resumes unfinished
jobs without grading an answer twice.  The runner starts and stops with the app
through this router's lifespan.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from grader.api.deps import ApiState, FeedbackLevelDep, GradeKey, GraderDep, StateDep
from grader.api.errors import error_response, error_responses
from grader.api.policy import redact_report
from grader.api.schemas import ErrorBody
from grader.errors import (
    InvalidRequestError,
    JobNotDoneError,
    ModelUnavailableError,
    UnknownJobError,
    UnsupportedMediaError,
)
from grader.models import FeedbackLevel
from grader.transcripts.admission import JobBacklog
from grader.transcripts.grade import make_plan
from grader.transcripts.jobs import Job, JobRunner, JobStatus, JobStore
from grader.transcripts.parse import parse_transcript, request_schema
from grader.transcripts.render import render_html
from grader.transcripts.rollup import TranscriptReport


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start the job runner once the grader is loaded (the app's lifespan runs first)."""
    state: ApiState = app.state.api
    assert state.grader is not None
    grader = state.grader
    store = await asyncio.to_thread(JobStore, state.settings.database)
    limits = state.settings.transcripts
    backlog = JobBacklog(limits.max_job_answers, limits.max_job_answers_per_key)
    runner = JobRunner(grader, store, limits.transcript_workers, backlog)
    await asyncio.to_thread(runner.start)
    state.transcript_jobs = runner
    try:
        yield
    finally:
        await asyncio.to_thread(runner.stop)
        store.close()


router = APIRouter(prefix="/v1", tags=["transcripts"], lifespan=_lifespan)


class Progress(BaseModel):
    graded: int = Field(description="Answers graded so far.")
    total: int = Field(description="Answers to grade (questions matched to the bank).")


_JOB_EXAMPLE: dict[str, Any] = {
    "id": "3f2a9c0e1b7d4a65b2c1d0e9f8a7b6c5",
    "status": "running",
    "progress": {"graded": 3, "total": 7},
    "source": "jane-doe.json",
    "created": "2024-05-14T09:30:00+00:00",
    "updated": "2024-05-14T09:30:12+00:00",
    "error": None,
    "links": {
        "self": "/v1/transcripts/3f2a9c0e1b7d4a65b2c1d0e9f8a7b6c5",
        "report_html": "/v1/transcripts/3f2a9c0e1b7d4a65b2c1d0e9f8a7b6c5/report.html",
    },
}


class JobAccepted(BaseModel):
    """A transcript job: where it stands (the report is fetched with GET)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_JOB_EXAMPLE]})

    id: str
    status: JobStatus
    progress: Progress
    source: str | None = None
    created: str
    updated: str
    error: str | None = None
    links: dict[str, str]


class TranscriptJob(JobAccepted):
    """A transcript job and, once ``status`` is ``done``, its report."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**_JOB_EXAMPLE, "report": None}]})

    report: TranscriptReport | None = Field(default=None, description="When status is done.")


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds")


def _view(job: Job, report: TranscriptReport | None = None) -> TranscriptJob:
    base = f"/v1/transcripts/{job.id}"
    return TranscriptJob(
        id=job.id,
        status=job.status,
        progress=Progress(graded=job.graded, total=job.total),
        source=job.source,
        created=_iso(job.created),
        updated=_iso(job.updated),
        error=job.error,
        links={"self": base, "report_html": f"{base}/report.html"},
        report=report,
    )


def _runner(state: ApiState) -> JobRunner:
    runner = state.transcript_jobs
    if runner is None:
        raise ModelUnavailableError("the service is starting or stopping; retry in a few seconds")
    return runner


_TEXT_TYPES = ("text/plain", "text/markdown", "text/x-markdown")
# Only the JSON form is in the schema: a text transcript is checked beyond what a JSON Schema
# can say (it needs Q:/A:-style turns or headings), so a schema for it would promise too much.
_BODY = {
    "required": True,
    "description": "The transcript as JSON (below). Markdown or plain text is accepted too: "
    "send it with `Content-Type: text/markdown` or `text/plain` (UTF-8), with Q:/A: or "
    "Interviewer:/Candidate: turns, or each question in a heading.",
    "content": {
        "application/json": {
            "schema": request_schema(),
            "example": {
                "candidate": {"name": "Jane Doe"},
                "turns": [
                    {"question": "How does dropout work?", "answer": "It zeroes random units…"},
                    {"question_id": "q23-pooling-layers", "answer": "Pooling downsamples…"},
                ],
            },
        },
    },
}
_NOT_FOUND: dict[str, Any] = {
    "model": ErrorBody,
    "description": "No such job (or it was posted with another API key).",
    "content": {
        "application/json": {
            "example": {
                "error": {
                    "code": "unknown_job",
                    "message": "no transcript job '…'",
                    "request_id": "3f2a9c0e",
                }
            }
        }
    },
}
_NOT_DONE: dict[str, Any] = {
    "model": ErrorBody,
    "description": "The job is not done yet: poll GET /v1/transcripts/{id}.",
    "content": {
        "application/json": {
            "example": {
                "error": {
                    "code": "job_not_done",
                    "message": "job … is running (3/7 graded)",
                    "request_id": "3f2a",
                }
            }
        }
    },
}
_BACKLOG_FULL: dict[str, Any] = {
    "model": ErrorBody,
    "description": "Too many answers wait in transcript jobs (GRADER_MAX_JOB_ANSWERS), or the "
    "service is starting: retry after Retry-After seconds.",
    "content": {
        "application/json": {
            "example": {
                "error": {
                    "code": "job_backlog_full",
                    "message": "the transcript job backlog is full (990 answers waiting, this "
                    "transcript adds 46, GRADER_MAX_JOB_ANSWERS=1000): retry after 140 s, or "
                    "ask the operator to raise GRADER_MAX_JOB_ANSWERS",
                    "request_id": "3f2a",
                }
            }
        }
    },
}
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="Id from the 202 response.")]


@router.post(
    "/transcripts",
    status_code=202,
    summary="Grade a whole interview (starts a job)",
    description="Reads the transcript, matches every question to the bank and starts grading "
    "in the background. Answers 202 with the job (poll `links.self`). Small talk and questions "
    "not in the bank are listed in the report as not graded.",
    openapi_extra={"requestBody": _BODY},
    response_model=JobAccepted,
    responses={
        202: {
            "description": "Job accepted.",
            "content": {"application/json": {"example": _JOB_EXAMPLE}},
        },
        **error_responses(400, 401, 413, 415, 429),
        503: _BACKLOG_FULL,
    },
)
async def create_job(
    request: Request,
    principal: GradeKey,
    state: StateDep,
    grader: GraderDep,
    filename: Annotated[
        str | None, Query(max_length=200, description="Shown in the report as the source.")
    ] = None,
) -> JSONResponse:
    runner = _runner(state)
    runner.backlog.check_room(principal)  # a full backlog refuses before the body is read
    if len(request.query_params.getlist("filename")) > 1:
        raise InvalidRequestError("give the query parameter 'filename' once")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json" or ctype.endswith("+json"):
        kind: Literal["json", "text"] = "json"
    elif ctype in _TEXT_TYPES:
        kind = "text"
    else:
        raise UnsupportedMediaError(
            f"the body was sent as {ctype or 'no content type'}: send the transcript as "
            "application/json, text/markdown or text/plain"
        )
    body = await request.body()

    def prepare() -> Job:
        transcript = parse_transcript(body, "the request body", kind=kind)
        transcript = transcript.model_copy(update={"source": filename})
        return runner.submit(make_plan(grader, transcript), owner=principal)

    job = await run_in_threadpool(prepare)
    view = _view(job)
    return JSONResponse(
        JobAccepted.model_validate(view.model_dump(exclude={"report"})).model_dump(mode="json"),
        status_code=202,
        headers={"Location": view.links["self"]},
    )


def _owned(state: ApiState, job_id: str, principal: str) -> Job:
    job = _runner(state).store.get(job_id)
    if job is None or job.owner != principal:
        raise UnknownJobError(
            f"no transcript job {job_id!r}: use the id returned by POST /v1/transcripts "
            "(with the same API key)"
        )
    return job


@router.get(
    "/transcripts/{job_id}",
    summary="Status, progress and (when done) the report of a transcript job",
    response_model=TranscriptJob,
    response_model_exclude_none=False,
    responses={404: _NOT_FOUND, **error_responses(401)},
)
async def get_job(
    request: Request, job_id: JobId, principal: GradeKey, level: FeedbackLevelDep, state: StateDep
) -> Response:
    try:
        job = await run_in_threadpool(_owned, state, job_id, principal)
    except UnknownJobError as exc:
        return error_response(request, 404, exc.code, str(exc))
    store = _runner(state).store
    report = await run_in_threadpool(store.report, job_id) if job.status == "done" else None
    if report is not None:
        report = _at_level(state, report, level)
    return Response(_view(job, report).model_dump_json(), media_type="application/json")


@router.get(
    "/transcripts/{job_id}/report.html",
    summary="The report as one self-contained HTML page",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {"example": "<!doctype html><html>…</html>"}}},
        404: _NOT_FOUND,
        409: _NOT_DONE,
        **error_responses(401),
    },
)
async def get_report_html(
    request: Request, job_id: JobId, principal: GradeKey, level: FeedbackLevelDep, state: StateDep
) -> Response:
    try:
        job = await run_in_threadpool(_owned, state, job_id, principal)
        report = await run_in_threadpool(_runner(state).store.report, job_id)
        if report is None:
            raise JobNotDoneError(
                f"job {job_id} is {job.status} ({job.graded}/{job.total} graded): "
                "poll GET /v1/transcripts/{id} until status is done"
            )
    except UnknownJobError as exc:
        return error_response(request, 404, exc.code, str(exc))
    except JobNotDoneError as exc:
        return error_response(request, 409, exc.code, str(exc), headers={"Retry-After": "2"})
    return HTMLResponse(render_html(_at_level(state, report, level)), headers=_HTML_HEADERS)


def _at_level(state: ApiState, report: TranscriptReport, level: FeedbackLevel) -> TranscriptReport:
    """The stored (full) report as a caller at ``level`` may see it."""
    if level == "full":
        return report
    grader = state.grader
    if grader is None:
        raise ModelUnavailableError("the service is starting or stopping; retry in a few seconds")
    return redact_report(report, grader.question, level)


_HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "X-Content-Type-Options": "nosniff",
}

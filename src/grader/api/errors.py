"""Every error leaves the API as ``{"error": {"code", "message", "request_id"}}``.

The ``code`` is the stable ``code`` of the class in :mod:`grader.errors`; the
message names the fix.  Unexpected exceptions never reach the client: the
request middleware answers 500 with a generic message and the request id.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from grader.api.schemas import (
    BAD_ENCODING,
    METADATA_LIMIT,
    ErrorBody,
    FieldProblem,
)
from grader.errors import (
    AnswerTooLargeError,
    AuthError,
    BackendError,
    BadEncodingError,
    ForbiddenError,
    GraderError,
    IdempotencyConflictError,
    InvalidAnswerError,
    InvalidJsonError,
    InvalidRequestError,
    JobQuotaError,
    OverloadedError,
    RequestTooLargeError,
    UnknownQuestionError,
    UnsupportedMediaError,
    UserError,
)
from grader.text import METADATA_MAX_DEPTH, shown

# Most specific class first: the first match in the MRO wins.
_STATUS: dict[type[GraderError], int] = {
    UnknownQuestionError: 404,
    AnswerTooLargeError: 413,
    RequestTooLargeError: 413,
    BadEncodingError: 400,
    InvalidJsonError: 400,
    UnsupportedMediaError: 415,
    InvalidRequestError: 422,
    InvalidAnswerError: 422,
    ForbiddenError: 403,
    AuthError: 401,
    IdempotencyConflictError: 409,
    JobQuotaError: 429,
    OverloadedError: 503,
    UserError: 400,
    BackendError: 503,
}

_DESCRIPTIONS = {
    400: ("bad_encoding", "The body is not UTF-8 text or not valid JSON."),
    401: ("unauthorized", "Missing or unknown API key."),
    403: ("forbidden", "This API key may only grade."),
    404: ("unknown_question", "No such question."),
    409: ("idempotency_conflict", "Idempotency-Key reused with a different body."),
    413: ("answer_too_large", "The answer is over GRADER_MAX_ANSWER_CHARS."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    422: ("invalid_request", "A field is missing or has the wrong type."),
    429: (
        "job_quota_exceeded",
        "This API key has too many answers waiting in transcript jobs; retry after "
        "Retry-After seconds.",
    ),
    503: ("overloaded", "The grading queue is full; retry after Retry-After seconds."),
}


def status_for(exc: GraderError) -> int:
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    fields: list[FieldProblem] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    rid = request.scope.get("state", {}).get("request_id")
    error: dict[str, Any] = {"code": code, "message": _utf8(message), "request_id": rid}
    if fields:
        error["fields"] = [{"field": _utf8(f.field), "message": _utf8(f.message)} for f in fields]
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _utf8(text: str) -> str:
    """``text`` with any lone surrogate escaped, so the response can be encoded."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries (with an example) for the given error statuses."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        code, text = _DESCRIPTIONS[status]
        example = {"error": {"code": code, "message": text, "request_id": "3f2a9c0e1b7d4a65"}}
        out[status] = {
            "model": ErrorBody,
            "description": text,
            "content": {"application/json": {"example": example}},
        }
    return out


# --------------------------------------------------------------------------- handlers


async def _grader_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GraderError)
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, OverloadedError):
        headers["Retry-After"] = str(exc.retry_after)
    elif status == 503:
        headers["Retry-After"] = "5"
    elif status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return error_response(request, status, exc.code, str(exc), headers=headers)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(shown(str(p), 80) for p in loc)  # an unknown key may be any text


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    body = await request.body()
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return _as_error(request, _bad_encoding())
    kinds = {e.get("type") for e in errors}
    if "json_invalid" in kinds:
        first = next(e for e in errors if e.get("type") == "json_invalid")
        pos = first["loc"][-1] if first.get("loc") else "?"
        detail = first.get("ctx", {}).get("error", "syntax error")
        msg = f"the body is not valid JSON ({detail} at character {pos}): send a JSON object"
        return _as_error(request, InvalidJsonError(msg))
    if body and _is_body_type_error(errors) and not _is_json(request):
        return _as_error(
            request,
            UnsupportedMediaError(
                f"the body was sent as {request.headers.get('content-type') or 'no content type'}"
                ": send JSON with the header 'Content-Type: application/json'"
            ),
        )
    encoding = [e for e in errors if e.get("type") in _ENCODING_TYPES]
    if encoding:  # a lone surrogate ("\ud800") in a string: 400 bad_encoding, naming the field
        errors, status, code = encoding, 400, BadEncodingError.code
    else:
        status, code = 422, InvalidRequestError.code
    fields = [FieldProblem(field=_location(e["loc"]), message=_explain(e)) for e in errors]
    summary = "; ".join(f"{f.field}: {f.message}" for f in fields)
    return error_response(request, status, code, summary, fields)


# pydantic's own type for a string it cannot encode, and the request validators' types
_ENCODING_TYPES = {"string_unicode", BAD_ENCODING}
_OWN_TYPES = {BAD_ENCODING, METADATA_LIMIT}


def _explain(error: Any) -> str:
    kind, loc = error.get("type"), tuple(error.get("loc", ()))
    if kind == "missing" and loc == ("body",):
        return (
            "the request body is empty: send a JSON object with 'answer' and "
            "'question_id' (or 'question_number')"
        )
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field: check the spelling (see /docs for the fields)"
    if kind == "string_unicode":
        what = "a key of the body" if loc == ("body",) else "the text"
        return f"{what} holds a lone surrogate (such as \\ud800): send valid Unicode text"
    if kind in _OWN_TYPES:  # the message names the fix; the input may be huge or deep
        return str(error.get("msg"))
    got = error.get("input")
    shown = json.dumps(got, default=str)[:80] if not isinstance(got, bytes) else "bytes"
    msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{msg} (got {shown})" if kind != "value_error" else msg


def _is_body_type_error(errors: list[Any]) -> bool:
    return any(
        tuple(e.get("loc", ())) == ("body",) and e.get("type") == "model_attributes_type"
        for e in errors
    )


def _is_json(request: Request) -> bool:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return ctype == "application/json" or ctype.endswith("+json")


def _bad_encoding() -> BadEncodingError:
    return BadEncodingError(
        "the body is not UTF-8 text: send the answer as a JSON string in a UTF-8 encoded body"
    )


def _unparsed(cause: BaseException | None) -> GraderError:
    """Why JSON that json.loads refused beyond its syntax could not be read."""
    if isinstance(cause, RecursionError):
        return InvalidRequestError(
            f"the body nests too deeply to read: metadata may nest at most {METADATA_MAX_DEPTH} "
            "levels (and transcripts a few more): flatten it"
        )
    if isinstance(cause, ValueError) and "digits" in str(cause):  # int() of 4,300+ digits
        return InvalidRequestError(
            "the body holds a number with thousands of digits: question_number takes a bank "
            "number such as 1, and metadata numbers may have at most 64 digits"
        )
    return InvalidJsonError("the body could not be parsed: send JSON")


def _as_error(request: Request, exc: GraderError) -> JSONResponse:
    return error_response(request, status_for(exc), exc.code, str(exc))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    cause = exc.__cause__
    if isinstance(cause, GraderError):  # raised while reading the body (size limit)
        return _as_error(request, cause)
    if isinstance(cause, UnicodeDecodeError):
        return _as_error(request, _bad_encoding())
    if exc.status_code == 400:
        return _as_error(request, _unparsed(cause))
    if exc.status_code == 404:
        msg = f"no route {request.method} {request.url.path}: see /docs for the endpoints"
        return error_response(request, 404, "not_found", msg)
    if exc.status_code == 405:
        msg = f"{request.method} is not allowed on {request.url.path}: see /docs"
        return error_response(request, 405, "method_not_allowed", msg, headers=exc.headers)
    return error_response(request, exc.status_code, f"http_{exc.status_code}", str(exc.detail))


def install(app: FastAPI) -> None:
    app.add_exception_handler(GraderError, _grader_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)

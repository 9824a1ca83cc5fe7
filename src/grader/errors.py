"""The error tree of the grader.

Every error carries a message that names the fix.  User-fixable problems and
backend failures are kept apart so callers (CLI, API, batch jobs) can decide
what to report to whom::

    GraderError
    ├── UserError                      the caller can fix it
    │   ├── ConfigError                bad GRADER_* setting or config file
    │   ├── BankError                  one or more problems in a question bank
    │   ├── UnknownQuestionError       no such question id / number
    │   ├── InvalidAnswerError         answer empty, too large, not text
    │   │   └── AnswerTooLargeError
    │   ├── TranscriptError            file is not a transcript
    │   ├── UnknownJobError            no such transcript job (or not yours)
    │   ├── JobNotDoneError            the job's report is not ready yet
    │   ├── DatasetError               malformed evaluation dataset
    │   ├── InvalidRequestError        HTTP request body missing / wrong types
    │   │   ├── BadEncodingError       body is not UTF-8 text
    │   │   ├── InvalidJsonError       body is not valid JSON
    │   │   ├── UnsupportedMediaError  body is not sent as application/json
    │   │   └── RequestTooLargeError   body over the size limit
    │   ├── AuthError                  missing or unknown API key
    │   │   └── ForbiddenError         the key may not do this
    │   └── IdempotencyConflictError   Idempotency-Key reused with another body
    └── BackendError                   something we depend on failed
        ├── OverloadedError            grading queue full: retry later
        │   ├── JobBacklogFullError    too many answers waiting in transcript jobs (503)
        │   └── JobQuotaError          this key has too many answers waiting in jobs (429)
        ├── ModelUnavailableError      model files missing or corrupt
        └── JudgeError                 the judge failed for one answer
            ├── JudgeTimeoutError
            ├── JudgeUnreachableError  no connection to the judge server
            └── JudgeOutputError       unparseable / invalid judge output

A ``JudgeError``'s message is for the server log (it may name the judge URL and quote
its reply); clients see only its ``code`` and ``summary``.
"""

from __future__ import annotations

from dataclasses import dataclass


class GraderError(Exception):
    """Base class of every error raised on purpose by the grader."""

    code = "grader_error"


class UserError(GraderError):
    """The caller can fix this (input, configuration, files)."""

    code = "user_error"


class ConfigError(UserError):
    code = "bad_config"


@dataclass(frozen=True)
class BankProblem:
    """One problem in a bank file: where it is and what was expected."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.field}" if self.field else self.file
        return f"{where}: {self.message}"


class BankError(UserError):
    """A bank failed validation; ``problems`` lists every problem found."""

    code = "bad_bank"

    def __init__(self, problems: list[BankProblem]) -> None:
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(f"question bank has {len(problems)} problem(s):\n{lines}")


class UnknownQuestionError(UserError):
    code = "unknown_question"


class InvalidAnswerError(UserError):
    code = "invalid_answer"


class AnswerTooLargeError(InvalidAnswerError):
    code = "answer_too_large"


class TranscriptError(UserError):
    code = "bad_transcript"


class UnknownJobError(UserError):
    code = "unknown_job"


class JobNotDoneError(UserError):
    code = "job_not_done"


class DatasetError(UserError):
    code = "bad_dataset"


class InvalidRequestError(UserError):
    """An HTTP request the API cannot read (the fields are named in the message)."""

    code = "invalid_request"


class BadEncodingError(InvalidRequestError):
    code = "bad_encoding"


class InvalidJsonError(InvalidRequestError):
    code = "invalid_json"


class UnsupportedMediaError(InvalidRequestError):
    code = "unsupported_media_type"


class RequestTooLargeError(InvalidRequestError):
    code = "request_too_large"


class AuthError(UserError):
    code = "unauthorized"


class ForbiddenError(AuthError):
    code = "forbidden"


class IdempotencyConflictError(UserError):
    code = "idempotency_conflict"


class BackendError(GraderError):
    """A dependency (model, judge, store) failed; not the caller's fault."""

    code = "backend_error"


class OverloadedError(BackendError):
    """Too many answers waiting; ``retry_after`` is a hint in seconds."""

    code = "overloaded"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class JobBacklogFullError(OverloadedError):
    """Transcript jobs hold ``GRADER_MAX_JOB_ANSWERS`` answers already."""

    code = "job_backlog_full"


class JobQuotaError(OverloadedError):
    """This API key's jobs hold ``GRADER_MAX_JOB_ANSWERS_PER_KEY`` answers already."""

    code = "job_quota_exceeded"


class ModelUnavailableError(BackendError):
    code = "model_unavailable"


class JudgeError(BackendError):
    code = "judge_failed"
    summary = "the judge returned an error"  # what a client may see: no URL, no reply

    # What the failed attempt cost and said (set by remote judges; 0 / None otherwise).
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    raw: str | None = None


class JudgeTimeoutError(JudgeError):
    code = "judge_timeout"
    summary = "the judge did not answer in time"


class JudgeUnreachableError(JudgeError):
    code = "judge_unreachable"
    summary = "judge server unreachable"


class JudgeOutputError(JudgeError):
    code = "judge_bad_output"
    summary = "the judge's reply was not valid"

"""Admission of transcript jobs, counted in answers to grade.

A job's cost is the number of answers it will grade (its questions matched to
the bank), not one: a 46-question interview weighs 46 single answers.
:class:`JobBacklog` keeps the answers still to grade of every queued or running
job, in the order the runner takes them, and admits a new job only if it fits:

* within ``GRADER_MAX_JOB_ANSWERS_PER_KEY`` for its API key, else
  :class:`~grader.errors.JobQuotaError` (the API answers 429);
* within ``GRADER_MAX_JOB_ANSWERS`` for all keys together, else
  :class:`~grader.errors.JobBacklogFullError` (503).

Both carry ``retry_after``: the answers that must be graded before the job fits
(for a key's quota: up to where enough of that key's answers are done, jobs run
in order) times the measured seconds per answer, the mean interval between two
graded job answers.  A job larger than a bound could never fit: it is refused
with :class:`~grader.errors.RequestTooLargeError` (413), naming the setting.

The check and the job's creation happen under one lock (:meth:`JobBacklog.admitting`),
so concurrent posts cannot overshoot a bound, and a refused job is never stored.
Jobs resumed after a restart count from the start, whatever the bounds are now.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from grader.errors import JobBacklogFullError, JobQuotaError, RequestTooLargeError

MAX_RETRY_AFTER = 3600
_FIRST_GUESS = 1.0  # seconds per answer before any job answer was graded
_WEIGHT = 0.2  # of the newest interval in the moving average


@dataclass
class _Pending:
    owner: str
    answers: int  # still to grade
    running: bool = False


@dataclass(frozen=True)
class BacklogState:
    """The backlog now, for ``/readyz`` and ``/metrics``."""

    answers_queued: int
    jobs_queued: int
    jobs_running: int
    rejected_per_key: int
    rejected_total: int
    max_answers: int
    max_answers_per_key: int
    seconds_per_answer: float


class JobBacklog:
    """Answers still to grade per job, in run order; admits or refuses new jobs."""

    def __init__(self, max_answers: int, max_answers_per_key: int) -> None:
        self.max_answers = max_answers
        self.max_answers_per_key = max_answers_per_key
        self.seconds_per_answer = _FIRST_GUESS
        self.rejected_per_key = 0
        self.rejected_total = 0
        self._jobs: dict[str, _Pending] = {}  # insertion order = the order jobs run
        self._lock = threading.RLock()
        self._last_graded: float | None = None

    # -- admission -------------------------------------------------------------------------

    def check_room(self, owner: str) -> None:
        """Refuse at once when not even a one-answer job would fit (before reading a body)."""
        with self._lock:
            self._check(owner, 1)

    @contextmanager
    def admitting(self, owner: str, answers: int) -> Iterator[None]:
        """Check that ``answers`` more fit, and hold the lock while the caller stores the job."""
        limit = min(self.max_answers, self.max_answers_per_key)
        if answers > limit:
            raise RequestTooLargeError(
                f"the transcript has {answers} answers to grade; one job may hold at most "
                f"{limit} (GRADER_MAX_JOB_ANSWERS_PER_KEY={self.max_answers_per_key}, "
                f"GRADER_MAX_JOB_ANSWERS={self.max_answers}): split the interview into parts, "
                "or ask the operator to raise the setting"
            )
        with self._lock:
            self._check(owner, answers)
            yield

    def add(self, job_id: str, owner: str, answers: int) -> None:
        """Count a stored job (call inside :meth:`admitting`, or for a resumed job)."""
        with self._lock:
            self._jobs[job_id] = _Pending(owner, answers)

    def _check(self, owner: str, answers: int) -> None:
        mine = sum(p.answers for p in self._jobs.values() if p.owner == owner)
        if mine + answers > self.max_answers_per_key:
            self.rejected_per_key += 1
            wait = self._wait(mine + answers - self.max_answers_per_key, owner)
            raise JobQuotaError(
                f"this API key has {mine} answers waiting in transcript jobs and this "
                f"transcript adds {answers}; a key may have at most {self.max_answers_per_key} "
                f"(GRADER_MAX_JOB_ANSWERS_PER_KEY): retry after {wait} s, when its earlier "
                "jobs are graded, or ask the operator to raise GRADER_MAX_JOB_ANSWERS_PER_KEY",
                retry_after=wait,
            )
        total = self._total()
        if total + answers > self.max_answers:
            self.rejected_total += 1
            wait = self._wait(total + answers - self.max_answers, None)
            raise JobBacklogFullError(
                f"the transcript job backlog is full ({total} answers waiting, this transcript "
                f"adds {answers}, GRADER_MAX_JOB_ANSWERS={self.max_answers}): retry after "
                f"{wait} s, or ask the operator to raise GRADER_MAX_JOB_ANSWERS",
                retry_after=wait,
            )

    def _wait(self, to_free: int, owner: str | None) -> int:
        """Seconds until ``to_free`` answers (of ``owner``'s, if given) are likely graded."""
        ahead = freed = 0
        for job in self._jobs.values():
            counts = owner is None or job.owner == owner
            if counts and freed + job.answers >= to_free:
                ahead += to_free - freed
                break
            ahead += job.answers
            freed += job.answers if counts else 0
        seconds = math.ceil(ahead * self.seconds_per_answer)
        return min(MAX_RETRY_AFTER, max(1, seconds))

    def _total(self) -> int:
        return sum(p.answers for p in self._jobs.values())

    # -- progress (called by the runner) ---------------------------------------------------

    def started(self, job_id: str) -> None:
        with self._lock:
            if job_id in self._jobs:
                self._jobs[job_id].running = True
            self._last_graded = time.monotonic()

    def graded(self, job_id: str) -> None:
        """One answer of the job is graded: count it, and time the interval since the last."""
        now = time.monotonic()
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job.answers > 0:
                job.answers -= 1
            if self._last_graded is not None:
                interval = now - self._last_graded
                self.seconds_per_answer += _WEIGHT * (interval - self.seconds_per_answer)
            self._last_graded = now

    def remove(self, job_id: str) -> None:
        """The job is done, failed or gone: nothing of it waits any more."""
        with self._lock:
            self._jobs.pop(job_id, None)
            self._last_graded = None

    def state(self) -> BacklogState:
        with self._lock:
            running = sum(p.running for p in self._jobs.values())
            return BacklogState(
                answers_queued=self._total(),
                jobs_queued=len(self._jobs) - running,
                jobs_running=running,
                rejected_per_key=self.rejected_per_key,
                rejected_total=self.rejected_total,
                max_answers=self.max_answers,
                max_answers_per_key=self.max_answers_per_key,
                seconds_per_answer=round(self.seconds_per_answer, 4),
            )

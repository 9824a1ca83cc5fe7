"""Transcript jobs that survive restarts: SQLite tables and a background runner.

A job is created with its *plan* (questions already matched), so a resumed job
grades exactly what the original would have.  Each answer's result is stored
the moment it is graded; at start-up the runner resumes every unfinished job
and grades only the items that have no stored result.  ``transcript_attempts``
records every start and finish of grading an item, so a test (or an operator)
can check that no answer was graded twice: an item has at most one finished
attempt, and an unfinished attempt only where the process died mid-answer.

The runner's :class:`~grader.transcripts.admission.JobBacklog` bounds the answers
waiting in jobs, per API key and in total; their judge calls yield to single answers
(:mod:`grader.grading.gate`).

Tables live next to the result cache (``GRADER_DB_PATH``; their schema is in
grader.storage).  One process runs the jobs of a database (the embedded default);
several API processes on one database would need a real queue (see DESIGN.md, "Scale").
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel

from grader.models import GradeResult
from grader.storage import GRADER_DB, Database
from grader.transcripts.admission import JobBacklog
from grader.transcripts.grade import grade_items, provenance
from grader.transcripts.match import PlanItem, TranscriptPlan
from grader.transcripts.rollup import TranscriptReport, build_report

if TYPE_CHECKING:
    from grader.grading.pipeline import Grader

log = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "done", "failed"]


class Job(BaseModel):
    id: str
    owner: str
    status: JobStatus
    created: float
    updated: float
    source: str | None
    total: int
    graded: int
    config_hash: str
    error: str | None = None


class JobStore:
    """SQLite persistence of jobs, per-item results and grading attempts."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._db = Database(path, GRADER_DB)

    def close(self) -> None:
        self._db.close()

    def _run(self, sql: str, args: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        return self._db.query(sql, args)

    def create(self, plan: TranscriptPlan, owner: str, config_hash: str) -> Job:
        now = time.time()
        job_id = uuid.uuid4().hex
        total = sum(i.gradable for i in plan.items)
        self._run(
            "INSERT INTO transcript_jobs(id, owner, status, created, updated, source, plan, total,"
            " config_hash) VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
            (job_id, owner, now, now, plan.transcript.source, plan.model_dump_json(), total,
             config_hash),
        )  # fmt: skip
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        rows = self._run(
            "SELECT id, owner, status, created, updated, source, total, graded, config_hash, error"
            " FROM transcript_jobs WHERE id = ?",
            (job_id,),
        )
        if not rows:
            return None
        keys = ("id", "owner", "status", "created", "updated", "source", "total", "graded")
        return Job.model_validate(dict(zip((*keys, "config_hash", "error"), rows[0], strict=True)))

    def plan(self, job_id: str) -> TranscriptPlan:
        rows = self._run("SELECT plan FROM transcript_jobs WHERE id = ?", (job_id,))
        return TranscriptPlan.model_validate_json(str(rows[0][0]))

    def report(self, job_id: str) -> TranscriptReport | None:
        rows = self._run("SELECT report FROM transcript_jobs WHERE id = ?", (job_id,))
        text = rows[0][0] if rows else None
        return TranscriptReport.model_validate_json(str(text)) if text else None

    def results(self, job_id: str) -> dict[int, GradeResult]:
        rows = self._run("SELECT item, result FROM transcript_results WHERE job_id = ?", (job_id,))
        return {int(str(item)): GradeResult.model_validate_json(str(r)) for item, r in rows}

    def unfinished(self) -> list[str]:
        rows = self._run(
            "SELECT id FROM transcript_jobs WHERE status IN ('queued', 'running') ORDER BY created"
        )
        return [str(r[0]) for r in rows]

    def set_status(self, job_id: str, status: JobStatus, error: str | None = None) -> None:
        self._run(
            "UPDATE transcript_jobs SET status = ?, error = ?, updated = ? WHERE id = ?",
            (status, error, time.time(), job_id),
        )

    def start_attempt(self, job_id: str, item: int) -> None:
        self._run(
            "INSERT INTO transcript_attempts(job_id, item, pid, started) VALUES (?, ?, ?, ?)",
            (job_id, item, os.getpid(), time.time()),
        )

    def save_result(self, job_id: str, item: int, result: GradeResult) -> None:
        """Store one item's result, close its attempt and count it: one transaction."""
        now = time.time()
        with self._db.transaction() as c:
            c.execute(
                "INSERT INTO transcript_results(job_id, item, result, finished) "
                "VALUES (?, ?, ?, ?)",
                (job_id, item, result.model_dump_json(), now),
            )
            c.execute(
                "UPDATE transcript_attempts SET finished = ? WHERE job_id = ? AND item = ? "
                "AND pid = ? AND finished IS NULL",
                (now, job_id, item, os.getpid()),
            )
            c.execute(
                "UPDATE transcript_jobs SET graded = (SELECT COUNT(*) FROM transcript_results "
                "WHERE job_id = ?), updated = ? WHERE id = ?",
                (job_id, now, job_id),
            )

    def finish(self, job_id: str, report: TranscriptReport) -> None:
        self._run(
            "UPDATE transcript_jobs SET status = 'done', report = ?, updated = ? WHERE id = ?",
            (report.model_dump_json(), time.time(), job_id),
        )

    def attempts(self, job_id: str) -> list[tuple[int, float | None]]:
        """(item, finished or None) for every grading attempt of the job."""
        rows = self._run(
            "SELECT item, finished FROM transcript_attempts WHERE job_id = ? ORDER BY started",
            (job_id,),
        )
        return [(int(str(i)), float(str(f)) if f is not None else None) for i, f in rows]


class JobRunner:
    """Runs jobs one after another in a background thread; answers concurrently within one.

    ``backlog`` counts the answers each queued or running job has still to grade and
    admits new jobs within its bounds (:mod:`grader.transcripts.admission`); by
    default the bounds are ``GRADER_MAX_JOB_ANSWERS`` and ``..._PER_KEY``.
    """

    def __init__(
        self,
        grader: Grader,
        store: JobStore,
        workers: int | None = None,
        backlog: JobBacklog | None = None,
    ) -> None:
        self.grader = grader
        self.store = store
        self.workers = workers
        limits = grader.transcript_settings
        self.backlog = backlog or JobBacklog(limits.max_job_answers, limits.max_job_answers_per_key)
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="grader-jobs", daemon=True)

    def start(self) -> list[str]:
        """Start the runner; returns the ids of the unfinished jobs it resumes."""
        resumed = self.store.unfinished()
        for job_id in resumed:
            job = self.store.get(job_id)
            assert job is not None
            self.backlog.add(job_id, job.owner, job.total - job.graded)
            self._queue.put(job_id)
        if resumed:
            log.info("resuming %d unfinished transcript job(s)", len(resumed))
        self._thread.start()
        return resumed

    def submit(self, plan: TranscriptPlan, owner: str = "anonymous") -> Job:
        """Store and queue a job; refused (nothing stored) when it does not fit the backlog.

        Raises JobQuotaError, JobBacklogFullError or RequestTooLargeError.
        """
        answers = sum(i.gradable for i in plan.items)
        with self.backlog.admitting(owner, answers):
            job = self.store.create(plan, owner, self.grader.config_hash)
            self.backlog.add(job.id, owner, answers)
        self._queue.put(job.id)
        return job

    def stop(self, timeout: float = 10) -> None:
        """Stop after the answers in progress; unfinished jobs resume at the next start."""
        self._stop.set()
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            job_id = self._queue.get()
            if job_id is None:
                break
            try:
                self.run(job_id)
            except Exception as exc:  # a broken job must not stop the others
                log.exception("transcript job %s failed", job_id)
                self.store.set_status(job_id, "failed", f"internal error ({type(exc).__name__})")
            if not self._stop.is_set():  # stopped: the rest still waits, for the next start
                self.backlog.remove(job_id)

    def run(self, job_id: str) -> None:
        """Grade what is left of one job and store its report."""
        job = self.store.get(job_id)
        if job is None or job.status in ("done", "failed"):
            return
        if job.config_hash != self.grader.config_hash:
            log.warning("job %s resumes under another configuration (%s, was %s)",
                        job_id, self.grader.config_hash, job.config_hash)  # fmt: skip
        plan = self.store.plan(job_id)
        self.store.set_status(job_id, "running")
        self.backlog.started(job_id)

        def started(item: PlanItem) -> None:
            self.store.start_attempt(job_id, item.item)

        def finished(item: PlanItem, result: GradeResult) -> None:
            self.store.save_result(job_id, item.item, result)
            self.backlog.graded(job_id)

        results = grade_items(
            self.grader,
            plan,
            workers=self.workers,
            done=self.store.results(job_id),
            on_start=started,
            on_result=finished,
            should_stop=self._stop.is_set,
            # the owner's cache partition, as for its single grades (api/grade.py)
            partition="" if job.owner == "anonymous" else job.owner,
        )
        if len(results) < job.total:  # stopped: the rest is graded after the restart
            return
        self.store.finish(job_id, build_report(plan, results, provenance(self.grader)))
        log.info("transcript job %s done: %d answer(s) graded", job_id, job.total)

"""Grade a whole interview: transcript -> plan (matching) -> answers graded concurrently -> report.

Answers are graded in a thread pool of ``GRADER_TRANSCRIPT_WORKERS`` threads.
That stays within the engine's limits: the local judge holds a lock (one answer
at a time), remote judges bound their requests in flight
(``GRADER_JUDGE_CONCURRENCY``).  Their judge calls wait in the background lane of
the judge gate (:mod:`grader.grading.gate`), so a single answer graded meanwhile
goes first.  One failing answer becomes an ``ungraded`` result with the reason;
the others carry on.

The hooks (``on_start``, ``on_result``, ``should_stop``) let the job runner
(:mod:`grader.transcripts.jobs`) persist each result as it completes and stop cleanly.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

from grader.errors import GraderError, TranscriptError, UnknownQuestionError
from grader.grading.results import Subject
from grader.models import GradeResult
from grader.transcripts.match import PlanItem, TranscriptPlan, plan_transcript
from grader.transcripts.parse import Transcript
from grader.transcripts.rollup import TranscriptReport, build_report

if TYPE_CHECKING:
    from grader.grading.pipeline import Grader

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


def grade_transcript(
    grader: Grader,
    transcript: Transcript,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> TranscriptReport:
    """Match, grade and roll up one transcript (the CLI's path; the API runs it as a job)."""
    plan = make_plan(grader, transcript)
    total = sum(i.gradable for i in plan.items)
    done = 0
    if progress:
        progress(0, total)

    def tick(_: PlanItem, __: GradeResult) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total)

    results = grade_items(grader, plan, workers=workers, on_result=tick)
    return build_report(plan, results, provenance(grader))


def make_plan(grader: Grader, transcript: Transcript) -> TranscriptPlan:
    limit = grader.transcript_settings.transcript_max_turns
    if len(transcript.turns) > limit:
        raise TranscriptError(
            f"the transcript has {len(transcript.turns)} turns; the limit is {limit} "
            "(GRADER_TRANSCRIPT_MAX_TURNS): split the interview into parts"
        )
    return plan_transcript(grader, transcript)


def grade_items(
    grader: Grader,
    plan: TranscriptPlan,
    *,
    workers: int | None = None,
    done: dict[int, GradeResult] | None = None,
    on_start: Callable[[PlanItem], None] | None = None,
    on_result: Callable[[PlanItem, GradeResult], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    partition: str = "",
) -> dict[int, GradeResult]:
    """Grade every matched item not in ``done``; returns all results by item number.

    ``partition`` is the caller's share of the result cache (``Grader.accept``): a job
    grades in its owner's, so one key never sees another key's cached grades."""
    results = dict(done or {})
    todo = [i for i in plan.items if i.gradable and i.item not in results]
    if not todo:
        return results
    n = min(workers or grader.transcript_settings.transcript_workers, len(todo))
    with ThreadPoolExecutor(n, thread_name_prefix="grader-transcript") as pool:
        futures = {
            pool.submit(_grade_one, grader, i, on_start, should_stop, partition): i for i in todo
        }
        for future in as_completed(futures):
            result = future.result()
            if result is None:  # stopped before it started
                continue
            item = futures[future]
            results[item.item] = result
            if on_result:
                on_result(item, result)
    return results


def _grade_one(
    grader: Grader,
    item: PlanItem,
    on_start: Callable[[PlanItem], None] | None,
    should_stop: Callable[[], bool] | None,
    partition: str = "",
) -> GradeResult | None:
    if should_stop and should_stop():
        return None
    if on_start:
        on_start(item)
    assert item.match is not None
    try:
        with grader.judge_gate.background():  # single answers go first (grading/gate.py)
            return grader.grade(item.match.question_id, item.answer, partition)
    except GraderError as exc:
        return ungraded(grader, item, str(exc))
    except Exception as exc:  # one answer's bug must not sink the interview
        log.exception("grading item %d failed", item.item)
        return ungraded(grader, item, f"internal error ({type(exc).__name__}); see the log")


def ungraded(grader: Grader, item: PlanItem, reason: str) -> GradeResult:
    """A visible failure: no score, the reason, flagged for review."""
    match = item.match
    assert match is not None
    try:
        rubric = grader.bank.get(match.question_id).rubric
        max_points, version = rubric.max_points, rubric.version
    except UnknownQuestionError:  # the bank changed under a resumed job
        max_points, version = 0.0, 1
    subject = Subject(match.question_id, match.question_number, max_points, version)
    return grader.results.ungraded(subject, reason)


def provenance(grader: Grader) -> dict[str, Any]:
    judge = grader.judge
    return {
        "config_hash": grader.config_hash,
        "bank_hash": grader.bank.content_hash,
        "embedder": grader.embedder.name,
        "judge": judge.name if judge else None,
        "prompt_version": judge.prompt_version if judge else None,
    }

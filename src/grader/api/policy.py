"""The feedback policy: how much of a grade a caller sees, applied when a response is sent.

A view, never a change to what is graded or stored: results and transcript reports are
stored in full and redacted per request, at the caller's level (``FeedbackLevel``):

* ``full``: unchanged (the operator, self-study);
* ``hints``: verdicts and points per criterion under an opaque label ("Point 1"),
  misconceptions as a count and their penalty, and feedback that names the rubric's
  topics to revisit: no criterion id, description, partial-credit text, misconception
  description or correction;
* ``score``: status, score, level, needs_review and the (prefilter's or judge's) reason only.

Free text that may quote the answer key (review reasons, the ungraded reason) is scrubbed:
criterion and misconception ids become their labels, quoted judge output is dropped, and a
line that still contains answer-key text is withheld.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from grader.config import ApiSettings
from grader.models import (
    CriterionVerdict,
    Feedback,
    FeedbackLevel,
    GradeResult,
    MisconceptionFinding,
    Question,
)
from grader.text import normalise
from grader.transcripts.rollup import ItemReport, TranscriptReport, gaps, review, strengths

__all__ = ["FeedbackLevel", "feedback_level", "redact_report", "redact_result"]

R = TypeVar("R", bound=GradeResult)
_RANK: dict[FeedbackLevel, int] = {"full": 0, "hints": 1, "score": 2}
WITHHELD = "(withheld: it would reveal the answer key)"
_QUOTED = re.compile(r"\s*\((?:'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")\)")


def feedback_level(api: ApiSettings, *, grade_only: bool) -> FeedbackLevel:
    """The level for a caller: grade-only keys get ``GRADER_GRADE_ONLY_FEEDBACK_LEVEL``, full
    keys and the open API ``GRADER_FEEDBACK_LEVEL``; ``GRADER_EXPOSE_RUBRIC=false`` caps
    both at ``hints``."""
    level = api.grade_only_feedback_level if grade_only else api.feedback_level
    if not api.expose_rubric and _RANK[level] < _RANK["hints"]:
        return "hints"
    return level


# --------------------------------------------------------------------------- one result


class _Key:
    """A question's answer key: the secret phrases and the opaque label of every id."""

    def __init__(self, question: Question) -> None:
        rubric = question.rubric
        self.labels = {c.id: f"point {n}" for n, c in enumerate(rubric.criteria, 1)}
        self.labels.update(
            {m.id: f"misconception {n}" for n, m in enumerate(rubric.misconceptions, 1)}
        )
        phrases = [c.description for c in rubric.criteria]
        phrases += [c.partial_credit for c in rubric.criteria if c.partial_credit]
        phrases += [m.description for m in rubric.misconceptions]
        phrases += [m.correction for m in rubric.misconceptions]
        self.phrases = [normalise(p) for p in phrases]
        ids = sorted(self.labels, key=len, reverse=True)
        self.ids = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, ids)) + r")(?![\w-])")
        self.topics = rubric.topics

    def scrub(self, text: str | None) -> str | None:
        if text is None:
            return None
        out = self.ids.sub(lambda m: self.labels[m[1]], _QUOTED.sub("", text))
        flat = normalise(out)
        return WITHHELD if any(p in flat for p in self.phrases) else out


def redact_result(result: R, question: Question, level: FeedbackLevel) -> R:
    """``result`` as a caller at ``level`` may see it (a copy; ``full`` returns it as is)."""
    if level == "full":
        return result
    key = _Key(question)
    reason = key.scrub(result.reason)
    prefilter = result.prefilter
    if prefilter is not None:
        prefilter = prefilter.model_copy(update={"reason": key.scrub(prefilter.reason)})
    if level == "score":
        summary = None if result.score is None else f"Score {result.score:g}/{result.max_score:g}."
        return result.model_copy(
            update={
                "reason": reason,
                "criteria": [],
                "misconceptions": [],
                "feedback": Feedback(summary=summary) if summary else None,
                "review_reasons": [],
                "prefilter": prefilter,
            }
        )
    criteria = [
        v.model_copy(update={"id": f"point-{n}", "description": f"Point {n}"})
        for n, v in enumerate(result.criteria, 1)
    ]
    misconceptions = [
        m.model_copy(
            update={
                "id": f"misconception-{n}",
                "description": f"Misconception {n}",
                "correction": "",
            }
        )
        for n, m in enumerate(result.misconceptions, 1)
    ]
    return result.model_copy(
        update={
            "reason": reason,
            "criteria": criteria,
            "misconceptions": misconceptions,
            "feedback": _hints(result, reason, criteria, misconceptions, key.topics),
            "review_reasons": [key.scrub(r) or "" for r in result.review_reasons],
            "prefilter": prefilter,
        }
    )


def _hints(
    result: GradeResult,
    reason: str | None,
    criteria: list[CriterionVerdict],
    misconceptions: list[MisconceptionFinding],
    topics: list[str],
) -> Feedback | None:
    """Counts, points and topics: what to revisit, in no criterion's words."""
    if result.feedback is None:
        return None
    n = len(criteria)
    met = [v for v in criteria if v.verdict == "met"]
    partial = [v for v in criteria if v.verdict == "partial"]
    missed = [v for v in criteria if v.verdict == "not_met"]
    revisit = f"; revisit: {', '.join(topics)}" if topics else ""
    if result.status == "short_circuited":
        summary = f"Not graded by the judge: {reason}."
    else:
        summary = f"{(result.level or 'ungraded').capitalize()} answer."
    if result.score is not None:
        summary += f" Score {result.score:g}/{result.max_score:g}; covers {len(met)} of {n} points"
        summary += f" and states {len(misconceptions)} misconception(s)." if misconceptions else "."
    to_add = []
    if missed:
        pts = sum(v.max_points for v in missed)
        to_add.append(f"Missing {len(missed)} of {n} points worth {pts:g} pts{revisit}")
    if partial:
        got = sum(v.awarded for v in partial)
        pts = sum(v.max_points for v in partial)
        to_add.append(f"Partly covered {len(partial)} of {n} points ({got:g}/{pts:g} pts)")
    strengths_ = [f"Covers {len(met)} of {n} points"] if met else []
    corrections = []
    if misconceptions:
        penalty = sum(m.penalty for m in misconceptions)
        corrections.append(f"States {len(misconceptions)} misconception(s) (−{penalty:g}){revisit}")
    return Feedback(summary=summary, strengths=strengths_, to_add=to_add, corrections=corrections)


# --------------------------------------------------------------------------- transcript report


def redact_report(
    report: TranscriptReport, question: Callable[[str], Question], level: FeedbackLevel
) -> TranscriptReport:
    """The report at ``level``: every item's result redacted, and the findings rebuilt from
    the redacted items (``question`` looks a bank question up by id)."""
    if level == "full":
        return report
    items = [_item(i, question, level) for i in report.items]
    return report.model_copy(
        update={
            "items": items,
            "strengths": strengths(items),
            "gaps": gaps(items),
            "review": review(items),
        }
    )


def _item(
    item: ItemReport, question: Callable[[str], Question], level: FeedbackLevel
) -> ItemReport:
    if item.result is None:
        return item  # not graded: reasons are about matching, not the answer key
    bank_question = question(item.result.question_id)
    key = _Key(bank_question)
    result = redact_result(item.result, bank_question, level)
    own = set(item.result.review_reasons)
    reasons = [
        key.scrub(r) or ""
        for r in item.review_reasons
        if level == "hints" or r not in own  # score: only the transcript's own reasons
    ]
    return item.model_copy(
        update={
            "result": result,
            "reason": result.reason,
            "feedback": result.feedback.summary if result.feedback else None,
            "review_reasons": reasons,
            "needs_review": item.needs_review,
        }
    )

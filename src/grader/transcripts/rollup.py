"""The transcript report: per-item results rolled up into one view of the interview.

Arithmetic, stated once:

* **scored** items are those with a score: ``graded`` and ``short_circuited``
  (an empty answer or "I don't know" scores 0 and counts);
* the **overall** score is the mean of the scored items' normalised scores
  (0..1, shown as a percentage); ``ungraded`` items (the grader failed) are
  excluded and counted, and *not graded* items (small talk, not in the bank)
  never have a score;
* a **topic**'s score is the mean normalised score of the scored items whose
  rubric lists that topic (an item with two topics counts in both).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from grader.grading.scoring import level_for
from grader.models import GradeResult, Level
from grader.transcripts.match import PlanItem, QuestionMatch, SkipCode, TranscriptPlan

ItemStatus = Literal["graded", "short_circuited", "ungraded", "not_graded"]
SCORED = ("graded", "short_circuited")
STRONG, WEAK = 0.65, 0.4  # topic means that count as a strength / a gap


class ItemReport(BaseModel):
    item: int
    turns: list[int]
    questions: list[str] = Field(description="Interviewer's wording; follow-ups after the first.")
    answer: str = Field(description="Everything the candidate said for this item.")
    match: QuestionMatch | None = None
    status: ItemStatus
    reason: str | None = Field(default=None, description="Why not graded / ungraded.")
    skip_code: SkipCode | None = None
    score: float | None = None
    max_score: float | None = None
    normalized: float | None = None
    level: Level | None = None
    feedback: str | None = None
    needs_review: bool = False
    review_reasons: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    result: GradeResult | None = Field(default=None, description="The full grade of the answer.")


class Overall(BaseModel):
    normalized: float | None = Field(description="Mean normalised score of scored items, 0..1.")
    percent: float | None
    level: Level | None
    score: float = Field(description="Sum of scored items' points.")
    max_score: float = Field(description="Sum of scored items' maximum points.")
    scored: int = Field(description="Items with a score (graded + short-circuited).")
    graded: int
    short_circuited: int
    ungraded: int = Field(description="The grader failed: no score, excluded from the mean.")
    not_graded: int = Field(description="Small talk and questions not in the bank.")
    items: int


class TopicScore(BaseModel):
    topic: str
    items: int
    normalized: float
    percent: float
    question_ids: list[str]


class Finding(BaseModel):
    item: int
    question_id: str
    text: str


class ReviewItem(BaseModel):
    item: int
    question_id: str | None
    reasons: list[str]


class TranscriptReport(BaseModel):
    """The whole interview graded.  The JSON form is the machine-readable truth."""

    candidate: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    source: str | None = None
    format: str
    created: str
    overall: Overall
    topics: list[TopicScore]
    strengths: list[Finding]
    gaps: list[Finding]
    review: list[ReviewItem]
    items: list[ItemReport]
    matching: dict[str, Any] = Field(description="Threshold and embedder used to match.")
    provenance: dict[str, Any] = Field(default_factory=dict)


# --------------------------------------------------------------------------- build


def item_report(item: PlanItem, result: GradeResult | None) -> ItemReport:
    base = ItemReport(
        item=item.item,
        turns=item.turns,
        questions=item.questions,
        answer=item.answer,
        match=item.match,
        status="not_graded",
        notes=item.notes,
    )
    if item.match is None or result is None:
        base.reason = item.skip_reason or "not graded"
        base.skip_code = item.skip_code
        if item.review_reason:
            base.needs_review, base.review_reasons = True, [item.review_reason]
        return base
    reasons = list(result.review_reasons) if result.needs_review else []
    if item.match.low_confidence:
        reasons.append(f"question match uncertain: {item.match.reason}")
    if not item.answer.strip():
        reasons.append("no answer recorded for this question (transcript gap?)")
    base.status = result.status
    base.reason = result.reason
    base.score, base.max_score = result.score, result.max_score
    base.normalized, base.level = result.normalized, result.level
    base.feedback = result.feedback.summary if result.feedback else None
    base.needs_review, base.review_reasons = bool(reasons), reasons
    base.result = result
    return base


def build_report(
    plan: TranscriptPlan,
    results: dict[int, GradeResult],
    provenance: dict[str, Any] | None = None,
) -> TranscriptReport:
    """Roll the per-item results (keyed by item number) into the report."""
    items = [item_report(i, results.get(i.item)) for i in plan.items]
    t = plan.transcript
    return TranscriptReport(
        candidate=t.candidate,
        metadata=t.metadata,
        source=t.source,
        format=t.format,
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        overall=overall(items),
        topics=topics(items),
        strengths=strengths(items),
        gaps=gaps(items),
        review=review(items),
        items=items,
        matching={"threshold": plan.threshold, "embedder": plan.embedder},
        provenance=provenance or {},
    )


def overall(items: list[ItemReport]) -> Overall:
    scored = [i for i in items if i.status in SCORED and i.normalized is not None]
    mean = round(sum(i.normalized or 0.0 for i in scored) / len(scored), 4) if scored else None
    return Overall(
        normalized=mean,
        percent=round(mean * 100, 1) if mean is not None else None,
        level=level_for(mean) if mean is not None else None,
        score=round(sum(i.score or 0.0 for i in scored), 2),
        max_score=round(sum(i.max_score or 0.0 for i in scored), 2),
        scored=len(scored),
        graded=sum(i.status == "graded" for i in items),
        short_circuited=sum(i.status == "short_circuited" for i in items),
        ungraded=sum(i.status == "ungraded" for i in items),
        not_graded=sum(i.status == "not_graded" for i in items),
        items=len(items),
    )


def topics(items: list[ItemReport]) -> list[TopicScore]:
    by_topic: dict[str, list[ItemReport]] = {}
    for i in items:
        if i.status in SCORED and i.match is not None and i.normalized is not None:
            for topic in i.match.topics:
                by_topic.setdefault(topic, []).append(i)
    out = []
    for topic, group in by_topic.items():
        mean = round(sum(i.normalized or 0.0 for i in group) / len(group), 4)
        ids = [i.match.question_id for i in group if i.match is not None]
        out.append(
            TopicScore(
                topic=topic,
                items=len(group),
                normalized=mean,
                percent=round(mean * 100, 1),
                question_ids=ids,
            )
        )
    return sorted(out, key=lambda s: (-s.normalized, s.topic))


def strengths(items: list[ItemReport]) -> list[Finding]:
    """Rubric points the candidate met (criterion verdict ``met``), across the interview."""
    out = []
    for i in items:
        if i.result is not None and i.status == "graded":
            for v in i.result.criteria:
                if v.verdict == "met":
                    out.append(
                        Finding(item=i.item, question_id=i.result.question_id, text=v.description)
                    )
    return out


def gaps(items: list[ItemReport]) -> list[Finding]:
    """Misconceptions stated, questions not answered, and the biggest missed rubric points."""
    out = []
    for i in items:
        r = i.result
        if r is None or i.status not in SCORED:
            continue
        for m in r.misconceptions:
            out.append(
                Finding(
                    item=i.item,
                    question_id=r.question_id,
                    text=f"Misconception: {m.description} {m.correction}",
                )
            )
        if i.status == "short_circuited":
            out.append(
                Finding(
                    item=i.item,
                    question_id=r.question_id,
                    text=f"No usable answer ({r.reason}): {_bank_text(i)}",
                )
            )
            continue
        for v in r.criteria:
            if v.verdict == "not_met" and v.max_points >= 0.25 * r.max_score:
                out.append(
                    Finding(item=i.item, question_id=r.question_id, text=f"Missed: {v.description}")
                )
    return out


def _bank_text(item: ItemReport) -> str:
    return item.match.bank_question if item.match else (item.questions or [""])[0]


def review(items: list[ItemReport]) -> list[ReviewItem]:
    out = []
    for i in items:
        qid = i.match.question_id if i.match else None
        if i.status == "ungraded":
            out.append(ReviewItem(item=i.item, question_id=qid, reasons=[f"ungraded: {i.reason}"]))
        elif i.needs_review:
            out.append(ReviewItem(item=i.item, question_id=qid, reasons=i.review_reasons))
    return out


def topic_summary(report: TranscriptReport) -> tuple[list[str], list[str]]:
    """Topics at or above STRONG and below WEAK, as short sentences for the header."""
    strong = [
        f"{t.topic} ({t.percent:g}%, {t.items} q.)" for t in report.topics if t.normalized >= STRONG
    ]
    weak = [
        f"{t.topic} ({t.percent:g}%, {t.items} q.)" for t in report.topics if t.normalized < WEAK
    ]
    return strong, weak

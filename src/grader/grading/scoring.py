"""Criterion verdicts + misconceptions -> points, level, confidence, review flag, feedback."""

from __future__ import annotations

from dataclasses import dataclass

from grader.config import Settings
from grader.grading.judges.base import JudgeResponse
from grader.grading.prefilter import PrefilterOutcome
from grader.models import (
    CriterionVerdict,
    Feedback,
    Level,
    MisconceptionFinding,
    Question,
)
from grader.text import normalise

LEVELS: list[tuple[float, Level]] = [
    (0.85, "excellent"),
    (0.65, "good"),
    (0.4, "partial"),
    (1e-9, "weak"),
]
PARTIAL_SHARE = 0.5  # share of a criterion's points given for partial credit


def level_for(normalized: float) -> Level:
    for floor, name in LEVELS:
        if normalized >= floor:
            return name
    return "none"


def evidence_in_answer(evidence: str | None, answer: str) -> str | None:
    """The quote if it occurs in the answer (whitespace/case-insensitive), else None."""
    if not evidence or not normalise(evidence):
        return None
    return evidence if normalise(evidence) in normalise(answer) else None


@dataclass
class Aggregate:
    score: float
    normalized: float
    level: Level
    criteria: list[CriterionVerdict]
    misconceptions: list[MisconceptionFinding]
    confidence: float
    review_reasons: list[str]
    feedback: Feedback


def aggregate(
    question: Question,
    answer: str,
    judged: JudgeResponse,
    pre: PrefilterOutcome,
    settings: Settings,
) -> Aggregate:
    rubric = question.rubric
    verdicts = [_verdict(c, judged, pre, answer, settings, rubric.scoring) for c in rubric.criteria]
    found = []
    for m in rubric.misconceptions:
        j = judged.misconceptions.get(m.id)
        if j is not None and j.probability >= settings.misconception_probability:
            found.append(
                MisconceptionFinding(
                    id=m.id,
                    description=m.description,
                    penalty=m.penalty,
                    correction=m.correction,
                    probability=round(j.probability, 4),
                    evidence=evidence_in_answer(j.evidence, answer),
                )
            )
    raw = sum(v.awarded for v in verdicts) - sum(f.penalty for f in found)
    score = round(min(max(raw, 0.0), rubric.max_points), 2)
    normalized = round(score / rubric.max_points, 4)
    probs = [v.probability for v in verdicts if v.probability is not None]
    confidence = round(sum(abs(p - 0.5) * 2 for p in probs) / len(probs), 4) if probs else 0.0
    reasons = _review_reasons(verdicts, pre, normalized, settings)
    level = level_for(normalized)
    return Aggregate(
        score,
        normalized,
        level,
        verdicts,
        found,
        confidence,
        reasons,
        feedback_for(question, verdicts, found, score, level),
    )


def _verdict(c, judged, pre, answer, settings, scoring) -> CriterionVerdict:  # type: ignore[no-untyped-def]
    j = judged.criteria.get(c.id)
    p = j.probability if j is not None else 0.0
    hint = pre.hints.get(c.id)
    if p >= settings.met_probability:
        verdict, awarded = "met", c.points
    elif c.partial_credit and p >= settings.partial_probability:
        verdict, awarded = "partial", round(c.points * PARTIAL_SHARE, 2)
    else:
        verdict, awarded = "not_met", 0.0
    if scoring == "expected":
        awarded = min(round(c.points * p * 2) / 2, c.points)  # half-point steps
    evidence = None
    if verdict != "not_met" or awarded > 0:
        evidence = evidence_in_answer(j.evidence if j else None, answer) or (
            hint.sentence if hint else None
        )
    return CriterionVerdict(
        id=c.id,
        description=c.description,
        verdict=verdict,
        awarded=awarded,
        max_points=c.points,
        probability=round(p, 4),
        similarity=hint.similarity if hint else None,
        evidence=evidence,
    )


def _review_reasons(
    verdicts: list[CriterionVerdict], pre: PrefilterOutcome, normalized: float, s: Settings
) -> list[str]:
    reasons = []
    close = [
        v.id
        for v in verdicts
        if v.probability is not None
        and abs(v.probability - s.met_probability) < s.review_margin
        and v.max_points >= 2
    ]
    if close:
        reasons.append(f"judge undecided on: {', '.join(close)}")
    sim = pre.reference_similarity
    if sim is not None and sim >= 0.75 and normalized < 0.3:
        reasons.append(f"answer is close to the reference (similarity {sim:.2f}) but scored low")
    if sim is not None and sim < 0.2 and normalized >= 0.7:
        reasons.append(f"answer is far from the reference (similarity {sim:.2f}) but scored high")
    return reasons


def feedback_for(
    question: Question,
    verdicts: list[CriterionVerdict],
    found: list[MisconceptionFinding],
    score: float,
    level: Level,
) -> Feedback:
    """Feedback built only from the rubric: specific, never invented."""
    by_id = {c.id: c for c in question.rubric.criteria}
    strengths = [v.description for v in verdicts if v.verdict == "met"]
    to_add = []
    for v in verdicts:
        if v.verdict == "partial":
            hint = by_id[v.id].partial_credit
            to_add.append(
                f"Go further ({v.awarded:g}/{v.max_points:g}): {v.description}"
                + (f" (you were credited for: {hint})" if hint else "")
            )
        elif v.verdict == "not_met":
            to_add.append(f"Missing ({v.max_points:g} pts): {v.description}")
    corrections = [f"{f.correction} (−{f.penalty:g})" for f in found]
    met = sum(1 for v in verdicts if v.verdict == "met")
    summary = (
        f"{level.capitalize()} answer: {score:g}/{question.rubric.max_points:g}. "
        f"It covers {met} of {len(verdicts)} rubric points"
    )
    summary += f" and states {len(found)} misconception(s)." if found else "."
    return Feedback(summary=summary, strengths=strengths, to_add=to_add, corrections=corrections)

"""The judge's probabilities -> points, (calibrated) score, level, confidence, review
reasons and feedback, for one judged answer (:func:`score_answer`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from grader.config import ScoringSettings
from grader.grading.judges.base import CriterionEvidence, JudgeResponse
from grader.grading.score_calibration import ScoreCalibration
from grader.models import (
    Criterion,
    CriterionVerdict,
    Feedback,
    Level,
    MisconceptionFinding,
    Question,
    Verdict,
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


TERM_LIST_REASON = (
    "the answer is a bare list of terms, not sentences: naming the rubric's terms "
    "was not counted as evidence of explaining them"
)
TERM_LIST_ADVICE = (
    " It is a list of terms: explain each idea in a sentence or two (what it is, how it works, "
    "why it matters)."
)


@dataclass(frozen=True)
class Scored:
    """A judged answer's points, (calibrated) score, level, review reasons and feedback."""

    raw_score: float  # points, before GRADER_CALIBRATION_PATH
    score: float
    normalized: float
    level: Level
    criteria: list[CriterionVerdict]
    misconceptions: list[MisconceptionFinding]
    confidence: float
    review_reasons: list[str]  # the scorer's, then the judge's, then the term-list note
    feedback: Feedback


def score_answer(
    question: Question,
    answer: str,
    judged: JudgeResponse,
    evidence: Mapping[str, CriterionEvidence],
    *,
    reference_similarity: float | None,
    term_list: bool,
    settings: ScoringSettings,
    calibration: ScoreCalibration | None = None,
) -> Scored:
    """Points -> (calibrated) score -> level -> feedback, each computed once.

    ``evidence`` and ``reference_similarity`` are the prefilter's measures of the
    answer; ``term_list`` says it is a bare list of terms.  Review reasons are
    decided on the points, before calibration.
    """
    rubric = question.rubric
    verdicts = [
        _verdict(c, judged, evidence.get(c.id), answer, rubric.scoring, settings)
        for c in rubric.criteria
    ]
    found = _misconceptions(question, judged, answer, settings)
    points = sum(v.awarded for v in verdicts) - sum(f.penalty for f in found)
    raw_score = round(min(max(points, 0.0), rubric.max_points), 2)
    raw_normalized = round(raw_score / rubric.max_points, 4)
    score, normalized = raw_score, raw_normalized
    if calibration is not None:
        normalized = round(calibration.apply(raw_normalized), 4)
        score = round(normalized * rubric.max_points, 2)
    level = level_for(normalized)
    reasons = _review_reasons(verdicts, reference_similarity, raw_normalized, settings)
    reasons += judged.review_reasons
    feedback = feedback_for(question, verdicts, found, score, level)
    if term_list:
        reasons.append(TERM_LIST_REASON)
        feedback.summary += TERM_LIST_ADVICE
    return Scored(
        raw_score=raw_score,
        score=score,
        normalized=normalized,
        level=level,
        criteria=verdicts,
        misconceptions=found,
        confidence=_confidence(verdicts),
        review_reasons=reasons,
        feedback=feedback,
    )


def _misconceptions(
    question: Question, judged: JudgeResponse, answer: str, settings: ScoringSettings
) -> list[MisconceptionFinding]:
    """The rubric's misconceptions the judge is sure enough the answer states."""
    found = []
    for m in question.rubric.misconceptions:
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
    return found


def _confidence(verdicts: list[CriterionVerdict]) -> float:
    """Mean distance of the judge's probabilities from 0.5, scaled to 0..1."""
    probs = [v.probability for v in verdicts if v.probability is not None]
    return round(sum(abs(p - 0.5) * 2 for p in probs) / len(probs), 4) if probs else 0.0


def _verdict(
    c: Criterion,
    judged: JudgeResponse,
    evidence: CriterionEvidence | None,
    answer: str,
    scoring: Literal["bands", "expected"],
    settings: ScoringSettings,
) -> CriterionVerdict:
    j = judged.criteria.get(c.id)
    p = j.probability if j is not None else 0.0
    verdict: Verdict
    if p >= settings.met_probability:
        verdict, awarded = "met", c.points
    elif c.partial_credit and p >= settings.partial_probability:
        verdict, awarded = "partial", round(c.points * PARTIAL_SHARE, 2)
    else:
        verdict, awarded = "not_met", 0.0
    if scoring == "expected":
        awarded = min(round(c.points * p * 2) / 2, c.points)  # half-point steps
    quote = None
    if verdict != "not_met" or awarded > 0:
        quote = evidence_in_answer(j.evidence if j else None, answer) or (
            evidence.sentence if evidence else None
        )
    return CriterionVerdict(
        id=c.id,
        description=c.description,
        verdict=verdict,
        awarded=awarded,
        max_points=c.points,
        probability=round(p, 4),
        similarity=evidence.similarity if evidence else None,
        evidence=quote,
    )


def _review_reasons(
    verdicts: list[CriterionVerdict],
    reference_similarity: float | None,
    normalized: float,
    s: ScoringSettings,
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
    sim = reference_similarity
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

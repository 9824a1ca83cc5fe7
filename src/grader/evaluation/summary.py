"""Turn a run's records into every number of the report (a :class:`RunSummary`).

Ungraded answers are excluded from every metric and counted with their
reasons.  Short-circuited answers count as scored 0 (that is what the
grader returns for them).  Classification datasets predict ``correct`` when
the normalised score reaches ``threshold``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grader.evaluation import metrics as m
from grader.evaluation.calibration import cross_validated
from grader.evaluation.records import (
    CalibratedAgreement,
    Ceiling,
    Confusion,
    Cost,
    Counts,
    Criteria,
    CriterionAgreement,
    Labels,
    NativeScores,
    Point,
    PrefilterStats,
    QuestionAgreement,
    RunMeta,
    RunRecord,
    RunSummary,
    ScoreAgreement,
    ScoreAgreementCI,
    Scores,
    VerdictAgreement,
)

POSITIVE = "correct"
NEGATIVE = "incorrect"


@dataclass
class Row:
    item_id: str
    question_id: str
    status: str
    human: float | None
    graders: dict[str, float]
    label: str | None
    human_criteria: dict[str, str]
    pred: float | None
    raw: float | None
    pred_criteria: dict[str, str]
    seconds: float
    judge_seconds: float
    calls: int
    prompt_tokens: int
    completion_tokens: int
    reason: str | None
    prefilter_code: str | None
    max_score: float = 10.0
    calibrated: float | None = field(default=None)


def to_row(rec: RunRecord) -> Row:
    h, r = rec.human, rec.result or {}
    usage = r.get("usage") or {}
    max_score = float(r.get("max_score") or 10)

    def on10(v: Any) -> float | None:
        return None if v is None else float(v) / max_score * 10

    return Row(
        item_id=rec.item_id,
        question_id=rec.question_id,
        status=r.get("status", "ungraded"),
        human=h.score10,
        graders=h.graders10 or {},
        label=h.label,
        human_criteria=dict(h.criteria or {}),
        pred=on10(r.get("score")),
        raw=on10(r.get("raw_score") if r.get("raw_score") is not None else r.get("score")),
        pred_criteria={c["id"]: c["verdict"] for c in r.get("criteria", [])},
        seconds=float(rec.seconds),
        judge_seconds=float((usage.get("seconds") or {}).get("judge", 0.0)),
        calls=int(usage.get("judge_calls", 0)),
        prompt_tokens=int(usage.get("prompt_tokens", 0)),
        completion_tokens=int(usage.get("completion_tokens", 0)),
        reason=r.get("reason") or rec.error,
        prefilter_code=(r.get("prefilter") or {}).get("code"),
        max_score=float(h.max_score or 10),
    )


def _with_ci(human: list[float], pred: list[float], n_boot: int, seed: int) -> dict[str, Any]:
    ci = m.bootstrap_ci(human, pred, n_boot=n_boot, seed=seed)
    return {**m.score_agreement(human, pred), "ci95": ci}


def paired(
    rows: list[Row], value: Callable[[Row], float | None] = lambda r: r.pred
) -> tuple[list[float], list[float]]:
    """(human, grader) score lists over the rows where both exist."""
    human: list[float] = []
    pred: list[float] = []
    for r in rows:
        v = value(r)
        if r.human is not None and v is not None:
            human.append(r.human)
            pred.append(v)
    return human, pred


def _rescaled(value: float | None, factor: float) -> float | None:
    return None if value is None else round(value * factor, 4)


def _scores(rows: list[Row], n_boot: int, seed: int) -> Scores:
    human, pred = paired(rows)
    scores = Scores(grader=ScoreAgreementCI.model_validate(_with_ci(human, pred, n_boot, seed)))
    scales = {r.max_score for r in rows}
    if len(scales) == 1 and (native := scales.pop()) != 10 and human:
        f, g = native / 10, scores.grader
        scores.native = NativeScores(
            max_score=native,
            mae=_rescaled(g.mae, f),
            rmse=_rescaled(g.rmse, f),
            bias=_rescaled(g.bias, f),
            pearson=g.pearson,
        )
    return scores


def _ceiling(rows: list[Row], n_boot: int, seed: int) -> Ceiling | None:
    multi = [r for r in rows if len(r.graders) >= 2 and r.pred is not None]
    if not multi:
        return None
    a, b = sorted(multi[0].graders)[:2]
    both = [r for r in multi if a in r.graders and b in r.graders]
    pred = [r.pred or 0.0 for r in both]
    humans = _with_ci([r.graders[a] for r in both], [r.graders[b] for r in both], n_boot, seed)
    return Ceiling(
        graders=(a, b),
        human_vs_human=ScoreAgreementCI.model_validate(humans),
        grader_vs={
            g: ScoreAgreement.model_validate(m.score_agreement([r.graders[g] for r in both], pred))
            for g in (a, b)
        },
    )


def _calibrate_cv(rows: list[Row], folds: int, seed: int) -> bool:
    graded = [r for r in rows if r.status == "graded"]
    human, raw = paired(graded, lambda r: r.raw)
    graded = [r for r in graded if r.human is not None and r.raw is not None]
    values = cross_validated(
        [v / 10 for v in raw],
        [v / 10 for v in human],
        [r.question_id for r in graded],
        k=folds,
        seed=seed,
    )
    if values is None:
        return False
    for r, v in zip(graded, values, strict=True):
        r.calibrated = round(v * 10, 4)
    for r in rows:
        if r.status == "short_circuited":
            r.calibrated = 0.0
    return True


def _labels(rows: list[Row], threshold: float, use_calibrated: bool) -> Labels | None:
    labelled = [r for r in rows if r.label is not None and r.status != "ungraded"]
    if not labelled:
        return None
    value = [(r.calibrated if use_calibrated else r.pred) or 0.0 for r in labelled]
    pred = [POSITIVE if v / 10 >= threshold else NEGATIVE for v in value]
    three = [str(r.label) for r in labelled]
    two = [POSITIVE if t == POSITIVE else NEGATIVE for t in three]
    classes = [POSITIVE, *sorted(set(three) - {POSITIVE, NEGATIVE}), NEGATIVE]
    out = {"threshold": threshold, "2way": m.label_agreement(two, pred, [POSITIVE, NEGATIVE])}
    if len(set(three)) > 2:
        out["3way"] = m.label_agreement(three, pred, classes)
    return Labels.model_validate(out)


def _per_question(rows: list[Row]) -> list[QuestionAgreement]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if r.human is not None and r.pred is not None:
            groups[r.question_id].append(r)
    return [
        QuestionAgreement.model_validate({"question_id": qid, **m.score_agreement(*paired(rs))})
        for qid, rs in sorted(groups.items())
    ]


def _criteria(rows: list[Row]) -> Criteria | None:
    pairs: dict[tuple[str, str], tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
    for r in rows:
        if r.status == "ungraded":
            continue
        for cid, verdict in r.human_criteria.items():
            if cid in r.pred_criteria:
                pairs[(r.question_id, cid)][0].append(verdict)
                pairs[(r.question_id, cid)][1].append(r.pred_criteria[cid])
    if not pairs:
        return None
    all_h = [v for h, _ in pairs.values() for v in h]
    all_p = [v for _, p in pairs.values() for v in p]
    per = []
    for (qid, cid), (h, p) in sorted(pairs.items()):
        stats = m.verdict_agreement(h, p)
        stats.pop("confusion", None)
        per.append(
            CriterionAgreement.model_validate({"question_id": qid, "criterion_id": cid, **stats})
        )
    overall = VerdictAgreement.model_validate(m.verdict_agreement(all_h, all_p))
    return Criteria(overall=overall, per_criterion=per)


def _prefilter(rows: list[Row]) -> PrefilterStats:
    scored = [r for r in rows if r.human is not None and r.status != "ungraded"]
    stats = m.prefilter_decisions(
        [r.human or 0.0 for r in scored], [r.status == "short_circuited" for r in scored]
    )
    stats["error_items"] = [
        {"item_id": r.item_id, "human": r.human, "code": r.prefilter_code, "reason": r.reason}
        for r in scored
        if r.status == "short_circuited" and (r.human or 0) > stats["zero_band"]
    ]
    stats["by_code"] = dict(
        Counter(r.prefilter_code for r in scored if r.status == "short_circuited")
    )
    graded = [r for r in scored if r.status == "graded"]
    short = stats["short_circuited"]
    per_answer = float(np.mean([r.calls for r in graded])) if graded else 0.0
    saved = short * per_answer
    used = sum(r.calls for r in graded)
    stats["answers_saved_share"] = round(short / len(scored), 4) if scored else None
    stats["judge_calls_saved"] = round(saved, 1)
    stats["judge_calls_saved_share"] = round(saved / (saved + used), 4) if saved + used else None
    return PrefilterStats.model_validate(stats)


def _cost(rows: list[Row]) -> Cost:
    secs = np.array([r.seconds for r in rows]) if rows else np.zeros(1)
    n = max(len(rows), 1)
    return Cost(
        answers=len(rows),
        seconds_per_answer=round(float(secs.mean()), 4),
        seconds_p50=round(float(np.percentile(secs, 50)), 4),
        seconds_p95=round(float(np.percentile(secs, 95)), 4),
        judge_seconds_per_answer=round(sum(r.judge_seconds for r in rows) / n, 4),
        judge_calls=sum(r.calls for r in rows),
        judge_calls_per_answer=round(sum(r.calls for r in rows) / n, 3),
        prompt_tokens=sum(r.prompt_tokens for r in rows),
        completion_tokens=sum(r.completion_tokens for r in rows),
        tokens_per_answer=round(sum(r.prompt_tokens + r.completion_tokens for r in rows) / n, 1),
    )


def _calibrated_scores(rows: list[Row], folds: int, n_boot: int, seed: int) -> CalibratedAgreement:
    stats = _with_ci(*paired(rows, lambda r: r.calibrated), n_boot, seed)
    return CalibratedAgreement.model_validate({"folds": folds, "grouped_by": "question", **stats})


def _confusion(human: list[float], pred: list[float]) -> Confusion:
    levels = list(range(m.LEVELS))
    matrix = m.confusion(
        [int(v) for v in m.to_levels(human)], [int(v) for v in m.to_levels(pred)], levels
    )
    return Confusion(labels=levels, matrix=matrix)


def _points(rows: list[Row]) -> list[Point]:
    return [
        Point(
            id=r.item_id,
            q=r.question_id,
            human=r.human,
            pred=r.pred,
            raw=r.raw,
            cal=r.calibrated,
            status=r.status,
        )
        for r in rows
    ]


def summarise(
    records: list[RunRecord],
    meta: RunMeta,
    *,
    threshold: float = 0.5,
    n_boot: int = 1000,
    seed: int = 0,
    folds: int = 5,
) -> RunSummary:
    """Every number of the report, from a run's records and its run.json."""
    rows = [to_row(rec) for rec in records]
    scored = [r for r in rows if r.status != "ungraded"]
    ungraded = [r for r in rows if r.status == "ungraded"]
    calibrated = _calibrate_cv(scored, folds, seed)
    return RunSummary(
        meta=meta.without_items(),
        counts=Counts(
            answers=len(rows),
            graded=sum(r.status == "graded" for r in rows),
            short_circuited=sum(r.status == "short_circuited" for r in rows),
            ungraded=len(ungraded),
            ungraded_reasons=dict(Counter((r.reason or "?")[:100] for r in ungraded)),
        ),
        scores=_scores(scored, n_boot, seed),
        calibrated_cv=_calibrated_scores(scored, folds, n_boot, seed) if calibrated else None,
        ceiling=_ceiling(scored, n_boot, seed),
        confusion=_confusion(*paired(scored)),
        labels=_labels(scored, threshold, False),
        labels_calibrated_cv=_labels(scored, threshold, True) if calibrated else None,
        per_question=_per_question(scored),
        criteria=_criteria(rows),
        prefilter=_prefilter(rows),
        cost=_cost(rows),
        points=_points(rows),
    )

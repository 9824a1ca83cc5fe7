"""Fit the local judge's probe calibration on evals/datasets/nn46 and write it.

    .venv/bin/python bench/fit_probe_calibration.py [--write]

Runs the prefilter and the local judge (raw logits are cached, so a rerun is
fast) over every labelled answer the prefilter passes on, then fits
    P(criterion met)  = sigmoid(a * logit + b * similarity + d * coverage
                                + e * reference_coverage + f * length + c)
    P(misconception)  = sigmoid(ma * logit + mc)
and the map without coverage
    P0(criterion met) = sigmoid(a0 * logit + b0 * similarity + c0),
which serves answers that are bare lists of terms (coverage is no evidence
there) and bounds the first: P(met) <= P0 + max_uplift.  Both come from
logistic regression (similarity: the best answer sentence vs the
criterion; coverage: share of the criterion's content terms in the answer;
reference_coverage: the same for the reference answer; length: log(1 + the
answer's distinct content terms), those clamped to their 5th-95th percentile
over the fitted answers, which is stored with the map).  Reports
criterion/misconception AUC and accuracy under 5-fold cross-validation grouped
by question (no question is in both the fitting and the scoring folds), then
fits on everything; --write saves the map to src/grader/judge/calibrations/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).parent))
from _data import REPO, labelled_answers

from grader.config import Settings
from grader.grading.guard import guard
from grader.grading.judges.calibration import ProbeCalibration
from grader.grading.judges.local.judge import LocalJudge
from grader.grading.judges.similarity import PROMPT_VERSION as SIMILARITY_VERSION
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore

# the criterion features, in the order of the columns of collect()'s rows
FEATURES = ("logit", "similarity", "coverage", "reference_coverage", "length")

LABEL = {"met": 1.0, "partial": 0.5, "not_met": 0.0}
# Coverage may raise P(met) at most this much above the map without it, so a
# string of rubric terms cannot outvote the judge.  Chosen with
# bench/threshold_cv.py (--uplift): 0.2 keeps nn46's QWK (0.80) while answers
# made of rubric terms fall from 6.0 to ~2/10; 0.1 costs 0.02 QWK.
MAX_UPLIFT = 0.2


def subset(numbers: str) -> list[dict[str, object]]:
    """Answers whose id ends in one of ``numbers`` ("1,3,4" -> qNN-01, -03, -04), or all.

    In nn46 every question's answers 01-04 are excellent, good, partial and one
    with a misconception, so "1,3,4" covers the score bands and the misconceptions.
    """
    rows = sorted(labelled_answers(), key=lambda r: str(r["id"]))
    if not numbers:
        return rows
    keep = {f"{int(n):02d}" for n in numbers.split(",")}
    return [r for r in rows if str(r["id"]).rsplit("-", 1)[-1] in keep]


def collect(
    grader: Grader, rows: list[dict[str, object]], cached_only: bool = False
) -> tuple[list[tuple[float, ...]], list[tuple[float, float, str]], list[int]]:
    """Criterion rows (features, label, question), misconception rows, and each
    judged answer's number of content terms."""
    assert isinstance(grader.judge, LocalJudge)
    crit, mis, answer_terms = [], [], []
    t0 = time.perf_counter()
    for i, r in enumerate(rows):
        q = grader.bank.get(str(r["question_id"]))
        cleaned = guard(str(r["answer"])).text
        pre = grader.prefilter.check(q, cleaned)
        if pre.short_circuit or (cached_only and not grader.judge.is_cached(q, cleaned)):
            continue
        request = pre.judge_request(q, cleaned)
        out = grader.judge.judge(request)
        answer_terms.append(request.answer_terms)
        labels = r["criteria"]
        assert isinstance(labels, dict)
        for c in q.rubric.criteria:
            j = out.criteria[c.id]
            h = pre.evidence[c.id]
            crit.append(
                (
                    j.score or 0.0,
                    h.similarity,
                    h.coverage,
                    pre.reference_coverage,
                    float(request.answer_terms),  # made the length feature in main()
                    LABEL[labels[c.id]],
                    q.id,
                )
            )
        present = set(r.get("misconceptions") or [])  # type: ignore[call-overload]
        for m in q.rubric.misconceptions:
            mis.append((out.misconceptions[m.id].score or 0.0, float(m.id in present), q.id))
        if i % 20 == 0:
            print(f"  {i}/{len(rows)} answers, {time.perf_counter() - t0:.0f}s", flush=True)
    return crit, mis, answer_terms


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=10.0, max_iter=1000).fit(x, y, sample_weight=w)


def coefficients(
    model: LogisticRegression, names: tuple[str, ...], intercept: str
) -> dict[str, float]:
    """A fitted map's weights under the calibration file's names, rounded."""
    out = {n: round(float(w), 4) for n, w in zip(names, model.coef_[0], strict=True)}
    return out | {intercept: round(float(model.intercept_[0]), 4)}


def expand(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Partial labels count half as met and half as not met."""
    part = y == 0.5
    xs = np.vstack([x[~part], x[part], x[part]])
    ys = np.concatenate([y[~part], np.ones(part.sum()), np.zeros(part.sum())])
    ws = np.concatenate(
        [np.ones((~part).sum()), np.full(part.sum(), 0.5), np.full(part.sum(), 0.5)]
    )
    return xs, ys, ws


def cross_validate(x: np.ndarray, y: np.ndarray, groups: np.ndarray, name: str) -> None:
    pred = np.zeros(len(y))
    for train, test in GroupKFold(n_splits=5).split(x, y, groups):
        xs, ys, ws = expand(x[train], y[train])
        pred[test] = fit(xs, ys, ws).predict_proba(x[test])[:, 1]
    hard = y != 0.5
    auc = roc_auc_score(y[hard] == 1, pred[hard])
    acc = np.mean((pred[hard] >= 0.5) == (y[hard] == 1))
    print(
        f"{name}: n={len(y)} (met/not {hard.sum()}), cross-validated AUC {auc:.3f}, "
        f"accuracy at 0.5 {acc:.3f}, raw-feature AUC {roc_auc_score(y[hard] == 1, x[hard, 0]):.3f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--write", action="store_true")
    ap.add_argument(
        "--cached-only",
        action="store_true",
        help="use only answers whose probe logits are already cached (no model run)",
    )
    ap.add_argument("--answers", default="", help='e.g. "1,3,4"; default: all labelled answers')
    args = ap.parse_args()
    grader = Grader(Settings(bank_dir=REPO, judge="local"), store=ResultStore(":memory:"))
    crit, mis, answer_terms = collect(grader, subset(args.answers), args.cached_only)
    c = np.array([row[:5] for row in crit])
    # the length feature's range: percentiles over answers, not over criterion rows
    terms_min, terms_max = (int(np.rint(v)) for v in np.percentile(answer_terms, [5, 95]))
    c[:, 4] = np.log1p(np.clip(c[:, 4], terms_min, terms_max))
    y = np.array([row[5] for row in crit])
    cg = np.array([row[6] for row in crit])
    m = np.array([row[:2] for row in mis])
    mg = np.array([row[2] for row in mis])
    cross_validate(c, y, cg, "criteria (all: " + " + ".join(FEATURES) + ")")
    cross_validate(c[:, :4], y, cg, "criteria (cal-v2: without the answer's length)")
    cross_validate(c[:, :2], y, cg, "criteria (logit + similarity)")
    cross_validate(c[:, :1], y, cg, "criteria (logit only)")
    cross_validate(c[:, 1:], y, cg, "criteria (prefilter measures only, no judge)")
    cross_validate(m[:, :1], m[:, 1], mg, "misconceptions (logit)")
    cross_validate(c[:, 1:2], y, cg, "criteria (similarity only: the term-list fallback)")
    cm = fit(*expand(c, y))
    cb = fit(*expand(c[:, :2], y))  # for answers that are bare lists of terms
    mm = fit(m[:, :1], m[:, 1], np.ones(len(m)))
    judge = grader.judge
    assert isinstance(judge, LocalJudge)
    length_range = {"terms_min": terms_min, "terms_max": terms_max}
    cal = {
        "version": "cal-v3",
        **coefficients(cm, ("a", "b", "d", "e", "f"), "c"),
        **length_range,
        **coefficients(cb, ("a0", "b0"), "c0"),
        "max_uplift": MAX_UPLIFT,
        **coefficients(mm, ("ma",), "mc"),
        "fitted_on": f"nn46: {len(c)} criterion labels, {len(m)} misconception labels",
    }
    # The judge without a language model (judge=similarity) uses the same
    # measures minus the logit; its fallback curve is the similarity-only fit.
    cs = fit(*expand(c[:, 1:], y))
    cs0 = fit(*expand(c[:, 1:2], y))
    sim = {
        "version": "sim-v3",
        "a": 0.0,
        **coefficients(cs, ("b", "d", "e", "f"), "c"),
        **length_range,
        "max_uplift": MAX_UPLIFT,
        "fitted_on": cal["fitted_on"],
    }
    print(json.dumps(cal, indent=2))
    print(json.dumps(sim, indent=2))
    print(
        "similarity-only curve (defaults of GRADER_SIMILARITY_CENTER / _SLOPE): "
        f"center {-cs0.intercept_[0] / cs0.coef_[0][0]:.3f}, slope {cs0.coef_[0][0]:.2f}"
    )
    if args.write:
        folder = REPO / "src/grader/judge/calibrations"
        out = folder / ProbeCalibration.file_name("similarity", SIMILARITY_VERSION)
        out.write_text(json.dumps(sim, indent=2) + "\n")
        print(f"wrote {out}")
        out = (
            REPO
            / "src/grader/judge/calibrations"
            / ProbeCalibration.file_name(judge.model, judge.prompt_version)
        )
        out.write_text(json.dumps(cal, indent=2) + "\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()

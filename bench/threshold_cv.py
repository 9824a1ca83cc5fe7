"""Out-of-sample check of the probe calibration plus the aggregation thresholds on nn46.

    .venv/bin/python bench/threshold_cv.py [--cached-only]

The calibration (bench/fit_probe_calibration.py) and the met / partial /
misconception thresholds (settings) are both chosen on nn46, so grading nn46
with them is partly in-sample.  This script repeats both choices inside a
5-fold cross-validation grouped by question: in each outer fold the logistic
maps are fitted on the other folds, the thresholds are picked from a grid by
QWK on the other folds (with inner out-of-fold probabilities), and the held-out
answers are scored.  It prints that nested-CV QWK, the fold choices, the same
folds scored with the shipped thresholds, and a grid of thresholds scored with
out-of-fold probabilities.  Probe logits come from the judge's cache; without
--cached-only missing ones are computed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import pearsonr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score
from sklearn.model_selection import GroupKFold

sys.path.insert(0, str(Path(__file__).parent))
from _data import REPO, labelled_answers

from grader.config import Settings
from grader.grading.guard import guard
from grader.grading.judges.local.judge import LocalJudge
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore

LABEL = {"met": 1.0, "partial": 0.5, "not_met": 0.0}
Thresholds = tuple[float, float, float]  # met, partial, misconception
GRID: list[Thresholds] = [
    (met, round(met - gap, 2), mis)
    for met in (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
    for gap in (0.1, 0.15, 0.2)
    for mis in (0.5, 0.6, 0.7, 0.85, 0.95)
]


@dataclass
class Item:
    question: str
    human: float
    short: bool  # short-circuited by the prefilter: scores 0
    # per criterion: (logit, similarity, coverage, reference coverage, length),
    # points, partial credit allowed, human label
    criteria: list[tuple[tuple[float, ...], float, bool, float]]
    # per misconception: logit, penalty, present
    misconceptions: list[tuple[float, float, bool]]


def collect(grader: Grader, cached_only: bool) -> list[Item]:
    judge = grader.judge
    assert isinstance(judge, LocalJudge), "threshold_cv checks the local judge"
    items = []
    for r in labelled_answers():
        q = grader.bank.get(str(r["question_id"]))
        cleaned = guard(str(r["answer"])).text
        pre = grader.prefilter.check(q, cleaned)
        item = Item(q.id, float(r["score"]), pre.short_circuit, [], [])  # type: ignore[arg-type]
        if not pre.short_circuit:
            if cached_only and not judge.is_cached(q, cleaned):
                continue
            request = pre.judge_request(q, cleaned)
            out = judge.judge(request)
            labels: dict[str, str] = r["criteria"]  # type: ignore[assignment]
            present = set(r.get("misconceptions") or [])  # type: ignore[call-overload]
            item.criteria = [
                (
                    (
                        out.criteria[c.id].score or 0.0,
                        pre.evidence[c.id].similarity,
                        pre.evidence[c.id].coverage,
                        pre.reference_coverage,
                        judge.calibration.length(request.answer_terms),
                    ),
                    c.points,
                    bool(c.partial_credit),
                    LABEL[labels[c.id]],
                )
                for c in q.rubric.criteria
            ]
            item.misconceptions = [
                (out.misconceptions[m.id].score or 0.0, m.penalty, m.id in present)
                for m in q.rubric.misconceptions
            ]
        items.append(item)
    return items


Maps = tuple[LogisticRegression, LogisticRegression, LogisticRegression, float | None]


def fit(items: list[Item], uplift: float | None) -> Maps:
    """The logistic maps of fit_probe_calibration.py (partial labels count half each way):
    criteria with coverage, criteria without it (the bound), misconceptions."""
    x, y, w, mx, my = [], [], [], [], []
    for it in items:
        for features, _, _, label in it.criteria:
            for target, weight in ((1.0, label), (0.0, 1.0 - label)):
                if weight > 0:
                    x.append(list(features))
                    y.append(target)
                    w.append(weight)
        for logit, _, present in it.misconceptions:
            mx.append([logit])
            my.append(float(present))
    crit = LogisticRegression(C=10.0, max_iter=1000).fit(x, y, sample_weight=w)
    base = LogisticRegression(C=10.0).fit([row[:2] for row in x], y, sample_weight=w)
    return crit, base, LogisticRegression(C=10.0).fit(mx, my), uplift


def probabilities(it: Item, maps: Maps) -> tuple[np.ndarray, np.ndarray]:
    crit, base, mis, uplift = maps
    pc = crit.predict_proba([list(c[0]) for c in it.criteria])[:, 1]
    if uplift is not None:
        without = base.predict_proba([list(c[0][:2]) for c in it.criteria])[:, 1]
        pc = np.minimum(pc, without + uplift)
    pm = mis.predict_proba([[m[0]] for m in it.misconceptions])[:, 1] if it.misconceptions else []
    return pc, np.asarray(pm)


def score(it: Item, probs: tuple[np.ndarray, np.ndarray] | None, t: Thresholds) -> float:
    if it.short or probs is None:
        return 0.0
    met, partial, mis = t
    pc, pm = probs
    points = sum(
        c[1] if p >= met else (c[1] / 2 if c[2] and p >= partial else 0.0)
        for p, c in zip(pc, it.criteria, strict=True)
    )
    points -= sum(m[1] for p, m in zip(pm, it.misconceptions, strict=True) if p >= mis)
    return min(max(points, 0.0), 10.0)


def qwk(human: np.ndarray, pred: np.ndarray) -> float:
    h = np.round(human).astype(int)
    p = np.clip(np.round(pred), 0, 10).astype(int)
    return float(cohen_kappa_score(h, p, weights="quadratic"))


def out_of_fold(
    items: list[Item], idx: np.ndarray, groups: np.ndarray, k: int, uplift: float | None
) -> dict[int, tuple]:
    probs: dict[int, tuple] = {}
    for train, test in GroupKFold(n_splits=k).split(idx, groups=groups[idx]):
        maps = fit([items[i] for i in idx[train] if not items[i].short], uplift)
        for i in idx[test]:
            if not items[i].short:
                probs[int(i)] = probabilities(items[i], maps)
    return probs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cached-only", action="store_true")
    ap.add_argument(
        "--uplift",
        type=float,
        default=None,
        help="bound on what coverage adds to P(met) (default: the shipped calibration's; "
        "a negative value means no bound)",
    )
    args = ap.parse_args()
    settings = Settings(bank_dir=REPO, judge="local")
    grader = Grader(settings, store=ResultStore(":memory:"))
    assert isinstance(grader.judge, LocalJudge)
    uplift = grader.judge.calibration.max_uplift if args.uplift is None else args.uplift
    if uplift is not None and uplift < 0:
        uplift = None
    items = collect(grader, args.cached_only)
    human = np.array([it.human for it in items])
    qids = sorted({it.question for it in items})
    groups = np.array([qids.index(it.question) for it in items])
    shipped = (
        settings.met_probability,
        settings.partial_probability,
        settings.misconception_probability,
    )
    nested, fixed, chosen = np.zeros(len(items)), np.zeros(len(items)), []
    everything = np.arange(len(items))
    for train, test in GroupKFold(n_splits=5).split(everything, groups=groups):
        inner = out_of_fold(items, train, groups, 4, uplift)

        def train_qwk(t: Thresholds, train: np.ndarray = train, inner: dict = inner) -> float:
            pred = np.array([score(items[i], inner.get(int(i)), t) for i in train])
            return qwk(human[train], pred)

        best = max(GRID, key=train_qwk)
        chosen.append(best)
        maps = fit([items[i] for i in train if not items[i].short], uplift)
        for i in test:
            probs = None if items[i].short else probabilities(items[i], maps)
            nested[i] = score(items[i], probs, best)
            fixed[i] = score(items[i], probs, shipped)
    print(f"{len(items)} answers, prompt {grader.judge.prompt_version}, coverage uplift {uplift}")
    print(f"fold choices (met, partial, misconception): {chosen}")
    for name, pred in (("nested CV", nested), (f"shipped thresholds {shipped}", fixed)):
        print(
            f"{name}: QWK {qwk(human, pred):.3f}  Pearson {pearsonr(human, pred)[0]:.3f}  "
            f"MAE {np.abs(pred - human).mean():.2f}  bias {np.mean(pred - human):+.2f}"
        )
    oof = out_of_fold(items, everything, groups, 5, uplift)

    def oof_qwk(t: Thresholds) -> float:
        return qwk(human, np.array([score(it, oof.get(i), t) for i, it in enumerate(items)]))

    print("best thresholds with out-of-fold probabilities:")
    for t in sorted(GRID, key=oof_qwk, reverse=True)[:8]:
        print(f"  {t}: QWK {oof_qwk(t):.3f}")


if __name__ == "__main__":
    main()

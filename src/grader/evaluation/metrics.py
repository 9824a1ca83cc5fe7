"""Agreement metrics between the grader and human graders.

Scores are compared on the 0-10 scale.  Metrics that need categories (QWK,
exact / adjacent agreement, the confusion matrix) use integer scores rounded
half up (7.5 -> 8), the same rule for human and grader.  A metric that is
undefined on the data (e.g. Pearson with a constant column) is ``None``, never
a made-up number.  Bootstrap confidence intervals resample answers with a
seeded generator, so a report is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
SCALE = 10  # every score is compared on 0..SCALE
LEVELS = SCALE + 1
VERDICTS = ("not_met", "partial", "met")
SCORE_METRICS = ("qwk", "pearson", "spearman", "mae", "rmse", "exact", "adjacent", "bias")


def _arr(values: Sequence[float] | Array) -> Array:
    return np.asarray(values, dtype=np.float64)


def _clean(value: float) -> float | None:
    return None if value is None or not math.isfinite(value) else round(float(value), 4)


def to_levels(scores: Sequence[float] | Array, scale: int = SCALE) -> npt.NDArray[np.int64]:
    """Scores on 0..scale as integers, rounded half up and clipped."""
    return np.clip(np.floor(_arr(scores) + 0.5), 0, scale).astype(np.int64)


# --------------------------------------------------------------------------- scores


def quadratic_weighted_kappa(
    a: Sequence[int] | npt.NDArray[Any], b: Sequence[int] | npt.NDArray[Any]
) -> float:
    """Cohen's kappa with quadratic weights on integer levels 0..SCALE (nan if undefined)."""
    x, y = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    observed = np.zeros((LEVELS, LEVELS))
    np.add.at(observed, (x, y), 1.0)
    expected = np.outer(observed.sum(1), observed.sum(0)) / max(len(x), 1)
    idx = np.arange(LEVELS)
    weights = (idx[:, None] - idx[None, :]) ** 2
    denom = float((weights * expected).sum())
    if denom == 0:
        return math.nan
    return 1.0 - float((weights * observed).sum()) / denom


def pearson(a: Sequence[float] | Array, b: Sequence[float] | Array) -> float:
    x, y = _arr(a), _arr(b)
    if len(x) < 2 or x.std() == 0 or y.std() == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def _ranks(x: Array) -> Array:
    from scipy.stats import rankdata

    return np.asarray(rankdata(x), dtype=np.float64)


def spearman(a: Sequence[float] | Array, b: Sequence[float] | Array) -> float:
    return pearson(_ranks(_arr(a)), _ranks(_arr(b)))


def mae(human: Sequence[float] | Array, pred: Sequence[float] | Array) -> float:
    return float(np.mean(np.abs(_arr(pred) - _arr(human))))


def rmse(human: Sequence[float] | Array, pred: Sequence[float] | Array) -> float:
    return float(np.sqrt(np.mean((_arr(pred) - _arr(human)) ** 2)))


def bias(human: Sequence[float] | Array, pred: Sequence[float] | Array) -> float:
    """Mean signed error: > 0 means the grader is more generous than the humans."""
    return float(np.mean(_arr(pred) - _arr(human)))


def exact_agreement(human: Sequence[float] | Array, pred: Sequence[float] | Array) -> float:
    return float(np.mean(to_levels(human) == to_levels(pred)))


def adjacent_agreement(human: Sequence[float] | Array, pred: Sequence[float] | Array) -> float:
    """Share of answers whose rounded scores differ by at most 1 point on 0-10."""
    return float(np.mean(np.abs(to_levels(human) - to_levels(pred)) <= 1))


def confusion(human: Sequence[Any], pred: Sequence[Any], labels: Sequence[Any]) -> list[list[int]]:
    """Rows are human labels, columns grader labels, in the order of ``labels``."""
    pos = {label: i for i, label in enumerate(labels)}
    out = [[0] * len(labels) for _ in labels]
    for h, p in zip(human, pred, strict=True):
        out[pos[h]][pos[p]] += 1
    return out


def _metric_fns() -> dict[str, Callable[[Array, Array], float]]:
    return {
        "qwk": lambda h, p: quadratic_weighted_kappa(to_levels(h), to_levels(p)),
        "pearson": pearson,
        "spearman": spearman,
        "mae": mae,
        "rmse": rmse,
        "exact": exact_agreement,
        "adjacent": adjacent_agreement,
        "bias": bias,
    }


def score_agreement(
    human: Sequence[float] | Array, pred: Sequence[float] | Array
) -> dict[str, float | None]:
    """Every score metric (0-10 scale), plus n and both means; empty input gives n=0 only."""
    h, p = _arr(human), _arr(pred)
    out: dict[str, float | None] = {"n": float(len(h))}
    if len(h) == 0:
        return out
    for name, fn in _metric_fns().items():
        out[name] = _clean(fn(h, p))
    out["mean_human"] = _clean(float(h.mean()))
    out["mean_pred"] = _clean(float(p.mean()))
    return out


def bootstrap_ci(
    human: Sequence[float] | Array,
    pred: Sequence[float] | Array,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, list[float] | None]:
    """Percentile bootstrap CI of every score metric, resampling answers (seeded)."""
    h, p = _arr(human), _arr(pred)
    fns = _metric_fns()
    if len(h) < 2 or n_boot < 1:
        return dict.fromkeys(fns)
    rng = np.random.default_rng(seed)
    draws = {name: np.empty(n_boot) for name in fns}
    for b in range(n_boot):
        idx = rng.integers(0, len(h), len(h))
        for name, fn in fns.items():
            draws[name][b] = fn(h[idx], p[idx])
    tail = (1 - level) / 2 * 100
    out: dict[str, list[float] | None] = {}
    for name, values in draws.items():
        finite = values[np.isfinite(values)]
        if len(finite) < n_boot / 2:  # mostly undefined: no honest interval
            out[name] = None
            continue
        lo, hi = np.percentile(finite, [tail, 100 - tail])
        out[name] = [round(float(lo), 4), round(float(hi), 4)]
    return out


# --------------------------------------------------------------------------- labels


def accuracy(true: Sequence[str], pred: Sequence[str]) -> float:
    return float(np.mean([t == p for t, p in zip(true, pred, strict=True)])) if true else math.nan


def per_class(
    true: Sequence[str], pred: Sequence[str], labels: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Precision, recall, F1 and support per label (0 where undefined, as scikit-learn)."""
    out = {}
    for label in labels:
        tp = sum(1 for t, p in zip(true, pred, strict=True) if t == label and p == label)
        n_pred = sum(1 for p in pred if p == label)
        n_true = sum(1 for t in true if t == label)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_true if n_true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[label] = {"precision": precision, "recall": recall, "f1": f1, "support": n_true}
    return out


def macro_f1(true: Sequence[str], pred: Sequence[str], labels: Sequence[str]) -> float:
    scores = per_class(true, pred, labels)
    return float(np.mean([s["f1"] for s in scores.values()])) if scores else math.nan


def label_agreement(
    true: Sequence[str], pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class scores and the confusion matrix of a 2/3-way task."""
    return {
        "n": len(true),
        "labels": list(labels),
        "accuracy": _clean(accuracy(true, pred)),
        "macro_f1": _clean(macro_f1(true, pred, labels)),
        "per_class": {
            k: {m: round(float(v), 4) for m, v in d.items()}
            for k, d in per_class(true, pred, labels).items()
        },
        "confusion": confusion(true, pred, labels),
    }


def verdict_agreement(human: Sequence[str], pred: Sequence[str]) -> dict[str, Any]:
    """Criterion verdicts: 3-way agreement and met-vs-not accuracy / F1 (positive = met)."""
    if not human:
        return {"n": 0}
    met_h = ["met" if v == "met" else "not" for v in human]
    met_p = ["met" if v == "met" else "not" for v in pred]
    return {
        "n": len(human),
        "agreement": _clean(accuracy(human, pred)),
        "met_accuracy": _clean(accuracy(met_h, met_p)),
        "met_f1": _clean(per_class(met_h, met_p, ["met"])["met"]["f1"]),
        "human_met_rate": _clean(met_h.count("met") / len(met_h)),
        "pred_met_rate": _clean(met_p.count("met") / len(met_p)),
        "confusion": confusion(human, pred, VERDICTS),
    }


# --------------------------------------------------------------------------- prefilter


def prefilter_decisions(
    human: Sequence[float], short_circuited: Sequence[bool], zero_band: float = 2.0
) -> dict[str, Any]:
    """Precision / recall of the prefilter's zeroes against humans (<= zero_band on 0-10).

    A short-circuit of an answer a human scored above ``zero_band`` is an error.
    """
    pairs = list(zip(human, short_circuited, strict=True))
    tp = sum(1 for h, s in pairs if s and h <= zero_band)
    fp = sum(1 for h, s in pairs if s and h > zero_band)
    low = sum(1 for h, _ in pairs if h <= zero_band)
    return {
        "n": len(pairs),
        "short_circuited": tp + fp,
        "errors": fp,
        "precision": _clean(tp / (tp + fp)) if tp + fp else None,
        "recall": _clean(tp / low) if low else None,
        "human_low": low,
        "zero_band": zero_band,
    }

"""Fit the monotone score map (isotonic regression) and measure it honestly.

``fit_isotonic`` maps raw normalised grader scores to normalised human scores
and returns a :class:`grader.grading.score_calibration.ScoreCalibration` that serving applies
(GRADER_CALIBRATION_PATH).  ``cross_validated`` reports what the map does on
answers it was not fitted on: k folds grouped by question (so a question's
answers never sit on both sides), each fold predicted by a map fitted on the
others.  Only graded answers are calibrated; short-circuited zeroes stay zero,
as in the pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grader.errors import DatasetError
from grader.grading.score_calibration import ScoreCalibration

MIN_FIT = 10  # fewer graded answers than this cannot support a map


def fit_isotonic(
    raw: Sequence[float], human: Sequence[float], *, fitted_on: str = ""
) -> ScoreCalibration:
    """Isotonic regression of human on raw (both normalised to [0, 1])."""
    from sklearn.isotonic import IsotonicRegression

    if len(raw) < MIN_FIT:
        raise DatasetError(
            f"calibration needs at least {MIN_FIT} graded answers, got {len(raw)}: "
            "run the evaluation on more answers"
        )
    model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    model.fit(np.asarray(raw, dtype=np.float64), np.asarray(human, dtype=np.float64))
    x = [round(float(v), 6) for v in model.X_thresholds_]
    y = [round(float(v), 6) for v in model.y_thresholds_]
    return ScoreCalibration(kind="isotonic", x=x, y=y, fitted_on=fitted_on, n=len(raw))


def folds(groups: Sequence[str], k: int, seed: int) -> list[np.ndarray]:
    """k test-index arrays; grouped by question when there are at least k questions."""
    n = len(groups)
    rng = np.random.default_rng(seed)
    unique = sorted(set(groups))
    if len(unique) >= k:
        order = list(rng.permutation(len(unique)))
        fold_of = {unique[i]: pos % k for pos, i in enumerate(order)}
        assign = np.array([fold_of[g] for g in groups])
    else:
        assign = rng.permutation(n) % k
    return [np.flatnonzero(assign == f) for f in range(k) if np.any(assign == f)]


def cross_validated(
    raw: Sequence[float],
    human: Sequence[float],
    groups: Sequence[str],
    *,
    k: int = 5,
    seed: int = 0,
) -> list[float] | None:
    """Out-of-fold calibrated values for every item, or None when there is too little data."""
    x = np.asarray(raw, dtype=np.float64)
    y = np.asarray(human, dtype=np.float64)
    if len(x) < max(MIN_FIT, 2 * k):
        return None
    out = np.empty(len(x))
    for test in folds(groups, k, seed):
        train = np.setdiff1d(np.arange(len(x)), test)
        if len(train) < MIN_FIT:
            return None
        cal = fit_isotonic(list(x[train]), list(y[train]))
        out[test] = cal.apply_many(list(x[test]))
    return [float(v) for v in out]

"""Agreement metrics: hand-computed values and the reference implementations (sklearn, scipy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import cohen_kappa_score, confusion_matrix, f1_score

from grader.evaluation import metrics as m


def test_qwk_hand_computed() -> None:
    assert m.quadratic_weighted_kappa([0, 3, 10], [0, 3, 10]) == pytest.approx(1.0)
    assert m.quadratic_weighted_kappa([0, 10], [10, 0]) == pytest.approx(-1.0)
    # O: (0,0)=1 (0,10)=1 (10,10)=2; E = outer([2,2],[1,3])/4; sum W*O=100, sum W*E=200
    assert m.quadratic_weighted_kappa([0, 0, 10, 10], [0, 10, 10, 10]) == pytest.approx(0.5)


def test_qwk_undefined_when_both_constant() -> None:
    assert math.isnan(m.quadratic_weighted_kappa([5, 5, 5], [5, 5, 5]))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_qwk_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    human = rng.integers(0, 11, 200)
    pred = np.clip(human + rng.integers(-3, 4, 200), 0, 10)
    ours = m.quadratic_weighted_kappa(human, pred)
    ref = cohen_kappa_score(human, pred, weights="quadratic", labels=list(range(11)))
    assert ours == pytest.approx(ref, abs=1e-12)


def test_rounding_is_half_up_and_clipped() -> None:
    assert list(m.to_levels([7.5, 0.5, 2.49, 9.99, -1, 12])) == [8, 1, 2, 10, 0, 10]


def test_error_metrics_hand_computed() -> None:
    human, pred = [0, 5, 10], [1, 5, 7]
    assert m.mae(human, pred) == pytest.approx(4 / 3)
    assert m.rmse(human, pred) == pytest.approx(math.sqrt(10 / 3))
    assert m.bias(human, pred) == pytest.approx(-2 / 3)
    assert m.exact_agreement(human, pred) == pytest.approx(1 / 3)
    assert m.adjacent_agreement(human, pred) == pytest.approx(2 / 3)


@pytest.mark.parametrize("seed", [0, 7])
def test_correlations_match_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    human = rng.integers(0, 11, 80).astype(float)
    pred = human * 0.6 + rng.normal(0, 2, 80)
    assert m.pearson(human, pred) == pytest.approx(pearsonr(human, pred)[0])
    assert m.spearman(human, pred) == pytest.approx(spearmanr(human, pred)[0])


def test_correlation_of_a_constant_is_undefined_not_zero() -> None:
    assert math.isnan(m.pearson([1, 2, 3], [4, 4, 4]))
    stats = m.score_agreement([1, 2, 3], [4, 4, 4])
    assert stats["pearson"] is None and stats["spearman"] is None
    assert stats["mae"] == pytest.approx(2.0)


def test_score_agreement_of_nothing_reports_only_n() -> None:
    assert m.score_agreement([], []) == {"n": 0.0}


def test_confusion_matches_sklearn() -> None:
    rng = np.random.default_rng(3)
    human = list(rng.integers(0, 11, 100))
    pred = list(rng.integers(0, 11, 100))
    labels = list(range(11))
    assert m.confusion(human, pred, labels) == confusion_matrix(human, pred, labels=labels).tolist()


def test_macro_f1_and_accuracy_match_sklearn() -> None:
    true = ["correct", "incorrect", "contradictory", "correct", "incorrect", "correct"]
    pred = ["correct", "correct", "incorrect", "correct", "incorrect", "incorrect"]
    labels = ["correct", "contradictory", "incorrect"]
    ref = f1_score(true, pred, labels=labels, average="macro", zero_division=0)
    assert m.macro_f1(true, pred, labels) == pytest.approx(ref)
    assert m.accuracy(true, pred) == pytest.approx(3 / 6)
    out = m.label_agreement(true, pred, labels)
    assert out["confusion"] == confusion_matrix(true, pred, labels=labels).tolist()
    assert out["per_class"]["contradictory"]["f1"] == 0.0  # never predicted: 0, as sklearn


def test_verdict_agreement_hand_computed() -> None:
    human = ["met", "met", "partial", "not_met"]
    pred = ["met", "partial", "partial", "met"]
    out = m.verdict_agreement(human, pred)
    assert out["agreement"] == pytest.approx(0.5)
    # met vs not: human [M, M, n, n], grader [M, n, n, M] -> accuracy 2/4, F1(met) = 0.5
    assert out["met_accuracy"] == pytest.approx(0.5)
    assert out["met_f1"] == pytest.approx(0.5)
    assert out["confusion"] == [[0, 0, 1], [0, 1, 0], [0, 1, 1]]


def test_prefilter_precision_counts_zeroing_a_credited_answer_as_error() -> None:
    out = m.prefilter_decisions([0, 1, 5, 8], [True, False, True, False])
    assert out["short_circuited"] == 2 and out["errors"] == 1
    assert out["precision"] == pytest.approx(0.5)
    assert out["recall"] == pytest.approx(0.5)  # 1 of the 2 answers humans scored <= 2
    assert m.prefilter_decisions([5], [False])["precision"] is None


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    rng = np.random.default_rng(0)
    human = rng.integers(0, 11, 150).astype(float)
    pred = np.clip(human + rng.normal(0, 1.5, 150), 0, 10)
    a = m.bootstrap_ci(human, pred, n_boot=300, seed=4)
    assert a == m.bootstrap_ci(human, pred, n_boot=300, seed=4)
    assert a != m.bootstrap_ci(human, pred, n_boot=300, seed=5)
    point = m.score_agreement(human, pred)
    for name in ("qwk", "pearson", "mae"):
        lo, hi = a[name]  # type: ignore[misc]
        assert lo <= point[name] <= hi  # type: ignore[operator]
    assert m.bootstrap_ci([1.0], [2.0])["qwk"] is None

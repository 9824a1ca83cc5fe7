"""The isotonic score map: fit, save, load, apply (monotone), and its use by the pipeline."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from conftest import TINY_BANK
from grader.bank.loader import load_bank
from grader.config import Settings
from grader.errors import ConfigError, DatasetError
from grader.evaluation.calibration import cross_validated, fit_isotonic, folds
from grader.grading.judges import CriterionJudgement, JudgeResponse
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.grading.score_calibration import ScoreCalibration, load_calibration
from grader.grading.scoring import TERM_LIST_ADVICE, score_answer
from grader.testing import FakeEmbedder
from grader.testing.judge import FakeJudge

GOOD_DROPOUT = (
    "Dropout randomly sets a fraction of activations to zero during training, at every step. "
    "It is active only during training and disabled at inference time. "
    "This prevents co-adaptation of units and acts like averaging many thinned networks."
)
TERMS = (
    "dropout, randomly, activations, zero, training, inference, disabled, co-adaptation, "
    "units, averaging, thinned, networks, fraction, step"
)


def noisy(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    raw = rng.uniform(0, 1, n)
    human = np.clip(raw**2 + rng.normal(0, 0.1, n), 0, 1)  # grader too generous in the middle
    return raw, human


def test_round_trip_gives_the_same_map_as_sklearn(tmp_path: Path) -> None:
    raw, human = noisy()
    cal = fit_isotonic(list(raw), list(human), fitted_on="synthetic")
    path = tmp_path / "cal.json"
    cal.save(path)
    loaded = load_calibration(path)
    assert loaded == cal and loaded.name == cal.name and cal.n == 200
    ref = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(raw, human)
    grid = np.linspace(-0.2, 1.2, 57)
    assert loaded.apply_many(list(grid)) == pytest.approx(list(ref.predict(grid)), abs=1e-5)


def test_map_is_monotone_and_bounded() -> None:
    raw, human = noisy(seed=3)
    cal = fit_isotonic(list(raw), list(human))
    values = cal.apply_many(list(np.linspace(0, 1, 101)))
    assert all(b >= a for a, b in pairwise(values))
    assert min(values) >= 0 and max(values) <= 1
    assert cal.apply(0.5) < 0.5  # learned that the grader is generous


def test_too_few_answers_cannot_be_fitted() -> None:
    with pytest.raises(DatasetError, match="at least 10"):
        fit_isotonic([0.1, 0.2], [0.1, 0.3])


def test_a_non_monotone_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"x": [0, 0.5, 1], "y": [0, 0.8, 0.4]}')
    with pytest.raises(ConfigError, match=r"non-decreasing.*GRADER_CALIBRATION_PATH"):
        load_calibration(path)
    with pytest.raises(ConfigError, match="cannot read"):
        load_calibration(tmp_path / "missing.json")


def test_folds_keep_a_question_on_one_side() -> None:
    groups = [f"q{i % 7}" for i in range(70)]
    parts = folds(groups, 5, seed=1)
    assert sorted(np.concatenate(parts).tolist()) == list(range(70))
    for test in parts:
        inside = {groups[i] for i in test}
        outside = {groups[i] for i in range(70) if i not in set(test.tolist())}
        assert not inside & outside


def test_cross_validated_values_are_out_of_fold() -> None:
    raw, human = noisy(100)
    groups = [f"q{i % 10}" for i in range(100)]
    values = cross_validated(list(raw), list(human), groups, k=5, seed=0)
    assert values is not None and len(values) == 100
    full = fit_isotonic(list(raw), list(human)).apply_many(list(raw))
    assert values != pytest.approx(full)  # not the in-sample map
    assert cross_validated([0.1] * 5, [0.2] * 5, ["a"] * 5) is None


def make(tmp_path: Path, cal: Path | None) -> Grader:
    s = Settings(
        bank_dir=TINY_BANK, cache_dir=tmp_path, embedder="fake", judge="fake", calibration_path=cal
    )
    return Grader(s, embedder=FakeEmbedder(), judge=FakeJudge(), store=ResultStore(":memory:"))


def test_pipeline_applies_the_map_and_keeps_the_raw_score(tmp_path: Path) -> None:
    path = tmp_path / "cal.json"
    ScoreCalibration(x=[0.0, 1.0], y=[0.0, 0.8], fitted_on="test").save(path)
    plain = make(tmp_path, None).grade("q01-dropout", GOOD_DROPOUT)
    grader = make(tmp_path, path)
    result = grader.grade("q01-dropout", GOOD_DROPOUT)
    assert plain.score == plain.raw_score == 10 and plain.provenance.calibration is None
    assert result.raw_score == 10 and result.score == 8 and result.normalized == 0.8
    assert result.level == "good" and "8/10" in (result.feedback.summary if result.feedback else "")
    assert result.provenance.calibration == grader.calibration.name  # type: ignore[union-attr]
    assert result.provenance.config_hash != plain.provenance.config_hash


def test_calibrated_term_list_keeps_its_advice_and_its_review_reasons(tmp_path: Path) -> None:
    path = tmp_path / "cal.json"
    ScoreCalibration(x=[0.0, 1.0], y=[0.0, 0.8]).save(path)
    plain = make(tmp_path, None).grade("q01-dropout", TERMS)
    result = make(tmp_path, path).grade("q01-dropout", TERMS)
    assert plain.score and result.raw_score == plain.score
    assert result.score == round(plain.score * 0.8, 2)
    assert result.feedback and result.level
    assert result.feedback.summary.startswith(
        f"{result.level.capitalize()} answer: {result.score:g}/10."
    )
    assert result.feedback.summary.endswith(TERM_LIST_ADVICE)
    assert result.review_reasons == plain.review_reasons and "term_list" in result.flags


def test_review_reasons_are_decided_on_the_points_before_calibration() -> None:
    question = load_bank(TINY_BANK).get("q01-dropout")
    nothing_met = {c.id: CriterionJudgement(0.0) for c in question.rubric.criteria}
    judged = JudgeResponse(nothing_met, {}, model="m", prompt_version="p")
    lift = ScoreCalibration(x=[0.0, 1.0], y=[0.5, 1.0])
    settings = Settings(bank_dir=TINY_BANK).scoring
    scored = score_answer(
        question,
        "An answer.",
        judged,
        {},
        reference_similarity=0.9,
        term_list=False,
        settings=settings,
        calibration=lift,
    )
    assert scored.raw_score == 0 and scored.score == 5
    assert any("close to the reference" in r and "scored low" in r for r in scored.review_reasons)


def test_short_circuited_zero_is_not_calibrated(tmp_path: Path) -> None:
    path = tmp_path / "cal.json"
    ScoreCalibration(x=[0.0, 1.0], y=[0.3, 1.0]).save(path)
    result = make(tmp_path, path).grade("q01-dropout", "")
    assert result.status == "short_circuited" and result.score == 0 and result.raw_score == 0


def test_pipeline_refuses_a_bad_calibration_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GRADER_CALIBRATION_PATH"):
        make(tmp_path, tmp_path / "nope.json")

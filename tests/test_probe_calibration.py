"""The local judge's probe calibration and its raw-logit cache (no model needed)."""

from __future__ import annotations

import math
from pathlib import Path

from grader.grading.judges.calibration import ProbeCalibration
from grader.grading.judges.local.logit_cache import LogitCache
from grader.grading.judges.local.prompting import p_yes_from_logits


def test_uncalibrated_map_is_the_raw_probability() -> None:
    cal = ProbeCalibration.load("no-such-model", "no-such-prompt")
    assert cal.version == "uncalibrated"
    assert cal.criterion(0.0, 0.9) == 0.5
    assert abs(cal.criterion(2.0, 0.0) - 0.8808) < 1e-4


def test_calibrated_map_is_monotone_in_logit_and_similarity() -> None:
    cal = ProbeCalibration(version="t", a=1.5, b=3.0, c=-1.0, ma=2.0, mc=-3.0)
    logits = [-4.0, -1.0, 0.0, 1.0, 4.0]
    probs = [cal.criterion(z, 0.5) for z in logits]
    assert probs == sorted(probs) and probs[0] < 0.05 < 0.95 < probs[-1]
    assert cal.criterion(0.0, 0.2) < cal.criterion(0.0, 0.8)
    assert cal.misconception(0.0) < 0.05 < cal.misconception(3.0)


def test_coverage_raises_p_met_and_none_falls_back_to_the_judge_only_map() -> None:
    cal = ProbeCalibration(version="t", a=1.5, b=1.0, c=-3.0, d=4.0, e=5.0, a0=2.0, b0=3.0, c0=-2.0)
    assert cal.criterion(0.0, 0.5, 0.1, 0.1) < cal.criterion(0.0, 0.5, 0.8, 0.1)
    assert cal.criterion(0.0, 0.5, 0.5, 0.1) < cal.criterion(0.0, 0.5, 0.5, 0.6)
    # sigmoid(1.5 * 1 + 1 * 0.5 + 4 * 0.5 + 5 * 0.2 - 3) = sigmoid(2)
    assert cal.criterion(1.0, 0.5, 0.5, 0.2) == 0.8808
    # no coverage (a bare list of terms): sigmoid(2 * 1 + 3 * 0.5 - 2) = sigmoid(1.5)
    assert cal.criterion(1.0, 0.5, None, None) == 0.8176
    # files without a judge-only map use the main one without the coverage terms
    plain = ProbeCalibration(version="t", a=1.5, b=1.0, c=-3.0, d=4.0, e=5.0)
    assert plain.criterion(1.0, 0.5, None, None) == round(1 / (1 + math.exp(1.0)), 4)


def test_answer_length_enters_with_coverage_within_the_fitted_range() -> None:
    cal = ProbeCalibration(
        version="t", a=1.0, c=0.0, d=2.0, f=-0.5, terms_min=10, terms_max=100, a0=1.0, c0=0.0
    )
    # length = log(1 + terms) with terms clamped to [10, 100]
    assert cal.length(3) == cal.length(10) == math.log(11)
    assert cal.length(40) == math.log(41)
    assert cal.length(500) == cal.length(100) == math.log(101)
    # sigmoid(1 * 1 + 2 * 0.5 - 0.5 * log(41))
    expected = round(1 / (1 + math.exp(-(2.0 - 0.5 * math.log(41)))), 4)
    assert cal.criterion(1.0, 0.0, 0.5, 0.0, 40) == expected
    # same coverage, fewer terms: more likely met (f < 0); outside the range: no change
    assert cal.criterion(1.0, 0.0, 0.5, 0.0, 15) > cal.criterion(1.0, 0.0, 0.5, 0.0, 60)
    assert cal.criterion(1.0, 0.0, 0.5, 0.0, 2) == cal.criterion(1.0, 0.0, 0.5, 0.0, 10)
    assert cal.criterion(1.0, 0.0, 0.5, 0.0, 900) == cal.criterion(1.0, 0.0, 0.5, 0.0, 100)
    # without coverage (a bare term list) the length is not used either
    assert cal.criterion(1.0, 0.0, None, None, 15) == cal.criterion(1.0, 0.0, None, None, 90)


def test_shipped_map_has_a_fitted_length_term() -> None:
    cal = ProbeCalibration.load("qwen2.5-coder-1.5b-instruct-q4_k_m", "checklist-v4")
    assert cal.version == "cal-v3" and cal.f < 0
    assert cal.terms_max is not None and 0 < cal.terms_min < cal.terms_max


def test_calibration_digest_changes_with_any_coefficient() -> None:
    base = ProbeCalibration(version="t", a=1.5, d=4.0)
    assert base.digest == ProbeCalibration(version="t", a=1.5, d=4.0).digest
    assert base.digest != ProbeCalibration(version="t", a=1.5, d=4.5).digest
    assert base.digest != ProbeCalibration(version="t", a=1.5, d=4.0, c0=0.1).digest
    assert base.digest != ProbeCalibration(version="t", a=1.5, d=4.0, terms_min=5).digest


def test_shipped_calibrations_load() -> None:
    folder = Path(__file__).resolve().parents[1] / "src/grader/grading/judges/calibrations"
    paths = sorted(folder.glob("*.json"))
    assert paths, f"no calibration files in {folder}"
    for path in paths:
        model, prompt = path.stem.split("--")
        assert ProbeCalibration.load(model, prompt).version != "uncalibrated"


def test_logit_cache_round_trip(tmp_path: Path) -> None:
    cache = LogitCache(tmp_path / "c.sqlite")
    assert cache.get("k") is None
    cache.put("k", [0.5, -1.25])
    assert LogitCache(tmp_path / "c.sqlite").get("k") == [0.5, -1.25]


def test_p_yes_reads_yes_against_no_tokens() -> None:
    logits = [0.0] * 10
    logits[3] = 2.0  # "yes"
    logits[7] = 0.0  # "no"
    p = p_yes_from_logits(logits, [3], [7])
    assert abs(p - 0.8808) < 1e-4

"""Every GradeResult is built in one place and stamped alike (grader.grading.results)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from api_support import GOOD_DROPOUT
from conftest import TINY_BANK
from grader.config import Settings
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.grading.results import Subject
from grader.grading.score_calibration import ScoreCalibration
from grader.testing import FakeEmbedder, FakeJudge
from grader.transcripts.grade import grade_items, make_plan
from grader.transcripts.parse import parse_transcript


def make(tmp_path: Path, judge: FakeJudge | None = None, **settings: object) -> Grader:
    path = tmp_path / "cal.json"
    ScoreCalibration(x=[0.0, 1.0], y=[0.0, 0.8], fitted_on="test").save(path)
    s = Settings(
        bank_dir=TINY_BANK,
        cache_dir=tmp_path,
        embedder="fake",
        judge="fake",
        calibration_path=path,
        **settings,  # type: ignore[arg-type]
    )
    return Grader(s, embedder=FakeEmbedder(), judge=judge, store=ResultStore(":memory:"))


@pytest.mark.parametrize(
    ("answer", "mode", "status"),
    [
        (GOOD_DROPOUT, "overlap", "graded"),
        ("", "overlap", "short_circuited"),
        (GOOD_DROPOUT, "fail", "ungraded"),
    ],
)
def test_every_kind_of_result_names_the_score_calibration(
    tmp_path: Path, answer: str, mode: str, status: str
) -> None:
    grader = make(tmp_path, FakeJudge(mode=mode))
    result = grader.grade("q01-dropout", answer)
    assert result.status == status
    assert grader.calibration is not None
    assert result.provenance.calibration == grader.calibration.name


def test_an_answer_a_transcript_could_not_grade_names_the_score_calibration(
    tmp_path: Path,
) -> None:
    grader = make(tmp_path, FakeJudge(), max_answer_chars=100)
    turns = [{"question_id": "q01-dropout", "answer": "dropout " * 50}]  # over the limit
    plan = make_plan(grader, parse_transcript(json.dumps({"turns": turns}).encode()))
    (result,) = grade_items(grader, plan).values()
    assert result.status == "ungraded" and "GRADER_MAX_ANSWER_CHARS" in (result.reason or "")
    assert grader.calibration is not None
    assert result.provenance.calibration == grader.calibration.name
    assert result.provenance.config_hash == grader.config_hash


def test_ungraded_has_a_reason_and_never_a_score(tmp_path: Path) -> None:
    grader = make(tmp_path, FakeJudge())
    question = grader.bank.get("q01-dropout")
    result = grader.results.ungraded(Subject.of(question), "the judge was unreachable")
    assert result.status == "ungraded" and result.reason == "the judge was unreachable"
    assert (result.score, result.raw_score, result.normalized, result.level) == (
        None,
        None,
        None,
        None,
    )
    assert result.needs_review and result.review_reasons == ["the judge was unreachable"]
    assert result.max_score == question.rubric.max_points


def test_graded_result_names_the_model_and_prompt_that_judged_it(tmp_path: Path) -> None:
    result = make(tmp_path, FakeJudge()).grade("q01-dropout", GOOD_DROPOUT)
    assert result.provenance.judge == "fake" and result.provenance.judge_model == "fake"
    assert result.provenance.prompt_version == "fake-v1"


def test_results_name_the_judge_in_use_when_they_are_built(tmp_path: Path) -> None:
    grader = make(tmp_path, FakeJudge(mode="fail"))
    assert grader.grade("q01-dropout", GOOD_DROPOUT).provenance.judge == "fake:fail"
    grader.judge = FakeJudge()
    assert grader.grade("q01-dropout", GOOD_DROPOUT).provenance.judge == "fake"

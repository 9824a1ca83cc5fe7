"""The run files as typed models: runs written before them load and serialise byte for byte.

The run directories under fixtures/eval_runs were written by the dict-based harness
(before the models existed) with the fake embedder and judge:

    nn46-sample     nn46 --sample 24 --bootstrap 20 --folds 2   criteria, isotonic CV
    semeval-small   SemEval-style records --bootstrap 20        3-way labels, native 0-1
    mohler-small    Mohler-style records --bootstrap 20         human ceiling, native 0-5
    semeval-fail    the same with judge fake:fail               ungraded answers, 2-way only
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import FIXTURES
from grader.cli.main import app
from grader.evaluation import metrics as m
from grader.evaluation.harness import RESULTS, RUN, load_run
from grader.evaluation.records import (
    Labels,
    RunMeta,
    RunRecord,
    RunSummary,
    ScoreAgreement,
    VerdictAgreement,
)

RUNS = FIXTURES / "eval_runs"
NAMES = ["nn46-sample", "semeval-small", "mohler-small", "semeval-fail"]
REPORT_ARGS = {
    "nn46-sample": ["--bootstrap", "20", "--folds", "2"],
    "semeval-small": ["--bootstrap", "20"],
    "mohler-small": ["--bootstrap", "20"],
    "semeval-fail": ["--bootstrap", "20"],
}


@pytest.mark.parametrize("name", NAMES)
def test_metrics_json_of_an_old_run_reserialises_byte_for_byte(name: str) -> None:
    text = (RUNS / name / "metrics.json").read_text(encoding="utf-8")
    summary = RunSummary.model_validate_json(text)
    assert json.dumps(summary.to_json(), indent=1) + "\n" == text


@pytest.mark.parametrize("name", NAMES)
def test_run_json_and_results_of_an_old_run_reserialise_byte_for_byte(name: str) -> None:
    run = (RUNS / name / RUN).read_text(encoding="utf-8")
    assert json.dumps(RunMeta.model_validate_json(run).to_json(), indent=2) + "\n" == run
    for line in (RUNS / name / RESULTS).read_text(encoding="utf-8").splitlines():
        record = RunRecord.model_validate_json(line)
        assert json.dumps(record.to_json(), ensure_ascii=False) == line


@pytest.mark.parametrize("name", NAMES)
def test_eval_report_on_an_old_run_writes_the_same_metrics_and_markdown(
    name: str, tmp_path: Path
) -> None:
    run = tmp_path / name
    shutil.copytree(RUNS / name, run)
    result = CliRunner().invoke(app, ["eval", "report", str(run), *REPORT_ARGS[name]])
    assert result.exit_code == 0, result.output
    for file in ("metrics.json", "report.md"):
        assert (run / file).read_text() == (RUNS / name / file).read_text(), file


def test_eval_compare_reads_old_runs() -> None:
    result = CliRunner().invoke(app, ["eval", "compare", *[str(RUNS / n) for n in NAMES]])
    assert result.exit_code == 0, result.output
    assert "| nn46 (n=24) | fake + isotonic (CV) |" in result.output
    assert "human ceiling (grader1_ta_other vs grader2_mohler_me)" in result.output


def test_load_run_types_the_records_and_keeps_the_run_order() -> None:
    records, meta = load_run(RUNS / "nn46-sample")
    assert [r.item_id for r in records] == meta.item_ids and len(records) == 24
    assert {r.status for r in records} == {"graded", "short_circuited"}


def test_summary_meta_leaves_out_the_item_ids() -> None:
    _, meta = load_run(RUNS / "nn46-sample")
    assert "item_ids" in meta.to_json()
    assert "item_ids" not in meta.without_items().to_json()
    assert meta.without_items().to_json() == {
        k: v for k, v in meta.to_json().items() if k != "item_ids"
    }


def test_a_metric_that_does_not_apply_is_absent_not_null() -> None:
    assert ScoreAgreement.model_validate(m.score_agreement([], [])).to_json() == {"n": 0.0}
    assert VerdictAgreement.model_validate(m.verdict_agreement([], [])).to_json() == {"n": 0}
    two = m.label_agreement(["correct"], ["incorrect"], ["correct", "incorrect"])
    labels = Labels.model_validate({"threshold": 0.5, "2way": two}).to_json()
    assert list(labels) == ["threshold", "2way"]


def test_an_undefined_metric_is_written_as_null() -> None:
    constant = ScoreAgreement.model_validate(m.score_agreement([5.0, 5.0], [4.0, 6.0]))
    assert constant.to_json()["pearson"] is None and constant.pearson is None


def test_the_models_hold_every_key_the_metrics_produce() -> None:
    scores = m.score_agreement([1.0, 5.0, 9.0], [2.0, 5.0, 7.0])
    assert list(ScoreAgreement.model_validate(scores).to_json()) == list(scores)
    verdicts = m.verdict_agreement(["met", "partial"], ["met", "not_met"])
    assert list(VerdictAgreement.model_validate(verdicts).to_json()) == list(verdicts)


def test_an_unknown_metric_key_is_refused_rather_than_dropped() -> None:
    with pytest.raises(ValueError, match="kappa"):
        ScoreAgreement.model_validate({"n": 3.0, "kappa": 0.5})

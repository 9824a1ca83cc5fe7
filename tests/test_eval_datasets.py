"""Labelled datasets: our JSONL format, its schema, and the external loaders."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import REPO, TINY_BANK
from grader.bank.loader import load_bank
from grader.cli.main import app
from grader.errors import DatasetError
from grader.evaluation.datasets import load_dataset
from grader.evaluation.labelled import (
    LabelledAnswer,
    check_against_bank,
    labelled_answer_schema,
    read_labelled,
)

DATASETS = Path(os.environ.get("GRADER_DATASETS_DIR", "/work/shared/datasets"))
needs_mohler = pytest.mark.skipif(
    not (DATASETS / "mohler" / "mohler.jsonl").is_file(),
    reason=f"Mohler data not at {DATASETS}/mohler (set GRADER_DATASETS_DIR to run)",
)
needs_semeval = pytest.mark.skipif(
    not (DATASETS / "semeval2013_task7").is_dir(),
    reason=f"SemEval-2013 data not at {DATASETS}/semeval2013_task7",
)

GOOD = {
    "id": "d-1",
    "question_id": "q01-dropout",
    "answer": "Dropout zeroes random activations during training.",
    "score": 6.5,
    "max_score": 10,
    "criteria": {"random-zeroing": "met", "training-only": "partial", "why-it-helps": "not_met"},
    "misconceptions": [],
}


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_nn46_validates_against_the_bank() -> None:
    bank = load_bank(REPO)
    dataset = load_dataset("nn46", DATASETS, bank)  # raises on any unknown id
    assert len(dataset.items) == 292
    for item in dataset.items:
        rubric = bank.get(item.question_id).rubric
        assert item.criteria is not None
        assert set(item.criteria) == {c.id for c in rubric.criteria}
        assert set(item.misconceptions) <= {m.id for m in rubric.misconceptions}
        assert item.human10 is not None and 0 <= item.human10 <= 10


def test_nn46_holdout_validates_against_the_bank() -> None:
    """Answers by writers who never saw the rubrics, labelled blind by two other labellers."""
    bank = load_bank(REPO)
    dataset = load_dataset("nn46-holdout", DATASETS, bank)  # raises on any unknown id
    assert len(dataset.items) == 138
    assert {item.question_id for item in dataset.items} == {q.id for q in bank}
    for item in dataset.items:
        rubric = bank.get(item.question_id).rubric
        assert item.criteria is not None
        assert set(item.criteria) == {c.id for c in rubric.criteria}
        assert set(item.misconceptions) <= {m.id for m in rubric.misconceptions}
        first, second = item.meta["labeller-1"]["score"], item.meta["labeller-2"]["score"]
        assert item.score == (first + second) / 2
        assert set(item.meta["labeller-2"]["criteria"]) == set(item.criteria)


def test_errors_name_file_line_and_field(tmp_path: Path) -> None:
    bad_score = {**GOOD, "id": "d-2", "score": 12}
    typo = {**GOOD, "id": "d-3", "scroe": 3}
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD, "{not json", bad_score, typo])
    with pytest.raises(DatasetError) as exc:
        read_labelled(path)
    text = str(exc.value)
    assert f"{path}:2: invalid JSON" in text
    assert f"{path}:3:" in text and "outside 0..max_score" in text
    assert f"{path}:4: scroe: unknown field" in text


def test_duplicate_ids_and_missing_judgement_are_rejected(tmp_path: Path) -> None:
    no_judgement = {k: v for k, v in GOOD.items() if k != "score"} | {"id": "d-9"}
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD, GOOD, no_judgement])
    with pytest.raises(DatasetError) as exc:
        read_labelled(path)
    assert "duplicate id 'd-1'" in str(exc.value)
    assert "`score` and/or `label`" in str(exc.value)


def test_criteria_and_misconceptions_must_exist_in_the_rubric(tmp_path: Path) -> None:
    wrong = {
        **GOOD,
        "criteria": {"random-zeroing": "met", "made-up": "met"},
        "misconceptions": ["nope"],
    }
    path = write_jsonl(tmp_path / "d.jsonl", [wrong])
    with pytest.raises(DatasetError) as exc:
        load_dataset(str(path), DATASETS, load_bank(TINY_BANK))
    text = str(exc.value)
    assert f"{path}:1: criteria.made-up: not a criterion of q01-dropout" in text
    assert "missing verdicts for ['training-only', 'why-it-helps']" in text
    assert "misconceptions[0]: 'nope'" in text


def test_a_valid_file_in_our_format_loads_against_a_bank(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD])
    dataset = load_dataset(str(path), DATASETS, load_bank(TINY_BANK))
    assert dataset.bank is None and dataset.items[0].human10 == 6.5
    check_against_bank(dataset, load_bank(TINY_BANK))


def test_schema_is_published_on_the_cli() -> None:
    result = CliRunner().invoke(app, ["eval", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema == json.loads(json.dumps(labelled_answer_schema()))
    assert {"id", "question_id", "answer"} <= set(schema["required"])
    assert schema["properties"]["criteria"]["anyOf"][0]["additionalProperties"]["enum"] == [
        "met",
        "partial",
        "not_met",
    ]


def test_unknown_dataset_name_lists_the_names() -> None:
    with pytest.raises(
        DatasetError, match="nn46, nn46-holdout, mohler, semeval-scientsbank, semeval-beetle"
    ):
        load_dataset("no-such-dataset", DATASETS)


def test_external_dataset_missing_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="GRADER_DATASETS_DIR"):
        load_dataset("mohler", tmp_path)


@needs_mohler
def test_mohler_loads_with_two_graders_and_a_built_bank() -> None:
    dataset = load_dataset("mohler", DATASETS)
    assert len(dataset.items) == 2273 and dataset.bank is not None and len(dataset.bank) == 81
    item = dataset.items[0]
    assert item.max_score == 5 and item.human10 == item.score * 2  # type: ignore[operator]
    assert set(item.scores or {}) == {"grader1_ta_other", "grader2_mohler_me"}
    assert item.question_id == "1-1" and dataset.bank.get("1-1").reference.text
    ids = {q.id for q in dataset.bank}
    assert all(i.question_id in ids for i in dataset.items)


@needs_semeval
@pytest.mark.parametrize("name", ["semeval-scientsbank", "semeval-beetle"])
def test_semeval_loads_three_way_labels(name: str) -> None:
    dataset = load_dataset(name, DATASETS)
    labels = {i.label for i in dataset.items}
    assert labels == {"correct", "contradictory", "incorrect"}
    assert all((i.score == 1.0) == (i.label == "correct") for i in dataset.items)
    assert dataset.bank is not None and dataset.has_labels


@pytest.mark.parametrize("spec", ["semeval-beetle:test-unseen-domains", "semeval-scientsbank:x"])
def test_semeval_unknown_split_is_rejected_with_the_choices(spec: str) -> None:
    with pytest.raises(DatasetError, match=r"unknown split .* test-unseen-answers"):
        load_dataset(spec, DATASETS)


def test_labelled_answer_accepts_several_graders_and_labels() -> None:
    item = LabelledAnswer(
        id="x", question_id="q", answer="a", score=4, max_score=5, scores={"a": 4, "b": 3}
    )
    assert item.human10 == 8 and item.graders10() == {"a": 8, "b": 6}
    assert LabelledAnswer(id="y", question_id="q", answer="a", label="correct").human10 is None

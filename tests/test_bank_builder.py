"""Banks built from reference answers alone: valid rubrics, written as a normal bank."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from grader.bank.builder import (
    HOLISTIC_ID,
    MAX_CRITERIA,
    assign_ids,
    bank_from_references,
    clauses,
    write_bank,
)
from grader.bank.loader import load_bank
from grader.cli.main import app
from grader.errors import DatasetError

ITEMS = [
    {
        "question_id": "1.1",
        "question": "What is the role of a prototype program in problem solving?",
        "reference_answer": "To simulate the behaviour of portions of the desired software product.",
    },
    {
        "question_id": "3.7",
        "question": "What do iteration and recursion have in common?",
        "reference_answer": "They both involve repetition; they both have termination tests; "
        "they can both occur infinitely.",
        "answer": "ignored extra field",
    },
    {
        "question_id": "EM_45b",
        "question": "How did you separate the salt from the water?",
        "reference_answer": "No. Greta evaporated the water, leaving the salt behind in the dish.",
    },
]


def test_one_criterion_per_clause_plus_the_whole_meaning() -> None:
    bank = bank_from_references(ITEMS)
    q = bank.get("3-7")
    ids = [c.id for c in q.rubric.criteria]
    assert ids == ["point-1", "point-2", "point-3", HOLISTIC_ID]
    assert q.rubric.criteria[0].description == "States that they both involve repetition."
    assert sum(c.points for c in q.rubric.criteria) == pytest.approx(10)
    assert q.reference.text.startswith("They both involve repetition")


def test_single_clause_reference_is_one_criterion_worth_everything() -> None:
    rubric = bank_from_references(ITEMS).get("1-1").rubric
    assert [(c.id, c.points) for c in rubric.criteria] == [("point-1", 10)]
    assert rubric.criteria[0].partial_credit  # partial credit for stating part of it
    assert rubric.scoring == "expected"  # one coarse criterion: points x P, not all-or-half


def test_fragments_join_a_neighbour_and_names_keep_their_case() -> None:
    assert clauses("No. Greta evaporated the water, leaving the salt behind in the dish.") == [
        "No; Greta evaporated the water, leaving the salt behind in the dish"
    ]
    rubric = bank_from_references(ITEMS).get("em-45b").rubric
    assert rubric.criteria[0].description.startswith("States that No; Greta")


def test_long_references_are_capped() -> None:
    text = " ".join(f"Point number {i} is a separate sentence here." for i in range(12))
    assert len(clauses(text)) == MAX_CRITERIA - 1


def test_ids_are_valid_unique_and_stable() -> None:
    ids = assign_ids(["1.1", "1_1", "EM_45b", "1.1"])
    assert ids == {"1.1": "1-1", "1_1": "1-1-2", "EM_45b": "em-45b"}


def test_conflicting_references_for_one_question_are_rejected() -> None:
    other = {**ITEMS[0], "reference_answer": "Something else entirely."}
    with pytest.raises(DatasetError, match="two different question texts or reference"):
        bank_from_references([ITEMS[0], other])


def test_items_without_a_reference_are_rejected() -> None:
    with pytest.raises(DatasetError, match="reference_answer"):
        bank_from_references([{"question_id": "x", "question": "Why?"}])


def test_written_bank_loads_and_validates(tmp_path: Path) -> None:
    built = bank_from_references(ITEMS)
    loaded = write_bank(built, tmp_path / "bank")
    assert [q.id for q in loaded] == [q.id for q in built]
    assert [q.rubric for q in loaded] == [q.rubric for q in built]
    with pytest.raises(DatasetError, match="not empty"):
        write_bank(built, tmp_path / "bank")


def test_cli_from_references_writes_a_bank(tmp_path: Path) -> None:
    src = tmp_path / "refs.jsonl"
    src.write_text("\n".join(json.dumps(i) for i in ITEMS) + "\n")
    result = CliRunner().invoke(app, ["bank", "from-references", str(src), str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert len(load_bank(tmp_path / "out")) == 3
    ok = CliRunner().invoke(app, ["bank", "validate", str(tmp_path / "out")])
    assert ok.exit_code == 0 and "3 questions" in ok.output


def test_cli_from_references_names_the_bad_line(tmp_path: Path) -> None:
    src = tmp_path / "refs.jsonl"
    src.write_text(json.dumps(ITEMS[0]) + "\n" + json.dumps({"question_id": "x"}) + "\n")
    result = CliRunner().invoke(app, ["bank", "from-references", str(src), str(tmp_path / "o")])
    assert result.exit_code != 0
    assert isinstance(result.exception, DatasetError)
    assert f"{src}:2: question" in str(result.exception)

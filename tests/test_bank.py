"""The bank loader: every validation rule, each with a malformed fixture and its exact error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import TINY_BANK
from grader.bank.loader import load_bank, rubric_json_schema
from grader.errors import BankError, UnknownQuestionError

R1 = "rubrics/q01-dropout.yaml"
R2 = "rubrics/q02-pooling.yaml"
A1 = "reference_answers/q01-dropout.md"


def _edit(rel: str, old: str, new: str) -> Callable[[Path], None]:
    def apply(root: Path) -> None:
        path = root / rel
        text = path.read_text()
        assert old in text, f"fixture changed: {old!r} not in {rel}"
        path.write_text(text.replace(old, new, 1))

    return apply


def _write(rel: str, text: str) -> Callable[[Path], None]:
    return lambda root: (root / rel).write_text(text)


def _delete(rel: str) -> Callable[[Path], None]:
    return lambda root: (root / rel).unlink()


CASES = {
    "negative points": (
        [
            _edit(R1, "points: 4", "points: -1"),
            _edit(R1, "points: 3\n  - id: why", "points: 10\n  - id: why"),
        ],
        [f"{R1}: criteria[0].points: must be > 0, got -1"],
    ),
    "points do not add up": (
        [_edit(R2, "points: 4", "points: 5")],
        [f"{R2}: criteria: points must add up to max_points (10), got 11"],
    ),
    "negative penalty": (
        [_edit(R1, "penalty: 2", "penalty: -2")],
        [f"{R1}: misconceptions[0].penalty: must be >= 0, got -2"],
    ),
    "missing field": (
        [_edit(R2, "question: What is the purpose of pooling layers in CNNs?\n", "")],
        [f"{R2}: question: required field is missing"],
    ),
    "unknown field": (
        [_edit(R2, "version: 1", "version: 1\nmax_pionts: 3")],
        [f"{R2}: max_pionts: unknown field (check the spelling; see `grader bank schema`)"],
    ),
    "wrong type": (
        [_edit(R2, "number: 2", "number: two")],
        [
            f"{R2}: number: Input should be a valid integer, unable to parse string as an integer, got 'two'"
        ],
    ),
    "bad criterion id": (
        [_edit(R2, "id: downsample", "id: Down Sample")],
        [f"{R2}: criteria[0].id: must be lower-case letters, digits and '-', got 'Down Sample'"],
    ),
    "no criteria": (
        [
            _write(
                R2,
                "id: q02-pooling\nnumber: 2\nquestion: Q?\nversion: 1\nmax_points: 10\ncriteria: []\n",
            )
        ],
        [f"{R2}: criteria: must have at least 1 item(s), got []"],
    ),
    "duplicate criterion id": (
        [_edit(R2, "id: invariance", "id: downsample")],
        [f"{R2}: criteria[1].id: duplicate id 'downsample'"],
    ),
    "duplicate question number": (
        [_edit(R2, "number: 2", "number: 1")],
        [f"{R2}: number: duplicate number 1 (also in {R1})"],
    ),
    "id differs from file name": (
        [_edit(R2, "id: q02-pooling", "id: q02-pool")],
        [f"{R2}: id: must equal the file name 'q02-pooling', got 'q02-pool'"],
    ),
    "rubric without reference": (
        [_delete(A1)],
        [
            f"{R1}: id: no reference answer: expected reference_answers/q01-dropout.md with "
            "'question_id: q01-dropout'"
        ],
    ),
    "reference without rubric": (
        [_write("reference_answers/q09-extra.md", "---\nquestion_id: q09-extra\n---\nText.\n")],
        [
            "reference_answers/q09-extra.md: question_id: no rubric with id 'q09-extra': "
            "expected rubrics/q09-extra.yaml"
        ],
    ),
    "reference without front matter": (
        [_write(A1, "Just text.\n")],
        [f"{A1}: missing front matter: start with '---', 'question_id: <id>', '---'"],
    ),
    "empty reference text": (
        [_write(A1, "---\nquestion_id: q01-dropout\n---\n\n")],
        [f"{A1}: text: must not be empty, got ''"],
    ),
    "invalid yaml": (
        [_write(R2, "id: [unclosed\n")],
        [f"{R2}: line 2: invalid YAML: expected ',' or ']', but got '<stream end>'"],
    ),
    "yaml that is not a mapping": (
        [_write(R2, "- just\n- a list\n")],
        [f"{R2}: expected a YAML mapping with id, number, question, …"],
    ),
    "not utf-8": (
        [lambda root: (root / R2).write_bytes(b"id: q02\xff\xfe")],
        [f"{R2}: not UTF-8 text; save the file as UTF-8"],
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_malformed_bank_reports_exact_problem(tiny_bank_dir: Path, case: str) -> None:
    edits, expected = CASES[case]
    for edit in edits:
        edit(tiny_bank_dir)
    with pytest.raises(BankError) as info:
        load_bank(tiny_bank_dir)
    assert [str(p) for p in info.value.problems] == expected


def test_every_problem_is_reported_at_once(tiny_bank_dir: Path) -> None:
    _edit(R2, "points: 4", "points: 5")(tiny_bank_dir)
    _edit(R1, "penalty: 2", "penalty: -2")(tiny_bank_dir)
    _delete("reference_answers/q02-pooling.md")(tiny_bank_dir)
    with pytest.raises(BankError) as info:
        load_bank(tiny_bank_dir)
    assert len(info.value.problems) == 3
    assert str(info.value).startswith("question bank has 3 problem(s):")


def test_missing_directories_are_named(tmp_path: Path) -> None:
    with pytest.raises(BankError) as info:
        load_bank(tmp_path)
    assert [p.file for p in info.value.problems] == [
        f"{tmp_path}/rubrics",
        f"{tmp_path}/reference_answers",
    ]


def test_good_bank_loads_and_looks_up() -> None:
    bank = load_bank(TINY_BANK)
    assert [q.id for q in bank] == ["q01-dropout", "q02-pooling"]
    assert bank.get("q02-pooling").number == 2
    assert bank.get(2).id == bank.get("2").id == bank.get("q2").id == "q02-pooling"
    assert bank.get("q01-dropout").reference.text.startswith("Dropout is a regularization layer.")
    assert len(bank.content_hash) == 16


def test_content_hash_changes_with_any_file(tiny_bank_dir: Path) -> None:
    before = load_bank(tiny_bank_dir).content_hash
    _edit(A1, "Dropout is", "Dropout is really")(tiny_bank_dir)
    assert load_bank(tiny_bank_dir).content_hash != before


def test_unknown_question_names_the_fix() -> None:
    with pytest.raises(UnknownQuestionError, match=r"unknown question 'q99'.*numbers? \(1-2\)"):
        load_bank(TINY_BANK).get("q99")


def test_non_english_bank_loads(tiny_bank_dir: Path) -> None:
    _edit(
        R2,
        "What is the purpose of pooling layers in CNNs?",
        "¿Para qué sirven las capas de pooling?",
    )(tiny_bank_dir)
    assert load_bank(tiny_bank_dir).get(2).text == "¿Para qué sirven las capas de pooling?"


def test_json_schema_describes_rubric_files() -> None:
    schema = rubric_json_schema()
    assert set(schema["required"]) >= {
        "id",
        "number",
        "question",
        "version",
        "max_points",
        "criteria",
    }
    assert schema["additionalProperties"] is False
    json.dumps(schema)

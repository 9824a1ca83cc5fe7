"""Our labelled-answer format: one human-graded answer per JSONL line, validated.

:class:`LabelledAnswer` is one line (its JSON Schema: ``grader eval schema``),
:class:`Dataset` a loaded set of them.  :func:`read_labelled` reads files in our
format, :func:`check_against_bank` checks their ids against a bank; the external
loaders (:mod:`grader.evaluation.external`) reuse the JSONL readers here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from grader.bank.loader import QuestionBank, explain_error, field_path
from grader.errors import DatasetError, UnknownQuestionError
from grader.models import Verdict

MAX_PROBLEMS_SHOWN = 25


class LabelledAnswer(BaseModel):
    """One human-graded answer: one line of a dataset JSONL file."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="Unique within the dataset.")
    question_id: str = Field(min_length=1, description="Bank question id (or the dataset's).")
    answer: str = Field(description="The candidate's answer, verbatim.")
    score: float | None = Field(default=None, ge=0, description="Human score on 0..max_score.")
    max_score: float = Field(default=10, gt=0)
    scores: dict[str, float] | None = Field(
        default=None, description="Each human grader's score on 0..max_score, by grader name."
    )
    label: str | None = Field(
        default=None, description="Class label of 2-/3-way datasets, e.g. correct / incorrect."
    )
    category: str | None = Field(default=None, description="Kind of answer (see the format).")
    criteria: dict[str, Verdict] | None = Field(
        default=None, description="Rubric criterion id -> met | partial | not_met."
    )
    misconceptions: list[str] = Field(default_factory=list, description="Misconception ids.")
    notes: str | None = None
    question: str | None = Field(default=None, description="Question text (reference datasets).")
    reference_answer: str | None = Field(
        default=None, description="Model answer; with `question` a bank is built from it."
    )
    meta: dict[str, Any] = Field(default_factory=dict, description="Anything else, kept as is.")

    @model_validator(mode="after")
    def _check(self) -> LabelledAnswer:
        if self.score is None and self.label is None:
            raise ValueError("give the human judgement: `score` and/or `label`")
        for name, value in [("score", self.score), *(self.scores or {}).items()]:
            if value is not None and not 0 <= value <= self.max_score:
                raise ValueError(f"{name} {value:g} is outside 0..max_score ({self.max_score:g})")
        return self

    @property
    def human10(self) -> float | None:
        """The human score on 0-10."""
        return None if self.score is None else self.score / self.max_score * 10

    def graders10(self) -> dict[str, float]:
        return {k: v / self.max_score * 10 for k, v in (self.scores or {}).items()}


def labelled_answer_schema() -> dict[str, Any]:
    """The published JSON Schema of one dataset line."""
    schema = LabelledAnswer.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "grader labelled answer (one JSONL line)"
    return schema


@dataclass
class Dataset:
    """Labelled answers, the bank they refer to and where each came from."""

    name: str
    items: list[LabelledAnswer]
    bank: QuestionBank | None = None  # None: the configured bank (GRADER_BANK_DIR)
    where: dict[str, str] = field(default_factory=dict)  # item id -> "file:line"
    scale: str = "0-10"
    notes: list[str] = field(default_factory=list)

    @property
    def has_labels(self) -> bool:
        return any(i.label is not None for i in self.items)

    @property
    def has_criteria(self) -> bool:
        return any(i.criteria for i in self.items)


# --------------------------------------------------------------------------- our format


def _problem(where: str, field_: str, message: str) -> str:
    return f"{where}: {field_}: {message}" if field_ else f"{where}: {message}"


def _raise(problems: list[str], what: str) -> None:
    if problems:
        shown = "\n".join(problems[:MAX_PROBLEMS_SHOWN])
        more = len(problems) - MAX_PROBLEMS_SHOWN
        tail = f"\n… and {more} more" if more > 0 else ""
        raise DatasetError(
            f"{what} has {len(problems)} problem(s) (format: `grader eval schema`):\n{shown}{tail}"
        )


def read_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every non-blank line of a UTF-8 file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DatasetError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from None
    return [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]


def jsonl_files(path: Path) -> list[Path]:
    """The file itself, or the ``*.jsonl`` files of a directory (sorted)."""
    if path.is_dir():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise DatasetError(f"{path} has no *.jsonl files")
        return files
    if path.is_file():
        return [path]
    raise DatasetError(f"dataset {path} not found: give a .jsonl file, a directory or a name")


def read_labelled(path: Path) -> tuple[list[LabelledAnswer], dict[str, str]]:
    """Read and validate our format; every problem names file:line and the field."""
    items: list[LabelledAnswer] = []
    where: dict[str, str] = {}
    problems: list[str] = []
    for file in jsonl_files(path):
        for n, line in read_lines(file):
            loc = f"{file}:{n}"
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(_problem(loc, "", f"invalid JSON: {exc.msg} (column {exc.colno})"))
                continue
            try:
                item = LabelledAnswer.model_validate(data)
            except ValidationError as exc:
                problems += [
                    _problem(loc, field_path(tuple(e["loc"])), explain_error(e))
                    for e in exc.errors()
                ]
                continue
            if item.id in where:
                problems.append(_problem(loc, "id", f"duplicate id {item.id!r} ({where[item.id]})"))
                continue
            items.append(item)
            where[item.id] = loc
    _raise(problems, str(path))
    if not items:
        raise DatasetError(f"{path} has no answers")
    return items, where


def check_against_bank(dataset: Dataset, bank: QuestionBank) -> None:
    """Question ids, criterion ids (all of them) and misconception ids must exist in the bank."""
    problems: list[str] = []
    for item in dataset.items:
        loc = dataset.where.get(item.id, item.id)
        try:
            rubric = bank.get(item.question_id).rubric
        except UnknownQuestionError:
            problems.append(_problem(loc, "question_id", f"no question {item.question_id!r}"))
            continue
        ids = [c.id for c in rubric.criteria]
        if item.criteria is not None:
            for key in item.criteria:
                if key not in ids:
                    problems.append(
                        _problem(loc, f"criteria.{key}", f"not a criterion of {rubric.id}: {ids}")
                    )
            missing = [c for c in ids if c not in item.criteria]
            if missing:
                problems.append(_problem(loc, "criteria", f"missing verdicts for {missing}"))
        known = {m.id for m in rubric.misconceptions}
        for i, m in enumerate(item.misconceptions):
            if m not in known:
                problems.append(
                    _problem(loc, f"misconceptions[{i}]", f"{m!r} is not in {sorted(known)}")
                )
    _raise(problems, f"dataset {dataset.name} (against bank {bank.root})")

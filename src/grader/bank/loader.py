"""Load and validate a question bank directory; look questions up.

A bank is ``DIR/rubrics/*.yaml`` plus ``DIR/reference_answers/*.md`` (see
docs/bank-format.md).  Loading is all or nothing: every problem in every file
is collected and raised together as one :class:`BankError`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from grader.errors import BankError, BankProblem, UnknownQuestionError
from grader.models import Question, ReferenceAnswer, Rubric

RUBRICS = "rubrics"
REFERENCES = "reference_answers"
_NUMBER = re.compile(r"[0-9]{1,9}")  # a question number: ASCII digits only
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)(.*)\Z", re.DOTALL)


def field_path(
    loc: tuple[int | str, ...],
) -> str:  # ('criteria', 2, 'points') -> criteria[2].points
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def explain_error(error: Any) -> str:
    """A pydantic error as 'what was expected, got what'."""
    kind, ctx, got = error["type"], error.get("ctx", {}), error.get("input")
    expected: Callable[[], str] | None = {
        "greater_than": lambda: f"must be > {_num(ctx.get('gt'))}",
        "greater_than_equal": lambda: f"must be >= {_num(ctx.get('ge'))}",
        "string_pattern_mismatch": lambda: "must be lower-case letters, digits and '-'",
        "string_too_short": lambda: "must not be empty",
        "too_short": lambda: f"must have at least {ctx.get('min_length')} item(s)",
        "missing": lambda: "required field is missing",
        "extra_forbidden": lambda: "unknown field (check the spelling; see `grader bank schema`)",
    }.get(kind)
    if expected is None:
        return f"{error['msg']}, got {got!r}"
    if kind in ("missing", "extra_forbidden"):
        return expected()
    return f"{expected()}, got {got!r}"


def _validate(model: type[BaseModel], data: Any, file: str) -> tuple[Any, list[BankProblem]]:
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = [
            BankProblem(file, field_path(tuple(e["loc"])), explain_error(e)) for e in exc.errors()
        ]
        return None, problems


def _read_text(path: Path, rel: str) -> tuple[str | None, list[BankProblem]]:
    try:
        return path.read_text(encoding="utf-8"), []
    except UnicodeDecodeError:
        return None, [BankProblem(rel, "", "not UTF-8 text; save the file as UTF-8")]


def parse_rubric(path: Path, rel: str) -> tuple[Rubric | None, list[BankProblem]]:
    text, problems = _read_text(path, rel)
    if text is None:
        return None, problems
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else ""
        return None, [BankProblem(rel, where, f"invalid YAML: {getattr(exc, 'problem', exc)}")]
    if not isinstance(data, dict):
        return None, [BankProblem(rel, "", "expected a YAML mapping with id, number, question, …")]
    rubric, problems = _validate(Rubric, data, rel)
    if rubric is None:
        return None, problems
    return rubric, _check_rubric(rubric, path.stem, rel)


def _check_rubric(rubric: Rubric, stem: str, rel: str) -> list[BankProblem]:
    problems: list[BankProblem] = []
    if rubric.id != stem:
        problems.append(
            BankProblem(rel, "id", f"must equal the file name {stem!r}, got {rubric.id!r}")
        )
    lists = {
        "criteria": [c.id for c in rubric.criteria],
        "misconceptions": [m.id for m in rubric.misconceptions],
    }
    for kind, ids in lists.items():
        seen: set[str] = set()
        for i, item_id in enumerate(ids):
            if item_id in seen:
                problems.append(BankProblem(rel, f"{kind}[{i}].id", f"duplicate id {item_id!r}"))
            seen.add(item_id)
    total = sum(c.points for c in rubric.criteria)
    if abs(total - rubric.max_points) > 1e-6:
        problems.append(
            BankProblem(
                rel,
                "criteria",
                f"points must add up to max_points ({rubric.max_points:g}), got {total:g}",
            )
        )
    return problems


def parse_reference(path: Path, rel: str) -> tuple[ReferenceAnswer | None, list[BankProblem]]:
    text, problems = _read_text(path, rel)
    if text is None:
        return None, problems
    match = _FRONT_MATTER.match(text.lstrip("\ufeff"))
    if match is None:
        return None, [
            BankProblem(
                rel, "", "missing front matter: start with '---', 'question_id: <id>', '---'"
            )
        ]
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        return None, [BankProblem(rel, "front matter", f"invalid YAML: {exc}")]
    if not isinstance(meta, dict):
        return None, [BankProblem(rel, "front matter", "expected 'question_id: <id>'")]
    ref, problems = _validate(ReferenceAnswer, {**meta, "text": match.group(2).strip()}, rel)
    return ref, problems


class QuestionBank:
    """A validated, immutable bank of questions, looked up by id or number."""

    def __init__(self, questions: list[Question], root: Path, content_hash: str) -> None:
        self.root = root
        self.content_hash = content_hash
        self._questions = sorted(questions, key=lambda q: q.number)
        self._by_id = {q.id: q for q in self._questions}
        self._by_number = {q.number: q for q in self._questions}

    @classmethod
    def load(cls, directory: str | Path) -> QuestionBank:
        return load_bank(directory)

    def __iter__(self) -> Iterator[Question]:
        return iter(self._questions)

    def __len__(self) -> int:
        return len(self._questions)

    def get(self, key: str | int) -> Question:
        """Look up by id (``q04-backpropagation``), number (``4``) or ``q4``/``q04``."""
        # ASCII digits only, at most 9: '²'.isdigit() is True but int('²') fails, 'q٣' must not
        # mean q3, and int() of 4,300+ digits raises (all found by the API fuzzer)
        if isinstance(key, bool):  # True is an int to Python, not question 1
            key = str(key).lower()
        if isinstance(key, int) or _NUMBER.fullmatch(key.strip()):
            number = int(key)
            if number in self._by_number:
                return self._by_number[number]
        else:
            key = key.strip()
            if key in self._by_id:
                return self._by_id[key]
            m = re.fullmatch(r"[qQ]([0-9]{1,9})", key)
            if m and int(m.group(1)) in self._by_number:
                return self._by_number[int(m.group(1))]
        numbers = [q.number for q in self._questions]
        span = f"{min(numbers)}-{max(numbers)}" if numbers else "none"
        raise UnknownQuestionError(
            f"unknown question {key!r}: use a question id such as {self._questions[0].id!r} "
            f"or a number ({span}); `grader questions` lists them"
        )


def load_bank(directory: str | Path) -> QuestionBank:
    """Load and validate every file of a bank; raise BankError listing all problems."""
    root = Path(directory).expanduser()
    problems: list[BankProblem] = []
    for sub in (RUBRICS, REFERENCES):
        if not (root / sub).is_dir():
            problems.append(
                BankProblem(
                    f"{root}/{sub}",
                    "",
                    "directory not found: a bank needs "
                    "rubrics/ and reference_answers/ (see docs/bank-format.md)",
                )
            )
    if problems:
        raise BankError(problems)
    digest = hashlib.sha256()
    rubrics: dict[str, tuple[Rubric, str]] = {}
    refs: dict[str, tuple[ReferenceAnswer, str]] = {}
    rubric_files = sorted((root / RUBRICS).glob("*.y*ml"))
    ref_files = sorted((root / REFERENCES).glob("*.md"))
    if not rubric_files:
        problems.append(BankProblem(f"{RUBRICS}/", "", "no rubric files (*.yaml) found"))
    for path in rubric_files:
        rel = f"{RUBRICS}/{path.name}"
        digest.update(rel.encode() + b"\0" + path.read_bytes())
        rubric, found = parse_rubric(path, rel)
        problems += found
        if rubric is not None and rubric.id == path.stem:
            problems += _check_unique(rubric, rel, rubrics)
            rubrics.setdefault(rubric.id, (rubric, rel))
    for path in ref_files:
        rel = f"{REFERENCES}/{path.name}"
        digest.update(rel.encode() + b"\0" + path.read_bytes())
        ref, found = parse_reference(path, rel)
        problems += found
        if ref is None:
            continue
        if ref.question_id in refs:
            problems.append(
                BankProblem(
                    rel,
                    "question_id",
                    f"second reference answer for "
                    f"{ref.question_id!r} (first: {refs[ref.question_id][1]})",
                )
            )
        refs.setdefault(ref.question_id, (ref, rel))
    problems += _check_pairs(
        rubrics, refs, {p.stem for p in ref_files}, {p.stem for p in rubric_files}
    )
    if problems:
        raise BankError(problems)
    questions = [Question(rubric=r, reference=refs[qid][0]) for qid, (r, _) in rubrics.items()]
    return QuestionBank(questions, root, digest.hexdigest()[:16])


def _check_unique(
    rubric: Rubric, rel: str, seen: dict[str, tuple[Rubric, str]]
) -> list[BankProblem]:
    problems = []
    if rubric.id in seen:
        problems.append(
            BankProblem(rel, "id", f"duplicate id {rubric.id!r} (also in {seen[rubric.id][1]})")
        )
    for other, other_rel in seen.values():
        if other.number == rubric.number:
            problems.append(
                BankProblem(
                    rel, "number", f"duplicate number {rubric.number} (also in {other_rel})"
                )
            )
    return problems


def _check_pairs(
    rubrics: dict[str, tuple[Rubric, str]],
    refs: dict[str, tuple[ReferenceAnswer, str]],
    ref_stems: set[str],
    rubric_stems: set[str],
) -> list[BankProblem]:
    problems = []
    for qid, (_, rel) in rubrics.items():
        if qid not in refs and qid not in ref_stems:
            problems.append(
                BankProblem(
                    rel,
                    "id",
                    f"no reference answer: expected "
                    f"{REFERENCES}/{qid}.md with 'question_id: {qid}'",
                )
            )
    for qid, (_, rel) in refs.items():
        if qid not in rubrics and qid not in rubric_stems:
            problems.append(
                BankProblem(
                    rel, "question_id", f"no rubric with id {qid!r}: expected {RUBRICS}/{qid}.yaml"
                )
            )
    return problems


def rubric_json_schema() -> dict[str, Any]:
    """The published JSON Schema of rubric files."""
    schema = Rubric.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "grader rubric"
    return schema


def rubric_json_schema_text() -> str:
    return json.dumps(rubric_json_schema(), indent=2) + "\n"

"""Build a question bank from model answers alone (no rubric written by hand).

For every question the reference answer is split into clauses (sentences,
``;`` and, in long sentences, ``, but`` / ``, whereas``).  Each clause becomes a
criterion "States that <clause>" (partial credit for stating part of it);
when there are two or more clauses, one more criterion asks for the meaning
of the reference as a whole.  Points are split equally so they add up to
``max_points``.  At most :data:`MAX_CRITERIA` criteria: the shortest
neighbouring clauses are merged first.

    bank = bank_from_references(items)          # in memory
    write_bank(bank, Path("my-bank"))           # a normal bank directory

``grader bank from-references FILE.jsonl OUT_DIR`` does both.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grader.bank.loader import REFERENCES, RUBRICS, QuestionBank, load_bank
from grader.errors import DatasetError
from grader.models import Criterion, Question, ReferenceAnswer, Rubric
from grader.text import sentences, words

MAX_CRITERIA = 6
LONG_SENTENCE_WORDS = 20
MIN_CLAUSE_WORDS = 3
_CLAUSE_BREAK = re.compile(r",\s+(?=(?:but|whereas)\s)", re.I)  # contrasts join two claims
_LEADING_CONJUNCTION = re.compile(r"^(?:and|but|so|whereas|while|or)\s+", re.I)
_LOWER_FIRST = frozenset(
    {"a", "an", "the", "it", "its", "they", "their", "this", "that", "these", "those"}
    | {"there", "both", "each", "all", "if", "in", "on", "by", "to", "when", "with", "for"}
    | {"from", "one", "some", "many", "no", "not", "we", "you", "he", "she"}
)
PARTIAL = "States part of this point, or states it only vaguely."
HOLISTIC_ID = "same-meaning"


class ReferenceItem(BaseModel):
    """One question with its model answer; extra fields (answers, scores) are ignored."""

    model_config = ConfigDict(extra="ignore")

    question_id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    reference_answer: str = Field(min_length=1)


def slug(text: str) -> str:
    """A bank id from any question id: ``EM_45b`` -> ``em-45b``, ``1.1`` -> ``1-1``."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "q"


def assign_ids(question_ids: Iterable[str]) -> dict[str, str]:
    """Original question id -> unique bank id, in first-seen order (deterministic)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for original in question_ids:
        if original in out:
            continue
        base = candidate = slug(original)
        n = 2
        while candidate in used:
            candidate = f"{base}-{n}"
            n += 1
        out[original] = candidate
        used.add(candidate)
    return out


def clauses(reference: str) -> list[str]:
    """The reference split into checkable clauses, at most MAX_CRITERIA - 1 of them."""
    parts: list[str] = []
    for sentence in sentences(reference):
        pieces = [p.strip() for p in _CLAUSE_BREAK.split(sentence)]
        if len(words(sentence)) > LONG_SENTENCE_WORDS and all(len(words(p)) >= 4 for p in pieces):
            parts += pieces
        else:
            parts.append(sentence)
    parts = [_LEADING_CONJUNCTION.sub("", p).rstrip(" .;") for p in parts if words(p)]
    short = [i for i, p in enumerate(parts) if len(words(p)) < MIN_CLAUSE_WORDS]
    while short and len(parts) > 1:  # "No." or "40 meters." joins its neighbour
        i = min(short[0], len(parts) - 2)
        parts[i : i + 2] = [f"{parts[i]}; {parts[i + 1]}"]
        short = [i for i, p in enumerate(parts) if len(words(p)) < MIN_CLAUSE_WORDS]
    limit = MAX_CRITERIA - 1
    while len(parts) > limit:
        sizes = [len(words(a)) + len(words(b)) for a, b in pairwise(parts)]
        i = sizes.index(min(sizes))
        parts[i : i + 2] = [f"{parts[i]}; {parts[i + 1]}"]
    return parts


def _states_that(clause: str) -> str:
    lower = clause.split()[0].lower() in _LOWER_FIRST  # keep names and acronyms as written
    return f"States that {clause[0].lower() + clause[1:] if lower else clause}."


def _split_points(total: float, n: int) -> list[float]:
    each = round(total / n, 2)
    return [each] * (n - 1) + [round(total - each * (n - 1), 2)]


def rubric_from_reference(
    question_id: str, number: int, question: str, reference: str, max_points: float = 10.0
) -> Rubric:
    """The rubric derived from one reference answer (see the module docstring)."""
    found = clauses(reference) or [reference.strip()]
    described: list[tuple[str, str, str | None]] = [
        (f"point-{i}", _states_that(c), PARTIAL) for i, c in enumerate(found, 1)
    ]
    if len(found) > 1:
        whole = " ".join(reference.split())
        described.append(
            (HOLISTIC_ID, f'Conveys the same meaning as the reference answer: "{whole}"', None)
        )
    points = _split_points(max_points, len(described))
    criteria = [
        Criterion(id=cid, description=text, points=p, partial_credit=partial)
        for (cid, text, partial), p in zip(described, points, strict=True)
    ]
    return Rubric(
        id=question_id,
        number=number,
        question=question,
        version=1,
        max_points=max_points,
        criteria=criteria,
        # clauses of a short model answer are coarse criteria: score by the judge's confidence
        scoring="expected",
    )


def _items(items: Iterable[ReferenceItem | Mapping[str, Any] | Any]) -> list[ReferenceItem]:
    out = []
    for i, item in enumerate(items, 1):
        data = item.model_dump() if isinstance(item, BaseModel) else item
        try:
            out.append(ReferenceItem.model_validate(data))
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
            raise DatasetError(
                f"item {i}: needs question_id, question and reference_answer (problem: {fields})"
            ) from None
    return out


def bank_from_references(
    items: Iterable[ReferenceItem | Mapping[str, Any] | Any],
    *,
    max_points: float = 10.0,
    source: str = "<references>",
) -> QuestionBank:
    """A validated in-memory bank: one question per distinct ``question_id``."""
    refs = _items(items)
    if not refs:
        raise DatasetError("no items: give at least one question with a reference_answer")
    first: dict[str, ReferenceItem] = {}
    for item in refs:
        seen = first.setdefault(item.question_id, item)
        if (seen.question, seen.reference_answer) != (item.question, item.reference_answer):
            raise DatasetError(
                f"question {item.question_id!r} appears with two different question texts or "
                "reference answers; give each distinct question its own question_id"
            )
    ids = assign_ids(first)
    questions = []
    for number, (original, item) in enumerate(first.items(), 1):
        qid = ids[original]
        rubric = rubric_from_reference(
            qid, number, item.question, item.reference_answer, max_points
        )
        ref = ReferenceAnswer(question_id=qid, text=item.reference_answer.strip())
        questions.append(Question(rubric=rubric, reference=ref))
    blob = json.dumps([q.model_dump() for q in questions], sort_keys=True)
    digest = hashlib.sha256(blob.encode()).hexdigest()[:16]
    return QuestionBank(questions, Path(source), digest)


def write_bank(bank: QuestionBank, out_dir: Path) -> QuestionBank:
    """Write ``rubrics/`` and ``reference_answers/`` to an empty directory; return it loaded."""
    for sub in (RUBRICS, REFERENCES):
        if (out_dir / sub).is_dir() and any((out_dir / sub).iterdir()):
            raise DatasetError(f"{out_dir / sub} is not empty: choose a new output directory")
    (out_dir / RUBRICS).mkdir(parents=True, exist_ok=True)
    (out_dir / REFERENCES).mkdir(parents=True, exist_ok=True)
    for q in bank:
        data = q.rubric.model_dump(exclude_none=True)
        data.pop("misconceptions", None)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        (out_dir / RUBRICS / f"{q.id}.yaml").write_text(text, encoding="utf-8")
        ref = f"---\nquestion_id: {q.id}\n---\n{q.reference.text}\n"
        (out_dir / REFERENCES / f"{q.id}.md").write_text(ref, encoding="utf-8")
    return load_bank(out_dir)


def read_reference_items(path: Path) -> list[ReferenceItem]:
    """Read a JSONL file of items with question_id, question and reference_answer."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            out.append(ReferenceItem.model_validate_json(line))
        except ValidationError as exc:
            e = exc.errors()[0]
            field = ".".join(str(p) for p in e["loc"]) or "line"
            raise DatasetError(
                f"{path}:{n}: {field}: {e['msg']} (each line needs question_id, question and "
                "reference_answer)"
            ) from None
    return out

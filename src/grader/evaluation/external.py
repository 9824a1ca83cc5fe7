"""Loaders for third-party human-graded data (read in place, never copied).

* Mohler / UNT CS short answers v2.0 (``mohler/mohler.jsonl``): gold ``score``
  is the graders' average on 0-5; ``scores`` keeps both graders (rescaled to
  0-5 by the dataset) so the human-human ceiling can be reported.
* SemEval-2013 Task 7 (``semeval2013_task7/{scientsbank,beetle}_<split>.jsonl``):
  ``label`` is the 3-way label (correct / contradictory / incorrect); the 2-way
  label is "correct" vs the rest; ``score`` is 1 for correct, else 0.

Both ship a question and a reference answer per line; the bank is built from
them (:func:`grader.bank.builder.bank_from_references`) and question ids are
mapped to bank ids (``1.1`` -> ``1-1``, ``EM_45b`` -> ``em-45b``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from grader.bank.builder import assign_ids, bank_from_references
from grader.errors import DatasetError
from grader.evaluation.labelled import (
    Dataset,
    LabelledAnswer,
    jsonl_files,
    read_labelled,
    read_lines,
)

MOHLER_GRADERS = {
    "grader1_ta_other": "grader1_ta_other_0_5",
    "grader2_mohler_me": "grader2_mohler_me_0_5",
}


def _mohler(raw: dict[str, Any]) -> dict[str, Any]:
    scores = raw["scores_raw"]
    return {
        "id": raw["answer_id"],
        "question_id": raw["question_id"],
        "answer": raw["answer"],
        "score": raw["score"],
        "max_score": raw["max_score"],
        "scores": {name: scores[key] for name, key in MOHLER_GRADERS.items()},
        "question": raw["question"],
        "reference_answer": raw["reference_answer"],
        "meta": {"source": raw["dataset"], "assignment": raw.get("assignment")},
    }


def _semeval(raw: dict[str, Any]) -> dict[str, Any]:
    labels = raw["scores_raw"]
    return {
        "id": raw["answer_id"],
        "question_id": raw["question_id"],
        "answer": raw["answer"],
        "score": raw["score"],
        "max_score": raw["max_score"],
        "label": labels["label_3way"],
        "question": raw["question"],
        "reference_answer": raw["reference_answer"],
        "meta": {"source": raw["dataset"], "split": raw.get("split")},
    }


def _converter(raw: dict[str, Any]) -> Any:
    source = str(raw.get("dataset", ""))
    if source.startswith("mohler"):
        return _mohler
    if source.startswith("semeval2013"):
        return _semeval
    return None


def is_external(path: Path) -> bool:
    """True when the first line of the (first) file is a Mohler / SemEval record."""
    first = read_lines(jsonl_files(path)[0])[:1]
    if not first:
        return False
    try:
        data = json.loads(first[0][1])
    except json.JSONDecodeError:
        return False
    return isinstance(data, dict) and _converter(data) is not None


def read_external(path: Path) -> tuple[list[LabelledAnswer], dict[str, str]]:
    items: list[LabelledAnswer] = []
    where: dict[str, str] = {}
    for file in jsonl_files(path):
        for n, line in read_lines(file):
            loc = f"{file}:{n}"
            try:
                raw = json.loads(line)
                convert = _converter(raw)
                if convert is None:
                    raise DatasetError(f"{loc}: not a Mohler or SemEval-2013 record")
                item = LabelledAnswer.model_validate(convert(raw))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{loc}: invalid JSON: {exc.msg}") from None
            except KeyError as exc:
                raise DatasetError(f"{loc}: missing field {exc.args[0]!r}") from None
            except ValidationError as exc:
                e = exc.errors()[0]
                field = ".".join(str(p) for p in e["loc"])
                raise DatasetError(f"{loc}: {field}: {e['msg']}") from None
            if item.id in where:
                raise DatasetError(f"{loc}: duplicate answer id {item.id!r} ({where[item.id]})")
            items.append(item)
            where[item.id] = loc
    return items, where


def with_reference_bank(
    name: str, items: list[LabelledAnswer], where: dict[str, str], notes: list[str]
) -> Dataset:
    """A dataset whose bank is built from the items' reference answers."""
    missing = [i.id for i in items if not (i.question and i.reference_answer)]
    if missing:
        raise DatasetError(
            f"{where.get(missing[0], missing[0])}: no `question` / `reference_answer`; "
            f"{len(missing)} item(s) lack them. Give them, or use question ids of the bank"
        )
    bank = bank_from_references(items, source=name)
    ids = assign_ids(i.question_id for i in items)
    remapped = [i.model_copy(update={"question_id": ids[i.question_id]}) for i in items]
    notes = [
        *notes,
        f"rubrics built from the reference answers ({len(bank)} questions; "
        "`grader bank from-references` writes them out)",
    ]
    return Dataset(name, remapped, bank, where, notes=notes)


def load_mohler(datasets_dir: Path) -> Dataset:
    path = datasets_dir / "mohler" / "mohler.jsonl"
    _need(path)
    items, where = read_external(path)
    notes = [
        "Mohler scores are 0-5 (graders' average); compared on 0-10 (x2) and reported back "
        "on 0-5 (native_* figures)",
        "human ceiling: grader1_ta_other vs grader2_mohler_me, both rescaled to 0-5",
    ]
    dataset = with_reference_bank("mohler", items, where, notes)
    dataset.scale = "0-5"
    return dataset


def load_semeval(corpus: str, split: str, datasets_dir: Path) -> Dataset:
    path = datasets_dir / "semeval2013_task7" / f"{corpus}_{split}.jsonl"
    _need(path)
    items, where = read_external(path)
    notes = [
        "labels: 3-way (correct / contradictory / incorrect) and 2-way (correct / incorrect); "
        "the grader predicts 'correct' when its normalised score >= the threshold, else "
        "'incorrect' (it never predicts 'contradictory')",
    ]
    dataset = with_reference_bank(f"semeval-{corpus}-{split}", items, where, notes)
    dataset.scale = "label"
    return dataset


def load_path(path: Path) -> Dataset:
    """A file or directory: external records, or our format (bank from references if given)."""
    if is_external(path):
        items, where = read_external(path)
        return with_reference_bank(path.stem, items, where, [])
    items, where = read_labelled(path)
    if all(i.question and i.reference_answer for i in items):
        return with_reference_bank(path.stem, items, where, [])
    return Dataset(path.stem, items, None, where)


def _need(path: Path) -> None:
    if not path.is_file():
        raise DatasetError(
            f"{path} not found: set GRADER_DATASETS_DIR (or --datasets-dir) to the directory "
            "holding mohler/ and semeval2013_task7/"
        )

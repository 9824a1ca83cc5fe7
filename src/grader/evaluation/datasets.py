"""Labelled datasets by name or path: :func:`load_dataset`.

Names understood by :func:`load_dataset`:

``nn46``                       evals/datasets/nn46 against the configured bank
``nn46-holdout``               evals/datasets/nn46-holdout: answers by separate authors
``mohler``                     DATASETS_DIR/mohler/mohler.jsonl (0-5, two graders)
``semeval-scientsbank[:split]`` DATASETS_DIR/semeval2013_task7/scientsbank_<split>.jsonl
``semeval-beetle[:split]``     (split defaults to ``test-unseen-answers``)

or a path to a ``.jsonl`` file or a directory of them (our format,
:mod:`grader.evaluation.labelled`, or external records).  External questions come
with a reference answer but no rubric: their bank is built on the fly by
:func:`grader.bank.builder.bank_from_references`.

Scales: every score is compared on 0-10 (``score / max_score * 10``); Mohler's
0-5 is doubled and halved back for its native-scale figures.  SemEval labels
keep their 3-way name in ``label``; ``score`` is 1 for ``correct`` and 0
otherwise (the dataset's own mapping).
"""

from __future__ import annotations

from pathlib import Path

from grader.bank.loader import QuestionBank
from grader.config import REPO_ROOT
from grader.errors import DatasetError
from grader.evaluation.external import load_mohler, load_path, load_semeval
from grader.evaluation.labelled import Dataset, check_against_bank, read_labelled

_SPLITS = ("train", "test-unseen-answers", "test-unseen-questions")
SEMEVAL_SPLITS = {"scientsbank": (*_SPLITS, "test-unseen-domains"), "beetle": _SPLITS}
REPO_DATASETS = ("nn46", "nn46-holdout")  # directories under evals/datasets
NAMES = (*REPO_DATASETS, "mohler", "semeval-scientsbank", "semeval-beetle")


def _repo_dataset_dir(name: str) -> Path:
    for root in (Path.cwd(), REPO_ROOT):
        if (root / "evals" / "datasets" / name).is_dir():
            return root / "evals" / "datasets" / name
    raise DatasetError(f"evals/datasets/{name} not found: run from the repository or give a path")


def load_dataset(spec: str, datasets_dir: Path, bank: QuestionBank | None = None) -> Dataset:
    """A dataset by name (see the module docstring) or by path.

    ``bank`` is the configured bank; datasets that refer to bank questions (nn46,
    or a path in our format without reference answers) are checked against it.
    """
    name, _, split = spec.partition(":")
    if name in REPO_DATASETS:
        items, where = read_labelled(_repo_dataset_dir(name))
        dataset = Dataset(name, items, None, where)
    elif name == "mohler":
        dataset = load_mohler(datasets_dir)
    elif name in ("semeval-scientsbank", "semeval-beetle"):
        corpus, split = name.removeprefix("semeval-"), split or "test-unseen-answers"
        if split not in SEMEVAL_SPLITS[corpus]:
            raise DatasetError(
                f"unknown split {split!r} of {corpus}: use {name}:<split> with one of "
                f"{', '.join(SEMEVAL_SPLITS[corpus])}"
            )
        dataset = load_semeval(corpus, split, datasets_dir)
    elif Path(spec).exists():
        dataset = load_path(Path(spec))
    else:
        raise DatasetError(
            f"unknown dataset {spec!r}: give a .jsonl file, a directory of them, or one of "
            f"{', '.join(NAMES)}"
        )
    if dataset.bank is None and bank is not None:
        check_against_bank(dataset, bank)
    return dataset

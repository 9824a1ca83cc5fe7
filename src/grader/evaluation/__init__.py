"""Offline evaluation: agreement of the grader with human graders.

    grader eval nn46 --config prefilter-only
    grader eval mohler --sample 400 --config default --config prefilter-only
    grader eval compare eval-runs/nn46/*

Modules: ``datasets`` (our JSONL format and its schema), ``external`` (Mohler,
SemEval-2013), ``configs`` (evals/configs/*.yaml), ``harness`` (resumable runs),
``metrics``, ``summary`` (all numbers of a run), ``calibration`` (isotonic map),
``report`` / ``plots`` / ``compare`` (Markdown, HTML, JSON), ``cli``.
"""

from __future__ import annotations

from grader.evaluation.datasets import Dataset, LabelledAnswer, labelled_answer_schema, load_dataset

__all__ = ["Dataset", "LabelledAnswer", "labelled_answer_schema", "load_dataset"]

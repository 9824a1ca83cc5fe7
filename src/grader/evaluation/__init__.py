"""Offline evaluation: agreement of the grader with human graders.

    grader eval nn46 --config prefilter-only
    grader eval mohler --sample 400 --config default --config prefilter-only
    grader eval compare eval-runs/nn46/*

Modules: ``labelled`` (our JSONL format and its schema), ``external`` (Mohler,
SemEval-2013), ``datasets`` (datasets by name), ``configs`` (evals/configs/*.yaml),
``harness`` (resumable runs), ``records`` (what a run writes: run.json,
results.jsonl, metrics.json, as typed models), ``metrics``, ``summary`` (all numbers
of a run), ``calibration`` (isotonic map), ``report`` / ``plots`` / ``compare``
(Markdown, HTML, JSON).  The commands are in :mod:`grader.cli.eval`.
"""

from __future__ import annotations

from grader.evaluation.datasets import load_dataset
from grader.evaluation.labelled import Dataset, LabelledAnswer, labelled_answer_schema

__all__ = ["Dataset", "LabelledAnswer", "labelled_answer_schema", "load_dataset"]

"""Shared helpers for the benchmarks: labelled answers from evals/datasets/nn46."""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def labelled_answers() -> list[dict[str, object]]:
    rows = []
    for path in sorted((REPO / "evals" / "datasets" / "nn46").glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows


def answers_of_length(lo: int, hi: int) -> list[dict[str, object]]:
    return [r for r in labelled_answers() if lo <= len(str(r["answer"]).split()) <= hi]

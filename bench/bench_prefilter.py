"""Prefilter latency per answer (~100 words) with the real embedding model.

    .venv/bin/python bench/bench_prefilter.py [--runs 5]

Prints median and p95 over all answers of 80-130 words in evals/datasets/nn46,
each repeated --runs times (median of runs per answer), and the same for the
baseline of embedding the text and its sentences as one ordinary padded batch.
GRADER_EMBED_DTYPE=float32 measures without bfloat16.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _data import REPO, answers_of_length

from grader.bank.loader import load_bank
from grader.config import Settings
from grader.grading.embeddings import embed_separately, make_embedder
from grader.grading.index import BankIndex
from grader.grading.prefilter import Prefilter
from grader.models import Question
from grader.text import sentences


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    settings = Settings(bank_dir=REPO)
    bank = load_bank(REPO)
    t = time.perf_counter()
    embedder = make_embedder("sentence-transformers", settings.n_threads, settings.embed_dtype)
    index = BankIndex(bank, embedder, settings.cache_dir)
    print(
        f"embedder + bank index loaded in {time.perf_counter() - t:.2f}s "
        f"(index cache hit: {index.cache_hit})"
    )
    pre = Prefilter(index, embedder, settings.prefilter)
    rows = answers_of_length(80, 130)
    pre.check(bank.get(str(rows[0]["question_id"])), str(rows[0]["answer"]))  # warm-up
    words = statistics.mean(len(str(r["answer"]).split()) for r in rows)
    print(
        f"prefilter ({embedder.name}, {settings.n_threads} threads): {len(rows)} answers "
        f"of {words:.0f} words on average, {args.runs} runs each"
    )
    packed = measure(rows, args.runs, lambda q, a: pre.check(q, a), bank)
    print(f"  median {statistics.median(packed) * 1000:.1f} ms   p95 {p95(packed) * 1000:.1f} ms")
    # Baseline in the same run: the text and its sentences embedded as one plain batch.
    plain = measure(
        rows, args.runs, lambda q, a: embed_separately(embedder, a, sentences(a)[:64]), bank
    )
    ratio = statistics.median(plain) / statistics.median(packed)
    print(
        f"  baseline, embedding as one padded batch: median "
        f"{statistics.median(plain) * 1000:.1f} ms ({ratio:.1f}x the packed prefilter)"
    )


def measure(
    rows: list[dict[str, object]], runs: int, fn: Callable[[Question, str], object], bank: Any
) -> list[float]:
    """Median seconds per answer over ``runs`` repeats, for every answer."""
    per_answer = []
    for r in rows:
        q = bank.get(str(r["question_id"]))
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            fn(q, str(r["answer"]))
            times.append(time.perf_counter() - t)
        per_answer.append(statistics.median(times))
    return sorted(per_answer)


def p95(values: list[float]) -> float:
    return values[int(0.95 * (len(values) - 1))]


if __name__ == "__main__":
    main()

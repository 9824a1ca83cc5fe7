"""Prefilter latency per answer (~100 words) with the real embedding model.

    .venv/bin/python bench/bench_prefilter.py [--runs 5]

Prints median and p95 over all answers of 80-130 words in evals/datasets/nn46,
each repeated --runs times (median of runs per answer).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _data import REPO, answers_of_length

from grader.bank import load_bank
from grader.config import Settings
from grader.embeddings import make_embedder
from grader.prefilter import BankIndex, Prefilter


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    settings = Settings(bank_dir=REPO)
    bank = load_bank(REPO)
    t = time.perf_counter()
    embedder = make_embedder("sentence-transformers", settings.n_threads)
    index = BankIndex(bank, embedder, settings.cache_dir)
    print(
        f"embedder + bank index loaded in {time.perf_counter() - t:.2f}s "
        f"(index cache hit: {index.cache_hit})"
    )
    pre = Prefilter(index, embedder, settings)
    rows = answers_of_length(80, 130)
    pre.check(bank.get(str(rows[0]["question_id"])), str(rows[0]["answer"]))  # warm-up
    per_answer = []
    for r in rows:
        q = bank.get(str(r["question_id"]))
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            pre.check(q, str(r["answer"]))
            times.append(time.perf_counter() - t)
        per_answer.append(statistics.median(times))
    per_answer.sort()
    p95 = per_answer[int(0.95 * (len(per_answer) - 1))]
    words = statistics.mean(len(str(r["answer"]).split()) for r in rows)
    print(f"prefilter: {len(rows)} answers of {words:.0f} words on average, {args.runs} runs each")
    print(f"  median {statistics.median(per_answer) * 1000:.1f} ms   p95 {p95 * 1000:.1f} ms")


if __name__ == "__main__":
    main()

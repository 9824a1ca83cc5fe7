"""Local judge speed: one answer cold vs many answers to the same question, per stage.

    .venv/bin/python bench/bench_judge.py [--question 11] [--answers 6] [--runs 3]

"single": the KV cache holds another question, so the question part is evaluated
too (anchors are already cached on disk, as on a warm server).  "same question":
answers to one question in a row, reusing the evaluated question prefix.
Also prints the peak resident memory of the process with both models loaded.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _data import REPO, labelled_answers

from grader.config import Settings
from grader.pipeline import Grader
from grader.store import ResultStore


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--question", default="11")
    ap.add_argument("--other", default="4", help="question used to evict the cached prefix")
    ap.add_argument("--answers", type=int, default=6)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    t = time.perf_counter()
    grader = Grader(Settings(bank_dir=REPO), store=ResultStore(":memory:"))
    print(f"models loaded in {time.perf_counter() - t:.1f}s")
    q = grader.bank.get(args.question)
    other = grader.bank.get(args.other)
    rows = [r for r in labelled_answers() if r["question_id"] == q.id]
    answers = [str(r["answer"]) for r in rows if r["category"] not in ("off-topic", "empty")]
    answers = answers[: args.answers]
    n_crit = len(q.rubric.criteria) + len(q.rubric.misconceptions)
    grader.grade(other, "warm-up answer about gradients and weights in the network.")
    grader.grade(q, "warm-up answer about this question and its main idea.")  # anchors cached
    single, same, stages = [], [], []
    for run in range(args.runs):
        for i, a in enumerate(answers):
            grader.grade(other, f"evict {run} {i}: the chain rule gives gradients of the loss.")
            t = time.perf_counter()
            r = grader.grade(q, a + " " * (run + 1))
            single.append(time.perf_counter() - t)
            stages.append(r.usage.seconds)
        t = time.perf_counter()
        for a in answers:
            grader.grade(q, a + "  " * (run + 1))
        same.append((time.perf_counter() - t) / len(answers))
    words = statistics.mean(len(a.split()) for a in answers)
    print(
        f"question {q.number} ({n_crit} probes: criteria + misconceptions), "
        f"{len(answers)} answers of {words:.0f} words on average, {args.runs} runs"
    )
    print(f"  single answer (question prefix not cached): median {statistics.median(single):.2f} s")
    print(f"  many answers to the same question: median {statistics.median(same):.2f} s/answer")
    for stage in ("prefilter", "judge", "aggregate"):
        vals = [s[stage] for s in stages if stage in s]
        if vals:
            print(f"    stage {stage:<10} median {statistics.median(vals) * 1000:.0f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS with embedder + judge loaded: {peak:.0f} MiB")


if __name__ == "__main__":
    main()

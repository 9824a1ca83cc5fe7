"""Local judge speed: one answer cold vs many answers to the same question, per stage.

    .venv/bin/python bench/bench_judge.py [--question 16] [--runs 3]

"cold": the question's prompt prefix is evaluated (first answer to a question
after a start).  "single": an answer to another question came before, so the
question's prefix is restored from the in-memory snapshot (a running server).
"same question": the question's answers graded in a row, reusing the evaluated
question prefix.  Every graded text is new to the result and logit caches (a
temporary cache directory and a run marker), so each figure is a real model
run.  Also prints the peak resident memory of the process with both models
loaded.  GRADER_LOCAL_PROMPT=checklist-v3 measures another prompt layout.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _data import REPO, labelled_answers

from grader.config import Settings
from grader.grading.judges.local.judge import LocalJudge
from grader.grading.judges.local.model_files import ensure_model
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore


class StageClock:
    """Wraps the judge's llama.cpp calls to split judge time into prompt prefix and probes."""

    def __init__(self, judge: LocalJudge) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.tokens: dict[str, int] = defaultdict(int)
        llm = judge.runtime.llm
        eval_ = llm.eval

        def timed_eval(tokens: Any) -> None:
            t = time.perf_counter()
            eval_(tokens)
            self.seconds["prefix"] += time.perf_counter() - t
            self.tokens["prefix"] += len(tokens)

        llm.eval = timed_eval  # type: ignore[method-assign]
        par = judge.runtime.parallel
        if par is not None:
            run = par.run

            def timed_run(n_prefix: int, probes: list[list[int]]) -> list[Any]:
                t = time.perf_counter()
                out = run(n_prefix, probes)
                self.seconds["probes"] += time.perf_counter() - t
                self.tokens["probes"] += sum(len(p) for p in probes)
                return out

            par.run = timed_run  # type: ignore[method-assign]

    def reset(self) -> None:
        self.seconds.clear()
        self.tokens.clear()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--question", default="16", help="a question with 5 criteria")
    ap.add_argument("--other", default="4", help="question used to evict the cached prefix")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-judge-"))
    model = ensure_model(Settings().cache_dir)
    settings = Settings(bank_dir=REPO, cache_dir=tmp, local_model_path=model)
    t = time.perf_counter()
    grader = Grader(settings, store=ResultStore(":memory:"))
    print(f"models loaded in {time.perf_counter() - t:.1f}s")
    judge = grader.judge
    assert isinstance(judge, LocalJudge), "bench_judge measures the local judge"
    clock = StageClock(judge)
    q = grader.bank.get(args.question)
    other = grader.bank.get(args.other)
    rows = [r for r in labelled_answers() if r["question_id"] == q.id]
    answers = [str(r["answer"]) for r in rows if r["category"] not in ("off-topic", "empty")]
    n_probes = len(q.rubric.criteria) + len(q.rubric.misconceptions)
    grader.grade(q.id, "warm-up answer about this question and its main idea.")
    cold: list[float] = []
    single: list[float] = []
    same: list[float] = []
    stages: dict[str, list[float]] = defaultdict(list)
    tokens: dict[str, list[int]] = defaultdict(list)
    for run in range(args.runs):
        for i, a in enumerate(answers):
            grader.grade(other.id, f"Cold {run}.{i}: the chain rule gives the loss gradients.")
            judge.runtime.prefixes.clear()  # as for the first answer to a question after a start
            t = time.perf_counter()
            grader.grade(q.id, f"Cold {run}. {a}")
            cold.append(time.perf_counter() - t)
        for i, a in enumerate(answers):
            grader.grade(other.id, f"Evict {run}.{i}: the chain rule gives the loss gradients.")
            clock.reset()
            t = time.perf_counter()
            r = grader.grade(q.id, f"Take {run}. {a}")
            single.append(time.perf_counter() - t)
            assert r.status == "graded", r.reason
            for k, v in r.usage.seconds.items():
                stages[k].append(v)
            for k, v in clock.seconds.items():
                stages[f"judge: {k}"].append(v)
            for k, n in clock.tokens.items():
                tokens[k].append(n)
        t = time.perf_counter()
        for a in answers:
            r = grader.grade(q.id, f"Again {run}. {a}")
            assert r.status == "graded", r.reason
        same.append((time.perf_counter() - t) / len(answers))
    words = statistics.mean(len(a.split()) for a in answers)
    print(
        f"question {q.number}: {len(q.rubric.criteria)} criteria + "
        f"{len(q.rubric.misconceptions)} misconceptions = {n_probes} probes; "
        f"{len(answers)} answers of {words:.0f} words on average; {args.runs} runs; "
        f"{settings.n_threads} threads"
    )
    print(
        "  single answer, question never seen (prefix evaluated): "
        f"median {statistics.median(cold):.2f} s"
    )
    print(
        "  single answer after answers to another question (prefix restored): "
        f"median {statistics.median(single):.2f} s"
    )
    print(f"  many answers to the same question: median {statistics.median(same):.2f} s/answer")
    for stage, vals in stages.items():
        print(f"    {stage:<16} median {statistics.median(vals) * 1000:6.0f} ms")
    for k, vals in tokens.items():
        print(f"    tokens {k:<9} median {statistics.median(vals):6.0f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS with embedder + judge loaded: {peak:.0f} MiB")


if __name__ == "__main__":
    main()

"""How long the injection guard takes per answer, on prose and on inputs built to make regular
expressions backtrack.

    .venv/bin/python bench/bench_guard.py [--runs 5]

Prints the median milliseconds per answer for prose answers of 2,000 and 20,000 characters
(sentences of the bank's reference answers) and for pathological inputs of ~20,000
characters (unclosed tags, unclosed comments, nested braces, repeated turn labels, ...).
The guard runs once per graded answer, before the prefilter; a time that grows faster
than the input (seconds on 20,000 characters) means a pattern backtracks.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

from grader.grading.guard import guard

REPO = Path(__file__).resolve().parents[1]

PATHOLOGICAL = {
    "unclosed tags": "<a " * 6000,
    "unclosed hidden tags": "<a style='display:none' " * 800,
    "hidden divs": "<div hidden>" * 1600,
    "unclosed comments": "<!--" * 5000,
    "answer tags": "<answer " * 2500,
    "braces": "{" * 10000 + "}" * 10000,
    "json keys": '{"met": ' * 2500,
    "claims": "this answer " * 1700,
    "turn labels": "Interviewer: " * 1500,
    "semicolons": "a; " * 6600,
    "base64": "QUJD" * 5000,
    "one term per line": "term\n" * 4000,
}


def prose(chars: int, seed: int = 0) -> str:
    refs = [p.read_text("utf-8") for p in sorted((REPO / "reference_answers").glob("*"))]
    sentences = " ".join(refs).split(". ")
    rng = random.Random(seed)
    text = ""
    while len(text) < chars:
        text += rng.choice(sentences) + ". "
    return text[:chars]


def median_ms(text: str, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        guard(text)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cases = {"prose 2,000 chars": prose(2000), "prose 20,000 chars": prose(20000)}
    cases |= PATHOLOGICAL
    print(f"{'input':<24} {'chars':>7} {'ms (median of ' + str(args.runs) + ')':>20}")
    for name, text in cases.items():
        print(f"{name:<24} {len(text):>7} {median_ms(text, args.runs):>20.1f}")


if __name__ == "__main__":
    main()

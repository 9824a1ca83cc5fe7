"""Remote-judge concurrency: 100 answers through ``Grader.grade`` at concurrency 16.

    .venv/bin/python bench/bench_openai_judge.py [--answers 100] [--concurrency 16]
                                                 [--latency 0.3] [--style structured]

Starts the test suite's fake OpenAI-compatible server (``tests/fake_openai_server.py``)
in its own process with a fixed latency per reply, builds a ``Grader`` on the
repository bank (fake embedder, ``openai-compatible`` judge,
``GRADER_JUDGE_CONCURRENCY`` = concurrency) and grades unique answers from as
many threads as the concurrency.  One warm-up answer (server-kind detection,
first connection) is not timed.  The ideal is answers / concurrency x latency
(the structured style makes one call per answer); the target is <= 1.3 x ideal.
Exits 1 when the target is missed or any answer was not judged.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.3


def start_server(latency: float) -> tuple[subprocess.Popen[str], str]:
    server = REPO / "tests" / "fake_openai_server.py"
    cmd = [sys.executable, str(server), "--latency", str(latency)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise SystemExit(f"fake server did not start: {url!r}")
    return proc, url


def answers(n: int) -> list[tuple[str, str]]:
    """Unique answers: each bank question's reference answer, numbered."""
    from grader.bank.loader import load_bank

    bank = list(load_bank(REPO))
    return [
        (q.id, f"{q.reference.text} (Answer {i}.)")
        for i, q in ((i, bank[i % len(bank)]) for i in range(n))
    ]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--answers", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--latency", type=float, default=0.3)
    ap.add_argument("--style", default="structured", choices=["structured", "checklist"])
    ap.add_argument("--threads", type=int, default=0, help="caller threads (default: concurrency)")
    args = ap.parse_args()

    from grader.config import Settings
    from grader.grading.pipeline import Grader
    from grader.grading.result_cache import ResultStore
    from grader.testing import FakeEmbedder

    proc, url = start_server(args.latency)
    try:
        with tempfile.TemporaryDirectory() as cache:
            settings = Settings(
                bank_dir=REPO,
                cache_dir=Path(cache),
                embedder="fake",
                judge="openai-compatible:bench-model",
                judge_base_url=url,
                judge_style=args.style,
                judge_concurrency=args.concurrency,
            )
            grader = Grader(settings, embedder=FakeEmbedder(), store=ResultStore(":memory:"))
            grader.grade(*answers(args.answers + 1)[-1])  # warm-up, not timed
            work = answers(args.answers)
            t = time.perf_counter()
            with ThreadPoolExecutor(args.threads or args.concurrency) as pool:
                results = list(pool.map(lambda a: grader.grade(*a), work))
            elapsed = time.perf_counter() - t
    finally:
        proc.terminate()
        proc.wait(timeout=10)

    calls = sum(r.usage.judge_calls for r in results)
    judged = sum(1 for r in results if r.status == "graded")
    per_answer = calls / max(judged, 1)
    ideal = args.answers / args.concurrency * args.latency * per_answer
    ratio = elapsed / ideal
    print(
        f"{args.answers} answers, concurrency {args.concurrency}, "
        f"{args.threads or args.concurrency} threads, latency {args.latency:g} s, "
        f"style {args.style}: {judged} graded with {calls} judge calls"
    )
    print(f"elapsed {elapsed:.3f} s; ideal {ideal:.3f} s; ratio {ratio:.2f} (target <= 1.3)")
    ok = ratio <= TARGET_RATIO and judged == args.answers
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

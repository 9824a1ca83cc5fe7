"""Memory under a stream of distinct, large answers: does the process stay flat?

    .venv/bin/python bench/bench_memory.py [--answers 10000] [--chars 19900] [--every 1000]
                                           [--api] [--seed 0]

Grades ``--answers`` distinct answers of ``--chars`` characters each (every one
different, so no cache answers twice) to the repository bank's questions in this
process, with the fake judge and the fake embedder, and a result cache in a fresh
SQLite file.  Each answer is real prose (sentences of the questions' own reference
answers, shuffled, with a serial number) so it passes the prefilter and reaches the
judge.  ``--api`` sends them through the API app in-process instead (starlette's
TestClient: middleware, Idempotency-Key storage, the grading pool).

It prints the process's resident memory (VmRSS) after every ``--every`` answers and
the growth from the first checkpoint to the last in percent: flat means the caches
keyed by answer text are bounded.
"""

from __future__ import annotations

import argparse
import gc
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def make_answers(seed: int, chars: int) -> tuple[list[str], Callable[[int], tuple[str, str]]]:
    """The question ids, and i -> (question id, a distinct answer of about ``chars``)."""
    from grader.bank.loader import load_bank
    from grader.text import sentences

    bank = list(load_bank(REPO))
    pools = {q.id: sentences(q.reference.text) for q in bank}
    ids = [q.id for q in bank]

    def answer(i: int) -> tuple[str, str]:
        qid = ids[i % len(ids)]
        rng = random.Random(f"{seed}-{i}")
        parts = [f"Answer {seed}-{i}."]
        size = len(parts[0])
        while size < chars:
            sentence = rng.choice(pools[qid])
            parts.append(sentence)
            size += len(sentence) + 1
        return qid, " ".join(parts)[:chars]

    return ids, answer


def settings(cache_dir: Path) -> object:
    from grader.config import Settings

    return Settings(
        bank_dir=REPO,
        cache_dir=cache_dir,
        embedder="fake",
        judge="fake",
        max_answer_chars=20_000,
        api_workers=1,
    )


def run_grader(n: int, answer: Callable[[int], tuple[str, str]], every: int, cache: Path) -> None:
    from grader.grading.pipeline import Grader

    grader = Grader(settings(cache))  # type: ignore[arg-type]
    try:
        checkpoints(n, every, lambda i: grader.grade(*answer(i)).status)
    finally:
        grader.close()


def run_api(n: int, answer: Callable[[int], tuple[str, str]], every: int, cache: Path) -> None:
    from fastapi.testclient import TestClient

    from grader.api import create_app

    app = create_app(settings(cache))  # type: ignore[arg-type]
    with TestClient(app) as client:

        def grade(i: int) -> str:
            qid, text = answer(i)
            response = client.post(
                "/v1/grade",
                json={"question_id": qid, "answer": text},
                headers={"Idempotency-Key": f"bench-{i}"},
            )
            response.raise_for_status()
            status: str = response.json()["status"]
            return status

        checkpoints(n, every, grade)


def checkpoints(n: int, every: int, grade: Callable[[int], str]) -> None:
    marks: list[tuple[int, float]] = []
    statuses: dict[str, int] = {}
    t0 = time.perf_counter()
    print(f"start: RSS {rss_mb():.1f} MB")
    for i in range(n):
        status = grade(i)
        statuses[status] = statuses.get(status, 0) + 1
        if (i + 1) % every == 0 or i + 1 == n:
            gc.collect()
            marks.append((i + 1, rss_mb()))
            rate = (i + 1) / (time.perf_counter() - t0)
            print(f"{i + 1:>7,} answers: RSS {marks[-1][1]:7.1f} MB  ({rate:.0f} answers/s)")
    print("statuses:", ", ".join(f"{k} {v:,}" for k, v in sorted(statuses.items())))
    (first_n, first), (last_n, last) = marks[0], marks[-1]
    growth = (last - first) / first * 100
    print(
        f"growth from answer {first_n:,} to {last_n:,}: {last - first:+.1f} MB "
        f"({growth:+.1f}%; target: within 10%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--answers", type=int, default=10_000)
    parser.add_argument("--chars", type=int, default=19_900)
    parser.add_argument("--every", type=int, default=1_000)
    parser.add_argument("--api", action="store_true", help="through the API app in-process")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    _, answer = make_answers(args.seed, args.chars)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        run = run_api if args.api else run_grader
        print(
            f"{args.answers:,} distinct answers of {args.chars:,} characters, "
            f"{'API app' if args.api else 'Grader'}, fake judge and embedder"
        )
        run(args.answers, answer, args.every, Path(tmp))
        db = Path(tmp) / "grader.db"
        print(f"database file: {db.stat().st_size / 2**20:.1f} MB")


if __name__ == "__main__":
    main()

"""Single answers during a flood of transcript jobs: POST /v1/grade p50, idle and flooded.

    .venv/bin/python bench/bench_flood.py [--runs 5] [--judge-seconds 0.05] [--jobs 200]
                                          [--keys 4] [--samples 40] [--embedder fake]

Each run starts a fresh `grader serve` process (the repository bank, a fresh cache
dir, API keys ``bench-key-0..N``) whose judge is ``fake:serial:<seconds>``: one
answer at a time behind a lock, like the local judge.  It measures, one request
at a time, the latency of ``POST /v1/grade`` (unique answers, so every one goes
to the judge):

* idle: nothing else runs;
* flooded: while ``--jobs`` transcripts of 46 answers are posted (16 at a time,
  round-robin over the keys) and the admitted jobs run.

It prints both p50s and their ratio (target: at most 2, since a single answer
waits for at most the one job answer at the judge), what the flood got (202 /
429 / 503, the Retry-After range) and the backlog from /readyz; then the median
over the runs.  Client and server share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from bench_api import free_port, pct, pick_embedder, start_server, wait_ready

REPO = Path(__file__).resolve().parents[1]


def bank() -> list[tuple[str, str]]:
    from grader.bank.loader import load_bank

    return [(q.id, q.reference.text) for q in load_bank(REPO)]


def transcript(questions: list[tuple[str, str]], n: int) -> dict[str, Any]:
    """Every bank question answered with its reference (plus a note: no cache hits)."""
    turns = [{"question_id": q, "answer": f"{text} (Job {n}.)"} for q, text in questions]
    return {"candidate": {"name": f"Candidate {n}"}, "turns": turns}


async def grade_p50(
    client: httpx.AsyncClient, questions: list[tuple[str, str]], tag: str, n: int, key: str
) -> tuple[float, list[float]]:
    """p50 (ms) of ``n`` sequential grades of unique answers."""
    times = []
    for i in range(n):
        qid, text = questions[i % len(questions)]
        body = {"question_id": qid, "answer": f"{text} (Single {tag}.{i}.)"}
        t = time.perf_counter()
        r = await client.post("/v1/grade", json=body, headers=auth(key))
        times.append(time.perf_counter() - t)
        assert r.status_code == 200 and r.json()["status"] == "graded", r.text[:300]
    return pct(times, 0.5) * 1000, times


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def flood(
    client: httpx.AsyncClient, questions: list[tuple[str, str]], jobs: int, keys: list[str]
) -> dict[str, Any]:
    """Post ``jobs`` transcripts, 16 at a time; count the answers and Retry-After values."""
    statuses: collections.Counter[int] = collections.Counter()
    retry: list[int] = []
    todo: asyncio.Queue[int] = asyncio.Queue()
    for n in range(jobs):
        todo.put_nowait(n)

    async def poster() -> None:
        while not todo.empty():
            n = todo.get_nowait()
            r = await client.post(
                "/v1/transcripts", json=transcript(questions, n), headers=auth(keys[n % len(keys)])
            )
            statuses[r.status_code] += 1
            if "retry-after" in r.headers:
                retry.append(int(r.headers["retry-after"]))

    t0 = time.perf_counter()
    await asyncio.gather(*(poster() for _ in range(16)))
    return {
        "statuses": dict(sorted(statuses.items())),
        "retry": retry,
        "seconds": time.perf_counter() - t0,
    }


async def one_run(url: str, args: argparse.Namespace, keys: list[str], run: int) -> dict[str, Any]:
    questions = bank()
    timeout = httpx.Timeout(600)
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
        await grade_p50(client, questions, f"warm{run}", 5, keys[0])
        idle, _ = await grade_p50(client, questions, f"idle{run}", args.samples, keys[0])
        posting = asyncio.create_task(flood(client, questions, args.jobs, keys))
        while (await client.get("/readyz")).json()["jobs"].get("jobs_running", 0) < 1:
            await asyncio.sleep(0.01)  # the first job is at the judge
        busy, times = await grade_p50(client, questions, f"flood{run}", args.samples, keys[-1])
        backlog = (await client.get("/readyz")).json()["jobs"]
        posted = await posting
    return {"idle": idle, "busy": busy, "max": max(times) * 1000, "backlog": backlog, **posted}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--judge-seconds", type=float, default=0.05, help="fake judge, per answer")
    ap.add_argument("--jobs", type=int, default=200, help="transcripts posted in the flood")
    ap.add_argument("--keys", type=int, default=4, help="API keys the flood is spread over")
    ap.add_argument("--samples", type=int, default=40, help="single answers per measurement")
    ap.add_argument("--embedder", default="fake", choices=["auto", "fake", "sentence-transformers"])
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the server
    embedder = pick_embedder(args.embedder)
    keys = [f"bench-key-{i}" for i in range(args.keys)]
    judge = f"fake:serial:{args.judge_seconds:g}"
    print(
        f"judge {judge}, embedder {embedder}, {args.jobs} transcripts x 46 answers over "
        f"{args.keys} keys; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    results = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as cache:
            env = os.environ | {
                "GRADER_JUDGE": judge,
                "GRADER_EMBEDDER": embedder,
                "GRADER_BANK_DIR": str(REPO),
                "GRADER_CACHE_DIR": cache,
                "GRADER_API_KEYS": ",".join(keys),
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
            }
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            proc = start_server(env, port, Path(cache) / "server.log")
            try:
                wait_ready(url, proc)
                r = asyncio.run(one_run(url, args, keys, run))
            finally:
                proc.terminate()
                proc.wait(60)
        results.append(r)
        b, retry = r["backlog"], r["retry"] or [0]
        print(
            f"run {run + 1}: idle p50 {r['idle']:.1f} ms, flooded p50 {r['busy']:.1f} ms "
            f"(max {r['max']:.0f}), ratio {r['busy'] / r['idle']:.2f}; flood {r['statuses']} "
            f"in {r['seconds']:.1f} s, Retry-After {min(retry)}-{max(retry)} s; backlog "
            f"{b['answers_queued']} answers, {b['jobs_running']} running + {b['jobs_queued']} "
            f"queued, {b['rejected']} refused",
            flush=True,
        )
    idle = statistics.median(r["idle"] for r in results)
    busy = statistics.median(r["busy"] for r in results)
    ratio = statistics.median(r["busy"] / r["idle"] for r in results)
    print(
        f"\nmedian of {len(results)} runs: POST /v1/grade p50 idle {idle:.1f} ms, "
        f"during the flood {busy:.1f} ms, ratio {ratio:.2f} (target <= 2)"
    )


if __name__ == "__main__":
    main()

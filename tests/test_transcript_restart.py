"""Kill ``grader serve`` (SIGKILL) in the middle of a transcript job, restart it: the job
completes, no stored answer is graded again and nothing graded before the kill is lost.

Grading calls are counted in the database (``transcript_attempts``: one row per start of
grading an answer, ``finished`` set when its result is stored).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import REPO
from grader.bank.loader import load_bank

pytestmark = pytest.mark.server

GRADER = Path(sys.executable).parent / "grader"
WORKERS = 2
TURNS = 12


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(tmp_path: Path, port: int, run: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "GRADER_EMBEDDER": "fake",
        "GRADER_JUDGE": "fake:slow:0.5",
        "GRADER_BANK_DIR": str(REPO),
        "GRADER_CACHE_DIR": str(tmp_path),
        "GRADER_TRANSCRIPT_WORKERS": str(WORKERS),
    }
    log = (tmp_path / f"server-{run}.log").open("wb")
    return subprocess.Popen(
        [str(GRADER), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"server exited with {proc.returncode}"
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("server not ready in time")


def poll(url: str, job_id: str, until: Any, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body: dict[str, Any] = httpx.get(f"{url}/v1/transcripts/{job_id}", timeout=5).json()
        if until(body):
            return body
        time.sleep(0.05)
    raise AssertionError(f"job never reached the expected state: {body}")


def db_rows(db: Path, job_id: str) -> tuple[dict[int, str], list[tuple[int, float | None]]]:
    with sqlite3.connect(db) as c:
        results = dict(
            c.execute("SELECT item, result FROM transcript_results WHERE job_id = ?", (job_id,))
        )
        attempts = c.execute(
            "SELECT item, finished FROM transcript_attempts WHERE job_id = ?", (job_id,)
        ).fetchall()
    return results, attempts


def transcript() -> dict[str, Any]:
    """Twelve bank questions answered with the start of their reference answers."""
    questions = list(load_bank(REPO))[:TURNS]
    turns = [
        {"question_id": q.id, "answer": " ".join(q.reference.text.split()[:60])} for q in questions
    ]
    return {"candidate": {"name": "Restart Test"}, "turns": turns}


def test_killed_server_resumes_the_job_without_grading_an_answer_twice(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = tmp_path / "grader.db"
    first = start(tmp_path, port, 1)
    try:
        wait_ready(url, first)
        r = httpx.post(f"{url}/v1/transcripts", json=transcript(), timeout=30)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        poll(url, job_id, lambda b: b["progress"]["graded"] >= 3)
        first.kill()  # SIGKILL: no clean shutdown
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
    before, attempts_before = db_rows(db, job_id)
    assert 3 <= len(before) < TURNS, "kill landed outside the job"
    in_flight = {item for item, finished in attempts_before if finished is None}
    assert len(in_flight) <= WORKERS and not in_flight & set(before)

    second = start(tmp_path, port, 2)
    try:
        wait_ready(url, second)
        done = poll(url, job_id, lambda b: b["status"] in ("done", "failed"))
    finally:
        second.terminate()
        second.wait(15)
    assert done["status"] == "done" and done["progress"] == {"graded": TURNS, "total": TURNS}
    report = done["report"]
    assert [i["status"] for i in report["items"]] == ["graded"] * TURNS
    assert report["overall"]["scored"] == TURNS

    after, attempts = db_rows(db, job_id)
    assert sorted(after) == list(range(1, TURNS + 1))
    assert all(after[item] == text for item, text in before.items())  # nothing lost or redone
    finished = Counter(item for item, f in attempts if f is not None)
    assert all(finished[item] == 1 for item in after), finished  # each answer graded once
    started = Counter(item for item, _ in attempts)
    for item in after:
        # an answer stored before the kill was never started again; only the ones in
        # flight at the kill were started twice (and finished once)
        assert started[item] == (2 if item in in_flight else 1), (item, started[item])

"""`grader serve` as a real process on a free loopback port, graded over real HTTP."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api_support import GOOD_DROPOUT
from conftest import TINY_BANK

pytestmark = pytest.mark.server

GRADER = Path(sys.executable).parent / "grader"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(url: str, proc: subprocess.Popen[str], timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.stderr.read()}")  # type: ignore[union-attr]
        try:
            r = httpx.get(f"{url}/readyz", timeout=2)
            if r.status_code == 200:
                return r
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError("server not ready in time")


@contextlib.contextmanager
def serve_process(tmp_path: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``grader serve`` as a real process on a free loopback port (fake judge and embedder,
    the tiny bank), with ``env`` added; stopped with SIGTERM (then killed) on exit."""
    port = free_port()
    environment = os.environ | {
        "GRADER_EMBEDDER": "fake",
        "GRADER_JUDGE": "fake",
        "GRADER_BANK_DIR": str(TINY_BANK),
        "GRADER_CACHE_DIR": str(tmp_path),
        **env,
    }
    proc = subprocess.Popen(
        [str(GRADER), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    with serve_process(tmp_path) as served:
        yield served


def test_serve_starts_loads_once_and_grades_over_http(
    server: tuple[str, subprocess.Popen[str]],
) -> None:
    url, proc = server
    ready = wait_ready(url, proc).json()
    assert ready["status"] == "ready" and ready["checks"]["bank"]["ok"]

    r = httpx.post(
        f"{url}/v1/grade",
        json={"question_id": "q01-dropout", "answer": GOOD_DROPOUT},
        headers={"X-Request-ID": "server-test-1"},
        timeout=30,
    )
    assert r.status_code == 200 and r.headers["x-request-id"] == "server-test-1"
    assert r.json()["status"] == "graded" and r.json()["score"] == 10
    assert httpx.get(f"{url}/docs", timeout=5).status_code == 200

    proc.send_signal(signal.SIGTERM)
    _out, err = proc.communicate(timeout=15)
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert proc.returncode in (0, -signal.SIGTERM)
    assert f"{url}/docs" in err  # the docs URL is printed at start
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    ready_line = next(x for x in lines if x["msg"].startswith("ready in"))
    assert ready_line["questions"] == 2 and ready_line["judge"] == "fake"
    assert ready_line["load_seconds"] >= 0
    access = [x for x in lines if x["logger"] == "grader.api.access"]
    assert any(x["request_id"] == "server-test-1" and x["status"] == 200 for x in access)
    assert GOOD_DROPOUT not in err  # answers are not logged by default
    assert any(x["msg"] == "stopped" for x in lines)  # the lifespan ran its shutdown

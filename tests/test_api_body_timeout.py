"""A client that sends part of a body and stalls gets 408 and loses its connection.

`grader serve` runs as a real process (uvicorn, with the settings of api/server.py) on a
free loopback port; a raw socket sends the headers and half the body, then waits.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import TINY_BANK
from test_api_server import free_port, wait_ready

pytestmark = pytest.mark.server

GRADER = Path(sys.executable).parent / "grader"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = os.environ | {
        "GRADER_EMBEDDER": "fake",
        "GRADER_JUDGE": "fake",
        "GRADER_BANK_DIR": str(TINY_BANK),
        "GRADER_CACHE_DIR": str(tmp_path),
        "GRADER_BODY_TIMEOUT_SECONDS": "1",
    }
    proc = subprocess.Popen(
        [str(GRADER), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        yield "127.0.0.1", port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_stalled_body_gets_408_and_the_connection_is_closed(served: tuple[str, int]) -> None:
    body = json.dumps({"question_id": "q01-dropout", "answer": "Dropout zeroes units. " * 20})
    head = (
        "POST /v1/grade HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    with socket.create_connection(served, timeout=30) as sock:  # 30 s: a hang fails the test
        sock.sendall(head.encode() + body[: len(body) // 2].encode())
        response = read_until_closed(sock)  # returns only because the server closes
    status, _, rest = response.partition(b"\r\n")
    headers, _, payload = rest.partition(b"\r\n\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert b"connection: close" in headers.lower()
    error = json.loads(payload)["error"]
    assert error["code"] == "body_timeout" and "GRADER_BODY_TIMEOUT_SECONDS" in error["message"]


def test_a_whole_body_sent_at_once_is_graded(served: tuple[str, int]) -> None:
    body = json.dumps({"question_id": "q01-dropout", "answer": "Dropout zeroes units."})
    request = (
        "POST /v1/grade HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}"
    )
    with socket.create_connection(served, timeout=30) as sock:
        sock.sendall(request.encode())
        response = read_until_closed(sock)
    assert response.startswith(b"HTTP/1.1 200 OK")

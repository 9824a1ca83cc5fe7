"""A client that sends part of a body and stalls gets 408 and loses its connection.

`grader serve` runs as a real process (uvicorn, with the settings of api/server.py) on a
free loopback port; a raw socket sends the headers and half the body, then waits.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from test_api_server import serve_process, wait_ready

pytestmark = pytest.mark.server

GRADER = Path(sys.executable).parent / "grader"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int]]:
    with serve_process(tmp_path, GRADER_BODY_TIMEOUT_SECONDS="1") as (url, proc):
        wait_ready(url, proc)
        host, port = url.removeprefix("http://").split(":")
        yield host, int(port)


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

"""Every judge answers ``ping`` and ``close``; ``/readyz`` reports a judge that cannot answer.

The remote judge is pinged against real sockets: the test suite's fake
OpenAI-compatible server, and a closed port (connection refused).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_support import remote_grader
from api_support import settings as api_settings
from fake_openai_server import FakeOpenAIServer
from grader.api import create_app
from grader.errors import JudgeError, JudgeTimeoutError
from grader.grading.judges.calibration import ProbeCalibration
from grader.grading.judges.remote.client import PING_TIMEOUT_S
from grader.grading.judges.remote.judge import OpenAIJudge
from grader.grading.judges.similarity import SimilarityJudge
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.testing import FakeEmbedder, FakeJudge


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


@pytest.fixture
def closed_port_url() -> str:
    """The URL of a port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def retrying_grader(tmp_path: Path, url: str) -> Grader:
    return remote_grader(tmp_path, url, judge_max_retries=3)


# ------------------------------------------------------------------ ping and close per backend


def test_fake_judge_pings_until_closed() -> None:
    judge = FakeJudge()
    judge.ping()
    judge.close()
    with pytest.raises(JudgeError, match="closed"):
        judge.ping()


@pytest.mark.parametrize(("mode", "error"), [("fail", JudgeError), ("timeout", JudgeTimeoutError)])
def test_fake_judge_failure_modes_fail_the_ping_too(mode: str, error: type[Exception]) -> None:
    with pytest.raises(error, match="fault injection"):
        FakeJudge(mode=mode).ping()


def test_similarity_judge_is_always_ready_and_calibrated() -> None:
    judge = SimilarityJudge()
    judge.ping()
    judge.close()
    assert isinstance(judge.calibration, ProbeCalibration)


def test_remote_judge_pings_a_running_server(tmp_path: Path, server: FakeOpenAIServer) -> None:
    judge = retrying_grader(tmp_path, server.url).judge
    assert isinstance(judge, OpenAIJudge) and judge.calibration is None
    judge.ping()
    judge.close()


def test_remote_ping_to_a_closed_port_fails_fast_naming_the_url_and_the_setting(
    tmp_path: Path, closed_port_url: str
) -> None:
    judge = retrying_grader(tmp_path, closed_port_url).judge
    assert judge is not None
    t = time.perf_counter()
    with pytest.raises(JudgeError) as info:
        judge.ping()
    assert time.perf_counter() - t < PING_TIMEOUT_S  # refused at once, and never retried
    assert closed_port_url in str(info.value) and "GRADER_JUDGE_BASE_URL" in str(info.value)


# ------------------------------------------------------------------ /readyz


def test_readyz_is_200_when_the_remote_judge_server_is_up(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    grader = retrying_grader(tmp_path, server.url)
    with TestClient(create_app(grader.settings, grader)) as c:
        r = c.get("/readyz")
    assert r.status_code == 200
    assert r.json()["checks"]["judge"] == {
        "ok": True,
        "detail": "openai-compatible:test-model ready",
    }


def test_readyz_is_503_with_the_reason_when_the_remote_judge_server_is_down(
    tmp_path: Path, closed_port_url: str
) -> None:
    grader = retrying_grader(tmp_path, closed_port_url)
    with TestClient(create_app(grader.settings, grader)) as c:
        r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "not_ready"
    check = r.json()["checks"]["judge"]
    assert not check["ok"]
    assert check["detail"].startswith("openai-compatible:test-model not ready: cannot reach")
    assert closed_port_url in check["detail"]


def test_readyz_is_503_for_a_failing_judge(tmp_path: Path) -> None:
    s = api_settings(tmp_path)
    grader = Grader(
        s, embedder=FakeEmbedder(), judge=FakeJudge(mode="fail"), store=ResultStore(":memory:")
    )
    with TestClient(create_app(s, grader)) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    assert "fake judge failure" in r.json()["checks"]["judge"]["detail"]

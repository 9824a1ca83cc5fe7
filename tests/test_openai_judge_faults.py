"""The remote judge against the shipped fake OpenAI-compatible server: retries, clamps, ungraded.

Every scripted fault must end as a correct retry, a clamp, or ``ungraded`` with a
specific reason, and a batch with mixed failures still grades its healthy answers.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from conftest import TINY_BANK
from fake_openai_server import FAKE_QUOTE, FakeOpenAIServer
from grader.bank.loader import load_bank
from grader.config import Settings
from grader.errors import JudgeError, JudgeOutputError
from grader.grading.judges import JudgeRequest, make_judge
from grader.grading.judges.remote.judge import OpenAIJudge
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.models import GradeResult
from grader.testing import FakeEmbedder

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


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(hang=3.0) as srv:
        yield srv


def judge_settings(tmp_path: Path, url: str, **kw: Any) -> Settings:
    base: dict[str, Any] = {
        "bank_dir": TINY_BANK,
        "cache_dir": tmp_path,
        "embedder": "fake",
        "judge": "openai-compatible:test-model",
        "judge_base_url": url,
        "judge_timeout": 2.0,
        "judge_max_retries": 2,
    }
    base.update(kw)
    return Settings(**base)


def grader(tmp_path: Path, url: str, **kw: Any) -> Grader:
    return Grader(
        judge_settings(tmp_path, url, **kw), embedder=FakeEmbedder(), store=ResultStore(":memory:")
    )


def grade(g: Grader, fault: str, answer: str = GOOD) -> GradeResult:
    return g.grade("q01-dropout", f"{answer} [[fake:{fault}]]")


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """What the server log says about failed judge calls (the detail a result leaves out)."""
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "grader.grading.pipeline")


# ------------------------------------------------------------------ healthy path


@pytest.mark.parametrize("style", ["structured", "checklist"])
def test_healthy_reply_is_graded_with_tokens_cost_and_server_model(
    tmp_path: Path, server: FakeOpenAIServer, style: str
) -> None:
    g = grader(tmp_path, server.url, judge_style=style, judge_prices={"fake-judge": (1.0, 2.0)})
    result = grade(g, "ok")
    assert result.status == "graded" and result.score == 10
    assert result.provenance.judge_model == "fake-judge-1"  # as the server named it
    assert result.provenance.judge == "openai-compatible:test-model"
    assert result.provenance.prompt_version == f"{style}-v1"
    u = result.usage
    assert u.prompt_tokens > 100 and u.completion_tokens > 0
    assert u.judge_calls == (1 if style == "structured" else 4)
    expected = (u.prompt_tokens * 1.0 + u.completion_tokens * 2.0) / 1e6
    assert u.cost_usd == pytest.approx(expected)
    for v in result.criteria:
        assert v.evidence and v.evidence in GOOD


def test_requests_use_temperature_zero_seed_and_the_configured_model(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    grade(grader(tmp_path, server.url, seed=7), "ok")
    body = server.requests[-1]
    assert body["temperature"] == 0 and body["seed"] == 7 and body["model"] == "test-model"
    assert body["response_format"] == {"type": "json_object"}  # generic server kind
    assert body["messages"][0]["role"] == "system"


def test_checklist_probes_ask_for_one_token_with_logprobs(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    grade(grader(tmp_path, server.url, judge_style="checklist"), "ok")
    probes = server.requests[-4:]
    assert all(b["max_tokens"] == 1 and b["logprobs"] is True for b in probes)
    assert all(b["top_logprobs"] == 10 for b in probes)
    # the shared part of the prompt comes first: every probe starts with the same text
    firsts = {b["messages"][1]["content"].split("Rubric point:")[0][:500] for b in probes[:3]}
    assert len(firsts) == 1


# ------------------------------------------------------------------ transport faults


def test_429_with_retry_after_is_retried_after_the_given_delay(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    t = time.perf_counter()
    result = grade(grader(tmp_path, server.url), "429")
    assert time.perf_counter() - t >= 0.95  # Retry-After: 1 honoured (backoff alone is 0.5 s)
    assert result.status == "graded" and result.score == 10
    assert len(server.requests) == 2


def test_500_is_retried(tmp_path: Path, server: FakeOpenAIServer) -> None:
    result = grade(grader(tmp_path, server.url), "500")
    assert result.status == "graded" and len(server.requests) == 2


def test_persistent_500_is_ungraded_with_status_and_url_in_the_log(
    tmp_path: Path, server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    result = grade(grader(tmp_path, server.url, judge_max_retries=1), "500-always")
    assert result.status == "ungraded" and result.score is None
    assert result.reason == "judge failed: the judge returned an error (judge_failed)"
    assert "HTTP 500 after 2 attempt(s)" in logged(caplog)
    assert server.url in logged(caplog)
    assert result.usage.judge_calls == 1


def test_persistent_429_log_suggests_lowering_concurrency(
    tmp_path: Path, server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    result = grade(grader(tmp_path, server.url, judge_max_retries=0), "429-always")
    assert result.status == "ungraded"
    assert "HTTP 429" in logged(caplog) and "GRADER_JUDGE_CONCURRENCY" in logged(caplog)


def test_one_timeout_is_retried(tmp_path: Path, server: FakeOpenAIServer) -> None:
    result = grade(grader(tmp_path, server.url, judge_timeout=0.5), "timeout")
    assert result.status == "graded"


def test_persistent_timeout_is_ungraded_naming_the_setting(
    tmp_path: Path, server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    t = time.perf_counter()
    result = grade(
        grader(tmp_path, server.url, judge_timeout=0.5, judge_max_retries=1), "timeout-always"
    )
    assert time.perf_counter() - t < 2.9  # gave up before the server answered (hang=3 s)
    assert result.status == "ungraded"
    assert result.reason == "judge failed: the judge did not answer in time (judge_timeout)"
    assert "did not answer within 0.5 s" in logged(caplog)
    assert "GRADER_JUDGE_TIMEOUT" in logged(caplog)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def test_unreachable_server_is_ungraded_the_log_naming_the_url(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    result = grade(grader(tmp_path, url, judge_max_retries=0), "ok")
    assert result.status == "ungraded"
    assert result.reason == "judge failed: judge server unreachable (judge_unreachable)"
    assert f"cannot reach the judge server at {url}" in logged(caplog)
    assert "GRADER_JUDGE_BASE_URL" in logged(caplog)


# ------------------------------------------------------------------ reply faults (structured)


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("truncated", "cut off at the token limit"),
        ("empty", "the reply was empty"),
        ("garbage", "not valid JSON"),
        ("wrong-ids", "no verdict for rubric point(s) random-zeroing"),
    ],
)
def test_invalid_reply_is_reasked_then_ungraded_with_the_reason_in_the_log(
    tmp_path: Path,
    server: FakeOpenAIServer,
    fault: str,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = grade(grader(tmp_path, server.url, judge_max_reasks=2), fault)
    assert result.status == "ungraded" and result.score is None
    assert result.reason == "judge failed: the judge's reply was not valid (judge_bad_output)"
    assert "judge output still invalid after 3 attempt(s)" in logged(caplog)
    assert reason in logged(caplog)
    assert "last reply:" in logged(caplog)
    assert len(server.requests) == 3 and result.usage.judge_calls == 3
    assert result.usage.prompt_tokens > 0  # what the failure cost is recorded
    # the re-ask quotes the problem back to the model
    assert reason.split("(")[0] in server.requests[1]["messages"][-1]["content"]
    assert server.requests[1]["messages"][-2]["role"] == "assistant"


@pytest.mark.parametrize(
    "fault", ["truncated-once", "empty-once", "garbage-once", "wrong-ids-once"]
)
def test_invalid_reply_then_valid_reask_is_graded(
    tmp_path: Path, server: FakeOpenAIServer, fault: str
) -> None:
    result = grade(grader(tmp_path, server.url), fault)
    assert result.status == "graded" and result.score == 10
    assert result.usage.judge_calls == 2


def test_judge_output_error_keeps_every_raw_reply(tmp_path: Path, server: FakeOpenAIServer) -> None:
    judge = remote_judge(judge_settings(tmp_path, server.url, judge_max_reasks=1))
    request = JudgeRequest(BANK.get("q01-dropout"), GOOD + " [[fake:garbage]]")
    with pytest.raises(JudgeOutputError) as info:
        judge.judge(request)
    assert info.value.raw is not None
    assert info.value.raw.count("I think this answer is quite good overall.") == 2
    assert "# attempt 2" in info.value.raw and info.value.calls == 2


def test_unknown_ids_are_ignored(tmp_path: Path, server: FakeOpenAIServer) -> None:
    judge = remote_judge(judge_settings(tmp_path, server.url))
    response = judge.judge(JudgeRequest(BANK.get("q01-dropout"), GOOD + " [[fake:unknown-ids]]"))
    assert set(response.criteria) == {"random-zeroing", "training-only", "why-it-helps"}
    assert set(response.misconceptions) == {"dropout-at-inference"}
    assert response.raw and "ignored verdicts for unknown criteria: made-up-point" in response.raw
    assert response.calls == 1


def test_out_of_range_confidence_is_clamped(tmp_path: Path, server: FakeOpenAIServer) -> None:
    result = grade(grader(tmp_path, server.url), "out-of-range")
    assert result.status == "graded"
    [found] = result.misconceptions
    assert found.id == "dropout-at-inference" and found.probability == 1.0  # 250 -> 100
    assert result.score == 8  # 10 - penalty 2


def test_evidence_not_in_answer_is_reasked_once_then_not_met(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    result = grade(grader(tmp_path, server.url), "bad-evidence")
    assert result.status == "graded" and result.score == 0
    assert all(v.verdict == "not_met" for v in result.criteria)
    assert result.usage.judge_calls == 2  # one re-ask, not more
    reask = server.requests[1]["messages"][-1]["content"]
    assert "not in the candidate's answer" in reask and FAKE_QUOTE in reask
    assert result.needs_review
    assert any("is not in the answer" in r for r in result.review_reasons)


def test_evidence_fixed_after_the_reask_is_trusted(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    result = grade(grader(tmp_path, server.url), "bad-evidence-once")
    assert result.status == "graded" and result.score == 10
    assert result.usage.judge_calls == 2 and not result.review_reasons


# ------------------------------------------------------------------ reply faults (checklist)


@pytest.mark.parametrize("fault", ["empty", "garbage"])
def test_checklist_probe_without_yes_or_no_is_ungraded(
    tmp_path: Path, server: FakeOpenAIServer, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    result = grade(grader(tmp_path, server.url, judge_style="checklist"), fault)
    assert result.status == "ungraded"
    assert (result.reason or "").endswith("(judge_bad_output)")
    assert "no yes/no answer" in logged(caplog)


def test_checklist_without_logprobs_reads_the_word(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    result = grade(grader(tmp_path, server.url, judge_style="checklist"), "no-logprobs")
    assert result.status == "graded" and result.score == 10
    assert {v.probability for v in result.criteria} == {1.0}


def test_checklist_positive_logprobs_are_clamped(tmp_path: Path, server: FakeOpenAIServer) -> None:
    result = grade(grader(tmp_path, server.url, judge_style="checklist"), "out-of-range")
    assert result.status == "graded"
    assert all(v.probability is not None and 0 <= v.probability <= 1 for v in result.criteria)


# ------------------------------------------------------------------ capabilities


def test_llama_cpp_server_is_detected_and_its_quirks_respected(tmp_path: Path) -> None:
    with FakeOpenAIServer(flavour="llama-cpp") as srv:
        result = grade(grader(tmp_path, srv.url), "ok")
        assert result.status == "graded"
        body = srv.requests[-1]
        assert "response_format" in body and body["response_format"]["type"] == "json_object"
        assert body["response_format"]["schema"]["properties"]["criteria"]
        assert "max_tokens" in body and "max_completion_tokens" not in body
        assert body["messages"][0]["role"] == "system"


def test_openai_style_requests_against_llama_cpp_fail_visibly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeOpenAIServer(flavour="llama-cpp") as srv:
        result = grade(grader(tmp_path, srv.url, judge_server="openai", judge_max_retries=0), "ok")
    assert result.status == "ungraded" and "HTTP 500" in logged(caplog)


def test_openai_kind_sends_strict_json_schema_and_developer_role(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    result = grade(grader(tmp_path, server.url, judge_server="openai"), "ok")
    assert result.status == "graded"
    body = server.requests[-1]
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert body["messages"][0]["role"] == "developer"
    assert "max_completion_tokens" in body and "max_tokens" not in body


# ------------------------------------------------------------------ concurrency and batches

MIXED = ["ok", "500", "truncated", "ok", "wrong-ids", "429", "empty", "bad-evidence", "ok",
         "timeout", "out-of-range", "garbage-once", "500-always", "ok", "unknown-ids", "ok"]  # fmt: skip
EXPECTED_UNGRADED = {"truncated", "wrong-ids", "empty", "500-always"}


def test_mixed_batch_through_the_grader_completes_for_healthy_items(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    g = grader(tmp_path, server.url, judge_timeout=1.0, judge_max_retries=2, judge_concurrency=4)
    answers = [f"{GOOD} Answer number {i}. [[fake:{f}]]" for i, f in enumerate(MIXED)]
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda a: g.grade("q01-dropout", a), answers))
    for fault, r in zip(MIXED, results, strict=True):
        if fault in EXPECTED_UNGRADED:
            assert r.status == "ungraded" and r.reason, fault
        else:
            assert r.status == "graded", (fault, r.reason)
    assert [r.score for f, r in zip(MIXED, results, strict=True) if f == "ok"] == [10.0] * 5
    assert server.max_in_flight <= 4  # GRADER_JUDGE_CONCURRENCY holds across threads


def test_ajudge_many_returns_errors_in_place(tmp_path: Path, server: FakeOpenAIServer) -> None:
    judge = remote_judge(judge_settings(tmp_path, server.url, judge_max_retries=0))
    q = BANK.get("q01-dropout")
    faults = ["ok", "500-always", "garbage", "ok"]
    requests = [JudgeRequest(q, f"{GOOD} [[fake:{f}]]") for f in faults]
    out = asyncio.run(judge.ajudge_many(requests))  # from a loop that is not the judge's
    assert [type(o).__name__ for o in out] == [
        "JudgeResponse",
        "JudgeError",
        "JudgeOutputError",
        "JudgeResponse",
    ]
    assert isinstance(out[1], JudgeError) and "HTTP 500" in str(out[1])


def test_concurrency_limit_is_shared_and_reached(tmp_path: Path) -> None:
    with FakeOpenAIServer(latency=0.2) as srv:
        judge = remote_judge(judge_settings(tmp_path, srv.url, judge_concurrency=5))
        q = BANK.get("q01-dropout")
        requests = [JudgeRequest(q, f"{GOOD} Number {i}.") for i in range(15)]
        t = time.perf_counter()
        out = asyncio.run(judge.ajudge_many(requests))
        elapsed = time.perf_counter() - t
    assert all(not isinstance(o, Exception) for o in out)
    assert srv.max_in_flight == 5
    assert elapsed < 3 * 0.2 * 1.8  # 3 waves of 0.2 s, not 15 one after another

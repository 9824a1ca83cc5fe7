"""Internals never reach a client: judge URLs, credentials, raw replies and secret settings.

A failed judge call leaves a stable short reason with a code in the result (and in a
transcript's items); the detail (URL with its credentials redacted, the judge's reply)
goes to the server log only.  Settings errors never echo a secret value.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api_support import remote_grader
from conftest import TINY_BANK
from fake_openai_server import FakeOpenAIServer
from grader.config import load_settings
from grader.errors import ConfigError, JudgeError
from grader.grading.judges import make_judge
from grader.grading.judges.remote.client import redact
from grader.grading.pipeline import Grader
from grader.transcripts.grade import grade_transcript
from grader.transcripts.parse import parse_transcript

ANSWER = (
    "Dropout randomly sets a fraction of activations to zero during training, at every step. "
    "It is active only during training and disabled at inference time."
)
PASSWORD = "s3cret-pw"
GARBAGE = "I think this answer is quite good overall."  # the fake server's garbage reply


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


def with_credentials(url: str) -> str:
    return url.replace("http://", f"http://judge-user:{PASSWORD}@")


def grader(tmp_path: Path, url: str, **kw: Any) -> Grader:
    return remote_grader(tmp_path, url, judge_timeout=2.0, judge_max_retries=0, **kw)


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# ------------------------------------------------------------------ judge failures


def test_http_error_reason_has_no_url_or_credentials_and_the_log_redacts_them(
    tmp_path: Path, server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = with_credentials(server.url)
    result = grader(tmp_path, url).grade("q01-dropout", f"{ANSWER} [[fake:500-always]]")
    shown = result.model_dump_json()
    assert result.status == "ungraded"
    assert result.reason == "judge failed: the judge returned an error (judge_failed)"
    assert PASSWORD not in shown and "127.0.0.1" not in shown and "injected 500" not in shown
    assert server.url.replace("http://", "http://***@") in logged(caplog)
    assert "injected 500" in logged(caplog) and PASSWORD not in logged(caplog)


def test_garbage_reply_never_reaches_the_result(
    tmp_path: Path, server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    g = grader(tmp_path, with_credentials(server.url), judge_max_reasks=1)
    result = g.grade("q01-dropout", f"{ANSWER} [[fake:garbage]]")
    assert result.status == "ungraded"
    assert result.reason == "judge failed: the judge's reply was not valid (judge_bad_output)"
    assert GARBAGE not in result.model_dump_json()
    assert GARBAGE in logged(caplog)  # the operator still sees what the judge said


def test_garbage_reply_never_reaches_a_transcript_report(
    tmp_path: Path, server: FakeOpenAIServer
) -> None:
    transcript = {"turns": [{"question_id": "q01-dropout", "answer": f"{ANSWER} [[fake:garbage]]"}]}
    g = grader(tmp_path, with_credentials(server.url), judge_max_reasks=0)
    report = grade_transcript(g, parse_transcript(json.dumps(transcript).encode()))
    shown = report.model_dump_json()
    assert report.items[0].status == "ungraded"
    assert "(judge_bad_output)" in shown
    assert GARBAGE not in shown and PASSWORD not in shown and "127.0.0.1" not in shown


def test_unreachable_judge_reason_is_short_and_the_log_redacts_the_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://judge-user:{PASSWORD}@127.0.0.1:{free_port()}/v1"
    result = grader(tmp_path, url).grade("q01-dropout", ANSWER)
    assert result.reason == "judge failed: judge server unreachable (judge_unreachable)"
    assert "cannot reach the judge server at http://***@127.0.0.1:" in logged(caplog)
    assert PASSWORD not in logged(caplog)


def test_readiness_ping_error_redacts_the_password(tmp_path: Path) -> None:
    url = f"http://judge-user:{PASSWORD}@127.0.0.1:{free_port()}/v1"
    judge = make_judge(grader(tmp_path, url).settings)
    assert judge is not None
    with pytest.raises(JudgeError) as err:
        judge.ping()
    assert PASSWORD not in str(err.value) and "http://***@127.0.0.1:" in str(err.value)
    judge.close()


def test_redact_hides_every_userinfo_and_keeps_the_rest() -> None:
    text = "at https://u:p@host/v1 and http://token@other:8/x, not mail@example.org"
    assert redact(text) == "at https://***@host/v1 and http://***@other:8/x, not mail@example.org"


# ------------------------------------------------------------------ settings errors


def test_malformed_api_keys_are_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_API_KEYS", '["key-one-SECRET", ')
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "SECRET" not in str(err.value)
    assert "GRADER_API_KEYS" in str(err.value) and "<redacted>" in str(err.value)
    assert "JSON list" in str(err.value)  # names the fix


@pytest.mark.parametrize(
    "overrides",
    [
        {"grade_only_keys": ["ok", {"k": "key-two-SECRET"}]},
        {"judge_api_key": ["key-three-SECRET"]},
        {"judge_base_url": f"ftp://user:{PASSWORD}-SECRET@host/v1"},
    ],
)
def test_secret_settings_are_never_echoed(tmp_path: Path, overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as err:
        s = load_settings(
            bank_dir=TINY_BANK,
            cache_dir=tmp_path,
            embedder="fake",
            judge="openai-compatible:m",
            **overrides,
        )
        make_judge(s)
    assert "SECRET" not in str(err.value)


def test_other_settings_still_show_the_bad_value() -> None:
    with pytest.raises(ConfigError, match=r"GRADER_MAX_QUEUE: .*got 'lots'"):
        load_settings(max_queue="lots")

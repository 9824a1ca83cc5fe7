"""Plumbing of remote judges: endpoint and key resolution, error mapping, token and cost tally.

All the fixed numbers of the remote judge live here; the tunable ones are settings
(``GRADER_JUDGE_TIMEOUT``, ``GRADER_JUDGE_MAX_RETRIES``, ``GRADER_JUDGE_CONCURRENCY``, …).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import openai

from grader.config import Settings
from grader.errors import ConfigError, JudgeError, JudgeTimeoutError

OPENAI_BASE_URL = "https://api.openai.com/v1"
CONNECT_TIMEOUT_S = 5.0  # connecting takes at most this long, whatever GRADER_JUDGE_TIMEOUT says
RAW_EXCERPT_CHARS = 300  # start of the last reply quoted in an ungraded reason
NO_KEY = "not-needed"  # local servers ignore the key, the SDK insists on one


@dataclass
class Tally:
    """Calls and tokens spent on one answer."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model: str | None = None  # as named by the server's last reply

    def add(self, usage: Any) -> None:
        self.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
        self.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)


def cost_usd(
    prices: dict[str, tuple[float, float]], models: Sequence[str], tally: Tally
) -> float | None:
    """Cost from GRADER_JUDGE_PRICES (USD per million prompt / completion tokens).

    The server's model name is tried first, then the configured one; a price
    key also matches names it is a prefix of (``gpt-4o-mini`` matches
    ``gpt-4o-mini-2024-07-18``), the longest key winning.
    """
    for name in models:
        keys = [k for k in prices if name == k or name.startswith(k)]
        if keys:
            per_in, per_out = prices[max(keys, key=len)]
            return round(
                (tally.prompt_tokens * per_in + tally.completion_tokens * per_out) / 1e6, 8
            )
    return None


def api_error(exc: openai.APIError, url: str, model: str, settings: Settings) -> JudgeError:
    """The JudgeError for a failed request: what happened, where, and which setting to change."""
    s = settings
    attempts = s.judge_max_retries + 1
    if isinstance(exc, openai.APITimeoutError):
        return JudgeTimeoutError(
            f"the judge server at {url} did not answer within {s.judge_timeout:g} s "
            f"({attempts} attempt(s); GRADER_JUDGE_TIMEOUT, GRADER_JUDGE_MAX_RETRIES)"
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return JudgeError(
            f"cannot reach the judge server at {url} ({type(cause).__name__}: {cause}); "
            "is it running? Check GRADER_JUDGE_BASE_URL"
        )
    if isinstance(exc, openai.AuthenticationError):
        return JudgeError(
            f"the judge server at {url} rejected the API key (HTTP 401): check "
            "GRADER_JUDGE_API_KEY or OPENAI_API_KEY"
        )
    if isinstance(exc, openai.NotFoundError):
        return JudgeError(
            f"the judge server at {url} answered 404 for model {model!r}: check the "
            "model name in GRADER_JUDGE and the /v1 suffix of GRADER_JUDGE_BASE_URL"
        )
    if isinstance(exc, openai.APIStatusError):
        hint = "; lower GRADER_JUDGE_CONCURRENCY" if exc.status_code == 429 else ""
        return JudgeError(
            f"the judge server at {url} answered HTTP {exc.status_code} after "
            f"{attempts} attempt(s): {str(exc.message)[:RAW_EXCERPT_CHARS]}{hint}"
        )
    return JudgeError(f"judge request to {url} failed: {exc}")


def base_url(provider: str, configured: str | None) -> str:
    if configured:
        url = configured.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ConfigError(
                f"GRADER_JUDGE_BASE_URL={configured!r} is not an http(s) URL; "
                "expected e.g. http://127.0.0.1:8000/v1"
            )
        return url
    if provider == "openai-compatible":
        raise ConfigError(
            "GRADER_JUDGE=openai-compatible:<model> needs GRADER_JUDGE_BASE_URL, "
            "e.g. http://127.0.0.1:8000/v1 (vLLM) or http://127.0.0.1:11434/v1 (Ollama)"
        )
    return os.environ.get("OPENAI_BASE_URL", "").rstrip("/") or OPENAI_BASE_URL


def api_key(provider: str, configured: str | None) -> str:
    key = configured or os.environ.get("OPENAI_API_KEY")
    if key:
        return key
    if provider == "openai":
        raise ConfigError(
            "GRADER_JUDGE=openai:<model> needs an API key: set OPENAI_API_KEY "
            "(or GRADER_JUDGE_API_KEY)"
        )
    return NO_KEY

"""The remote judge's connection: the openai SDK client and every request made on it.

:class:`ChatClient` owns one ``AsyncOpenAI`` client (timeouts and retries are the
SDK's, ``Retry-After`` honoured; there is no second retry loop) and makes the three
kinds of request a remote judge needs: a chat completion under the process-wide
semaphore of its endpoint, the model list (server-kind detection) and a readiness
ping.  Around it: endpoint and key resolution, the mapping of SDK errors to
``JudgeError`` messages that name the setting to change, and the token and cost tally.

All the fixed numbers of the remote judge live here; the tunable ones are settings
(``GRADER_JUDGE_TIMEOUT``, ``GRADER_JUDGE_MAX_RETRIES``, ``GRADER_JUDGE_CONCURRENCY``, …).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import openai

from grader.errors import (
    ConfigError,
    JudgeError,
    JudgeOutputError,
    JudgeTimeoutError,
    JudgeUnreachableError,
)
from grader.grading.judges.remote.capabilities import Capabilities, ServerKind, kind_from_owners
from grader.grading.judges.remote.runtime import semaphore

if TYPE_CHECKING:
    from grader.config import JudgeSettings

OPENAI_BASE_URL = "https://api.openai.com/v1"
CONNECT_TIMEOUT_S = 5.0  # connecting takes at most this long, whatever GRADER_JUDGE_TIMEOUT says
PING_TIMEOUT_S = 3.0  # the readiness ping (GET /models, no retry) waits at most this long
RAW_EXCERPT_CHARS = 300  # start of the last reply quoted in a JudgeError (server log only)
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


_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/@\s]*@")


def redact(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced: ``http://***@host/...``."""
    return _USERINFO.sub(r"\1***@", text)


def api_error(exc: openai.APIError, url: str, model: str, settings: JudgeSettings) -> JudgeError:
    """The JudgeError for a failed request: what happened, where, and which setting to change.

    Its message is for the server log: URL credentials are redacted, the reply is quoted.
    """
    err = _api_error(exc, redact(url), model, settings)
    err.args = (redact(str(err)),)
    return err


def _api_error(exc: openai.APIError, url: str, model: str, settings: JudgeSettings) -> JudgeError:
    s = settings
    attempts = s.judge_max_retries + 1
    if isinstance(exc, openai.APITimeoutError):
        return JudgeTimeoutError(
            f"the judge server at {url} did not answer within {s.judge_timeout:g} s "
            f"({attempts} attempt(s); GRADER_JUDGE_TIMEOUT, GRADER_JUDGE_MAX_RETRIES)"
        )
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc
        return JudgeUnreachableError(
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
                f"GRADER_JUDGE_BASE_URL={redact(configured)!r} is not an http(s) URL; "
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


class ChatClient:
    """One judge's client for ``url``: chat completions, the model list, a readiness ping."""

    def __init__(
        self, settings: JudgeSettings, url: str, key: str, model: str, http_client: Any = None
    ) -> None:
        self.settings = settings
        self.url = url
        self.shown_url = redact(url)  # the URL for messages and logs
        self.model = model
        self._sdk = openai.AsyncOpenAI(
            api_key=key,
            base_url=url,
            timeout=openai.Timeout(
                settings.judge_timeout, connect=min(CONNECT_TIMEOUT_S, settings.judge_timeout)
            ),
            max_retries=settings.judge_max_retries,
            http_client=http_client,
        )

    async def complete(
        self,
        messages: list[dict[str, str]],
        caps: Capabilities,
        tally: Tally,
        max_tokens: int,
        **extra: Any,
    ) -> tuple[Any, str]:
        """One chat completion under the shared semaphore: (first choice, server's model name)."""
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0.0,
            caps.max_tokens_param: max_tokens,
            **extra,
        }
        if caps.seed:
            kwargs["seed"] = self.settings.seed
        create: Any = self._sdk.chat.completions.create
        tally.calls += 1
        async with semaphore(self.url, self.settings.judge_concurrency):
            try:
                response = await create(**kwargs)
            except openai.APIError as exc:
                raise api_error(exc, self.url, self.model, self.settings) from exc
        try:
            choice = response.choices[0]
            choice.message  # noqa: B018 - an answer without a message is unusable
        except (AttributeError, IndexError, TypeError):
            raise JudgeOutputError(
                f"the judge server at {self.shown_url} returned no completion: "
                f"{str(response)[:RAW_EXCERPT_CHARS]!r}"
            ) from None
        tally.add(getattr(response, "usage", None))
        tally.model = str(getattr(response, "model", None) or self.model)
        return choice, tally.model

    async def server_kind(self) -> ServerKind:
        """The server's kind from the ``owned_by`` of ``GET /models`` (generic without one)."""
        try:
            page = await self._sdk.models.list()
        except openai.APIStatusError:
            return "generic"  # no /models endpoint: assume nothing special
        except openai.APIError as exc:
            raise api_error(exc, self.url, self.model, self.settings) from exc
        return kind_from_owners(getattr(m, "owned_by", None) for m in page.data)

    async def ping(self) -> None:
        """``GET /models`` once, within PING_TIMEOUT_S; raise JudgeError naming the URL and fix.

        Any HTTP answer but 401 and 5xx counts as up (a server without ``/models``
        answers 404 and can still judge).
        """
        sdk = self._sdk.with_options(timeout=PING_TIMEOUT_S, max_retries=0)
        try:
            await sdk.models.list()
        except openai.APITimeoutError:
            raise JudgeError(
                f"the judge server at {self.shown_url} did not answer GET /models within "
                f"{PING_TIMEOUT_S:g} s; is it overloaded or hung? Check GRADER_JUDGE_BASE_URL"
            ) from None
        except openai.AuthenticationError as exc:
            raise api_error(exc, self.url, self.model, self.settings) from exc
        except openai.APIStatusError as exc:
            if exc.status_code >= 500:
                raise JudgeError(
                    f"the judge server at {self.shown_url} answered GET /models with HTTP "
                    f"{exc.status_code}: {str(exc.message)[:RAW_EXCERPT_CHARS]}; check the "
                    "server's log"
                ) from exc
        except openai.APIError as exc:
            raise api_error(exc, self.url, self.model, self.settings) from exc

    async def close(self) -> None:
        await self._sdk.close()

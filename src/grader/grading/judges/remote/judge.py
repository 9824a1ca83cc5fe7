"""Remote judge: any OpenAI-compatible chat server through the ``openai`` SDK.

Picked by ``GRADER_JUDGE=openai:<model>`` (needs ``OPENAI_API_KEY``) or
``GRADER_JUDGE=openai-compatible:<model>`` with ``GRADER_JUDGE_BASE_URL``
(vLLM, Ollama, llama.cpp server, LM Studio).  :class:`OpenAIJudge` only wires
the parts, each in its own module:

* :mod:`.client`: the SDK client (requests, errors that name the fix, tokens, cost);
* :mod:`.structured` (default ``GRADER_JUDGE_STYLE``): one JSON call per answer,
  re-asked on an invalid reply or on evidence that is not in the answer;
  its output schema and parser are in :mod:`.output`;
* :mod:`.probes` (``checklist``): one yes/no probe per rubric item, P(yes) from
  ``top_logprobs``;
* :mod:`.capabilities`: what each server kind accepts, detected once;
* :mod:`.runtime`: the private event loop and the per-endpoint semaphores.

**Reliability.**  One ``AsyncOpenAI`` client per judge owns timeouts and
retries (``GRADER_JUDGE_TIMEOUT``, ``GRADER_JUDGE_MAX_RETRIES``; 408/409/429/5xx
and connection errors are retried with backoff, ``Retry-After`` honoured);
there is no second retry loop here.  All requests of the process to one
endpoint share one semaphore (``GRADER_JUDGE_CONCURRENCY``) on a private event
loop, so ``judge`` can be called from many threads and ``ajudge`` /
``ajudge_many`` from any event loop.  Temperature is 0 and the seed is sent
where supported; ``JudgeResponse.model`` is the model name the server
returned; tokens and (with ``GRADER_JUDGE_PRICES``) cost are counted per grade,
also on failures (attached to the ``JudgeError``).  ``ping`` (for ``/readyz``)
is one ``GET /models`` without retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

from grader.errors import ConfigError, JudgeError
from grader.grading.judges.base import JudgeRequest, JudgeResponse
from grader.grading.judges.calibration import ProbeCalibration
from grader.grading.judges.remote.capabilities import Capabilities, capabilities_for
from grader.grading.judges.remote.client import ChatClient, Tally, api_key, base_url, cost_usd
from grader.grading.judges.remote.probes import ChecklistStyle
from grader.grading.judges.remote.runtime import run_async, run_sync
from grader.grading.judges.remote.structured import StructuredStyle

if TYPE_CHECKING:
    from grader.config import JudgeSettings, Settings
    from grader.grading.judges.registry import JudgeSpec

PROVIDERS = ("openai", "openai-compatible")


class Style(Protocol):
    """How the judge is asked: the structured and the checklist style."""

    prompt_version: str

    async def judge(
        self, client: ChatClient, request: JudgeRequest, caps: Capabilities, tally: Tally
    ) -> JudgeResponse: ...


class OpenAIJudge:
    """Judge on an OpenAI-compatible chat-completions server."""

    calibration: ProbeCalibration | None = None  # remote probabilities are used as they come

    def __init__(
        self,
        settings: JudgeSettings,
        spec: JudgeSpec,
        *,
        partial_probability: float,
        http_client: Any = None,
    ) -> None:
        if spec.kind not in PROVIDERS or not spec.arg.strip():
            raise ConfigError(
                f"GRADER_JUDGE={settings.judge!r} names no model: use e.g. "
                "GRADER_JUDGE=openai:gpt-4o-mini or GRADER_JUDGE=openai-compatible:<model>"
            )
        self.settings = settings
        self.provider = spec.kind
        self.model = spec.arg.strip()
        self.name = settings.judge
        self.style = settings.judge_style
        self._style: Style = (
            StructuredStyle(settings, partial_probability)
            if self.style == "structured"
            else ChecklistStyle(settings.judge_fence)
        )
        self.prompt_version = self._style.prompt_version
        self.base_url = base_url(spec.kind, settings.judge_base_url)
        capabilities_for("generic", settings.judge_capabilities)  # fail fast on bad overrides
        self._caps: Capabilities | None = None
        self._caps_lock: asyncio.Lock | None = None
        key = api_key(spec.kind, settings.judge_api_key)
        self._client = ChatClient(settings, self.base_url, key, self.model, http_client)

    @classmethod
    def from_settings(
        cls, settings: Settings, spec: JudgeSpec, *, http_client: Any = None
    ) -> OpenAIJudge:
        """The judge ``spec`` names (``make_judge`` parses it); a 'partial' verdict counts
        midway between the scoring thresholds GRADER_PARTIAL_PROBABILITY and _MET_."""
        scoring = settings.scoring
        return cls(
            settings.judging,
            spec,
            partial_probability=(scoring.partial_probability + scoring.met_probability) / 2,
            http_client=http_client,
        )

    # ------------------------------------------------------------------ the Judge protocol

    def judge(self, request: JudgeRequest) -> JudgeResponse:
        """The seam: blocks the calling thread (safe from many threads at once)."""
        return run_sync(self._judge(request))

    def ping(self) -> None:
        """One ``GET /models`` (no retry); JudgeError naming the URL and the fix if it fails."""
        run_sync(self._client.ping())

    def close(self) -> None:
        run_sync(self._client.close())

    # ------------------------------------------------------------------ async entry points

    async def ajudge(self, request: JudgeRequest) -> JudgeResponse:
        return await run_async(self._judge(request))

    async def ajudge_many(
        self, requests: Sequence[JudgeRequest]
    ) -> list[JudgeResponse | JudgeError]:
        """Judge many answers concurrently (up to GRADER_JUDGE_CONCURRENCY calls in flight).

        A failed answer yields its ``JudgeError`` in place; the others complete.
        """
        results = await asyncio.gather(*(self.ajudge(r) for r in requests), return_exceptions=True)
        out: list[JudgeResponse | JudgeError] = []
        for r in results:
            if isinstance(r, BaseException) and not isinstance(r, JudgeError):
                raise r
            out.append(r)
        return out

    async def capabilities(self) -> Capabilities:
        """The capability row for this server, detected once when GRADER_JUDGE_SERVER=auto."""
        if self._caps is None:
            if self._caps_lock is None:
                self._caps_lock = asyncio.Lock()
            async with self._caps_lock:
                if self._caps is None:
                    kind: str = self.settings.judge_server
                    if kind == "auto":
                        openai = self.provider == "openai"
                        kind = "openai" if openai else await self._client.server_kind()
                    self._caps = capabilities_for(kind, self.settings.judge_capabilities)
        return self._caps

    # ------------------------------------------------------------------ internals

    async def _judge(self, request: JudgeRequest) -> JudgeResponse:
        tally = Tally()
        try:
            caps = await self.capabilities()
            response = await self._style.judge(self._client, request, caps, tally)
        except JudgeError as exc:
            exc.calls, exc.prompt_tokens = tally.calls, tally.prompt_tokens
            exc.completion_tokens = tally.completion_tokens
            exc.cost_usd = self._cost(tally.model or self.model, tally)
            raise
        return replace(
            response,
            calls=tally.calls,
            prompt_tokens=tally.prompt_tokens,
            completion_tokens=tally.completion_tokens,
            cost_usd=self._cost(response.model, tally),
        )

    def _cost(self, model: str, tally: Tally) -> float | None:
        """USD from GRADER_JUDGE_PRICES: the server's model name first, then the configured one."""
        return cost_usd(self.settings.judge_prices, (model, self.model), tally)

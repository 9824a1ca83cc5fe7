"""Remote judge: any OpenAI-compatible chat server through the ``openai`` SDK.

Picked by ``GRADER_JUDGE=openai:<model>`` (needs ``OPENAI_API_KEY``) or
``GRADER_JUDGE=openai-compatible:<model>`` with ``GRADER_JUDGE_BASE_URL``
(vLLM, Ollama, llama.cpp server, LM Studio).  Two styles
(``GRADER_JUDGE_STYLE``):

* ``structured`` (default): one call returning per-criterion verdicts
  (met / partial / not_met) with evidence quotes, the misconceptions found and
  a feedback summary, validated by :class:`~grader.grading.judges.remote.structured.GradingOutput`.
  An invalid reply is re-asked up to ``GRADER_JUDGE_MAX_REASKS`` times, quoting
  the validation error; then the answer is ungraded (``JudgeOutputError``)
  with the reason and the start of the last reply; all replies are kept in
  ``JudgeResponse.raw``.  Verdicts become probabilities for ``aggregate``:
  met -> 1.0, partial -> midway between ``GRADER_PARTIAL_PROBABILITY`` and
  ``GRADER_MET_PROBABILITY`` (so an all-or-nothing criterion counts as not met),
  not_met -> 0.0; a mistake -> its confidence / 100 (clamped to 0..100 first).
* ``checklist``: one yes/no probe per criterion and misconception (prompt
  ``checklist-v1``), P(yes) from ``top_logprobs`` (see :mod:`.probes`).

**Evidence policy.**  A met/partial verdict or a reported mistake whose quote
is not in the answer (whitespace and case normalised) is not trusted: the
judge is re-asked *once*, naming the quotes that were not found; whatever is
still unsupported after that counts as not met (a mistake as absent), and a
review reason says so.

**Reliability.**  One ``AsyncOpenAI`` client per judge owns timeouts and
retries (``GRADER_JUDGE_TIMEOUT``, ``GRADER_JUDGE_MAX_RETRIES``; 408/409/429/5xx
and connection errors are retried with backoff, ``Retry-After`` honoured);
there is no second retry loop here.  All requests of the process to one
endpoint share one semaphore (``GRADER_JUDGE_CONCURRENCY``) on a private event
loop (:mod:`.runtime`), so ``judge`` can be called from many threads and
``ajudge`` / ``ajudge_many`` from any event loop.  Server quirks come from the
capability table (:mod:`.capabilities`); endpoints, errors and costs from
:mod:`.remote`.  Temperature is 0 and the seed is
sent where supported; ``JudgeResponse.model`` is the model name the server
returned; tokens and (with ``GRADER_JUDGE_PRICES``) cost are counted per grade,
also on failures (attached to the ``JudgeError``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import openai

from grader.config import Settings
from grader.errors import ConfigError, JudgeError, JudgeOutputError
from grader.grading.judges.base import CriterionJudgement, JudgeRequest, JudgeResponse, Prompt
from grader.grading.judges.remote.capabilities import (
    Capabilities,
    capabilities_for,
    kind_from_owners,
)
from grader.grading.judges.remote.client import (
    CONNECT_TIMEOUT_S,
    RAW_EXCERPT_CHARS,
    Tally,
    api_error,
    api_key,
    base_url,
    cost_usd,
)
from grader.grading.judges.remote.probes import p_yes, probe_messages
from grader.grading.judges.remote.runtime import run_async, run_sync, semaphore
from grader.grading.judges.remote.structured import (
    OutputProblem,
    Parsed,
    output_schema,
    parse_output,
    rubric_lines,
    schema_text,
)

STRUCTURED_PROMPT = "structured-v1"
CHECKLIST_PROMPT = "checklist-v1"


class OpenAIJudge:
    """Judge on an OpenAI-compatible chat-completions server."""

    def __init__(
        self,
        settings: Settings,
        *,
        http_client: Any = None,
    ) -> None:
        provider, _, model = settings.judge.partition(":")
        if provider not in ("openai", "openai-compatible") or not model.strip():
            raise ConfigError(
                f"GRADER_JUDGE={settings.judge!r} names no model: use e.g. "
                "GRADER_JUDGE=openai:gpt-4o-mini or GRADER_JUDGE=openai-compatible:<model>"
            )
        self.settings = settings
        self.provider = provider
        self.model = model.strip()
        self.name = settings.judge
        self.style = settings.judge_style
        self.prompt_version = STRUCTURED_PROMPT if self.style == "structured" else CHECKLIST_PROMPT
        self.prompt = Prompt.load(self.prompt_version)
        self.base_url = base_url(provider, settings.judge_base_url)
        capabilities_for("generic", settings.judge_capabilities)  # fail fast on bad overrides
        self._caps: Capabilities | None = None
        self._caps_lock: asyncio.Lock | None = None
        self._client = openai.AsyncOpenAI(
            api_key=api_key(provider, settings.judge_api_key),
            base_url=self.base_url,
            timeout=openai.Timeout(
                settings.judge_timeout, connect=min(CONNECT_TIMEOUT_S, settings.judge_timeout)
            ),
            max_retries=settings.judge_max_retries,
            http_client=http_client,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIJudge:
        return cls(settings)

    # ------------------------------------------------------------------ entry points

    def judge(self, request: JudgeRequest) -> JudgeResponse:
        """The seam: blocks the calling thread (safe from many threads at once)."""
        return run_sync(self._judge(request))

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

    def close(self) -> None:
        run_sync(self._client.close())

    # ------------------------------------------------------------------ internals

    async def _judge(self, request: JudgeRequest) -> JudgeResponse:
        tally = Tally()
        try:
            caps = await self.capabilities()
            if self.style == "checklist":
                return await self._checklist(request, caps, tally)
            return await self._structured(request, caps, tally)
        except JudgeError as exc:
            exc.calls, exc.prompt_tokens = tally.calls, tally.prompt_tokens
            exc.completion_tokens = tally.completion_tokens
            exc.cost_usd = cost_usd(
                self.settings.judge_prices, (tally.model or self.model, self.model), tally
            )
            raise

    async def capabilities(self) -> Capabilities:
        """The capability row for this server, detected once when GRADER_JUDGE_SERVER=auto."""
        if self._caps is None:
            if self._caps_lock is None:
                self._caps_lock = asyncio.Lock()
            async with self._caps_lock:
                if self._caps is None:
                    kind: str = self.settings.judge_server
                    if kind == "auto":
                        kind = "openai" if self.provider == "openai" else await self._detect()
                    self._caps = capabilities_for(kind, self.settings.judge_capabilities)
        return self._caps

    async def _detect(self) -> str:
        try:
            page = await self._client.models.list()
        except openai.APIStatusError:
            return "generic"  # no /models endpoint: assume nothing special
        except openai.APIError as exc:
            raise api_error(exc, self.base_url, self.model, self.settings) from exc
        return kind_from_owners(getattr(m, "owned_by", None) for m in page.data)

    async def _complete(
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
        create: Any = self._client.chat.completions.create
        tally.calls += 1
        async with semaphore(self.base_url, self.settings.judge_concurrency):
            try:
                response = await create(**kwargs)
            except openai.APIError as exc:
                raise api_error(exc, self.base_url, self.model, self.settings) from exc
        try:
            choice = response.choices[0]
            choice.message  # noqa: B018 - an answer without a message is unusable
        except (AttributeError, IndexError, TypeError):
            raise JudgeOutputError(
                f"the judge server at {self.base_url} returned no completion: "
                f"{str(response)[:RAW_EXCERPT_CHARS]!r}"
            ) from None
        tally.add(getattr(response, "usage", None))
        tally.model = str(getattr(response, "model", None) or self.model)
        return choice, tally.model

    # ------------------------------------------------------------------ structured style

    def _output_params(self, request: JudgeRequest, caps: Capabilities) -> dict[str, Any]:
        rubric = request.question.rubric
        if caps.output == "json_schema":
            schema = output_schema(rubric, strict=True)
            return {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "grading", "schema": schema, "strict": True},
                }
            }
        if caps.output == "json_object_schema":  # llama.cpp: schema rides along in extra_body
            schema = output_schema(rubric)
            return {"extra_body": {"response_format": {"type": "json_object", "schema": schema}}}
        if caps.output == "json_object":
            return {"response_format": {"type": "json_object"}}
        return {}

    def _structured_messages(
        self, request: JudgeRequest, caps: Capabilities
    ) -> list[dict[str, str]]:
        q = request.question
        criteria, misconceptions = rubric_lines(q.rubric)
        context = self.prompt.render(
            "context", question=q.text, reference=q.reference.text, answer=request.answer
        )
        task = self.prompt.render(
            "task",
            criteria=criteria,
            misconceptions=misconceptions,
            schema=schema_text(output_schema(q.rubric)),
        )
        return [
            {"role": caps.system_role, "content": self.prompt.render("system")},
            {"role": "user", "content": f"{context}\n\n{task}"},
        ]

    async def _structured(
        self, request: JudgeRequest, caps: Capabilities, tally: Tally
    ) -> JudgeResponse:
        rubric = request.question.rubric
        messages = self._structured_messages(request, caps)
        params = self._output_params(request, caps)
        raws: list[str] = []
        best: Parsed | None = None
        problem = ""
        reasks, evidence_reasked, model = 0, False, self.model
        while True:
            choice, model = await self._complete(
                messages, caps, tally, self.settings.judge_max_tokens, **params
            )
            raw = choice.message.content or ""
            raws.append(raw)
            try:
                parsed = parse_output(
                    raw, rubric, request.answer, truncated=choice.finish_reason == "length"
                )
            except OutputProblem as exc:
                problem = str(exc)
                if reasks >= self.settings.judge_max_reasks:
                    break
                reasks += 1
                messages = [*messages, _assistant(raw), self._reask("reask_invalid", error=problem)]
                continue
            best, problem = parsed, ""
            if parsed.untrusted and not evidence_reasked:
                evidence_reasked = True
                quotes = "; ".join(f"{k}: {v!r}" for k, v in parsed.untrusted.items())
                messages = [
                    *messages,
                    _assistant(raw),
                    self._reask("reask_evidence", quotes=quotes),
                ]
                continue
            break
        audit = _audit(raws)
        if best is None:
            err = JudgeOutputError(
                f"judge output still invalid after {len(raws)} attempt(s): {problem}; "
                f"last reply: {raws[-1][:RAW_EXCERPT_CHARS]!r}"
            )
            err.raw = audit
            raise err
        return self._from_parsed(best, request, model, tally, audit)

    def _reask(self, section: str, **values: str) -> dict[str, str]:
        return {"role": "user", "content": self.prompt.render(section, **values)}

    def _from_parsed(
        self, parsed: Parsed, request: JudgeRequest, model: str, tally: Tally, audit: str
    ) -> JudgeResponse:
        s = self.settings
        partial = (s.partial_probability + s.met_probability) / 2
        prob = {"met": 1.0, "partial": partial, "not_met": 0.0}
        rubric = request.question.rubric
        criteria = {}
        for c in rubric.criteria:
            item = parsed.criteria[c.id]
            trusted = c.id not in parsed.untrusted
            criteria[c.id] = CriterionJudgement(
                prob[item.verdict] if trusted else 0.0, item.evidence if trusted else None
            )
        miscon = {m.id: CriterionJudgement(0.0) for m in rubric.misconceptions}
        for mid, found in parsed.misconceptions.items():
            if mid not in parsed.untrusted:
                miscon[mid] = CriterionJudgement(found.confidence / 100, found.evidence)
        review = [
            f"judge evidence for {k} is not in the answer ({v!r}): counted as not met"
            for k, v in parsed.untrusted.items()
        ]
        notes = "".join(f"\n# note: {n}" for n in parsed.notes)
        return self._response(
            criteria, miscon, model, tally, audit + notes, review, parsed.output.summary
        )

    def _response(
        self,
        criteria: dict[str, CriterionJudgement],
        miscon: dict[str, CriterionJudgement],
        model: str,
        tally: Tally,
        raw: str | None,
        review: list[str],
        summary: str | None = None,
    ) -> JudgeResponse:
        return JudgeResponse(
            criteria,
            miscon,
            model=model,
            prompt_version=self.prompt_version,
            calls=tally.calls,
            prompt_tokens=tally.prompt_tokens,
            completion_tokens=tally.completion_tokens,
            summary=summary,
            raw=raw,
            cost_usd=cost_usd(self.settings.judge_prices, (model, self.model), tally),
            review_reasons=review,
        )

    # ------------------------------------------------------------------ checklist style

    async def _checklist(
        self, request: JudgeRequest, caps: Capabilities, tally: Tally
    ) -> JudgeResponse:
        q = request.question
        context = self.prompt.render(
            "context", question=q.text, reference=q.reference.text, answer=request.answer
        )
        extra: dict[str, Any] = {}
        if caps.logprobs:
            extra = {"logprobs": True, "top_logprobs": caps.top_logprobs}
        items = [("criterion", c.id, c.description) for c in q.rubric.criteria]
        items += [("misconception", m.id, m.description) for m in q.rubric.misconceptions]

        async def probe(section: str, item_id: str, description: str) -> tuple[float, str]:
            messages = probe_messages(self.prompt, caps.system_role, context, section, description)
            choice, model = await self._complete(messages, caps, tally, 1, **extra)
            return p_yes(choice, item_id), model

        results = await asyncio.gather(*(probe(*it) for it in items), return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        probs = {it[1]: r[0] for it, r in zip(items, results, strict=True)}  # type: ignore[index]
        model = str(results[-1][1]) if results else self.model  # type: ignore[index]
        criteria = {
            c.id: CriterionJudgement(probs[c.id], request.sentence(c.id)) for c in q.rubric.criteria
        }
        miscon = {m.id: CriterionJudgement(probs[m.id]) for m in q.rubric.misconceptions}
        raw = json.dumps({k: round(v, 4) for k, v in probs.items()})
        return self._response(criteria, miscon, model, tally, raw, [])


def _assistant(raw: str) -> dict[str, str]:
    return {"role": "assistant", "content": raw}


def _audit(raws: list[str]) -> str:
    if len(raws) == 1:
        return raws[0]
    return "\n".join(f"# attempt {i}\n{r}" for i, r in enumerate(raws, 1))

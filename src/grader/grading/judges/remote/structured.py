"""The structured style of the remote judge: one JSON reply for the whole rubric.

One call returns per-criterion verdicts (met / partial / not_met) with evidence
quotes, the misconceptions found and a feedback summary, validated by
:class:`~grader.grading.judges.remote.output.GradingOutput`.  An invalid reply
is re-asked up to ``GRADER_JUDGE_MAX_REASKS`` times, quoting the validation
error; then the answer is ungraded (``JudgeOutputError``) with the reason and
the start of the last reply; all replies are kept in ``JudgeResponse.raw``.
Verdicts become probabilities for scoring: met -> 1.0, partial -> midway
between ``GRADER_PARTIAL_PROBABILITY`` and ``GRADER_MET_PROBABILITY`` (so an
all-or-nothing criterion counts as not met), not_met -> 0.0; a mistake -> its
confidence / 100 (clamped to 0..100 first).

**Evidence policy.**  A met/partial verdict or a reported mistake whose quote
is not in the answer (whitespace and case normalised) is not trusted: the
judge is re-asked *once*, naming the quotes that were not found; whatever is
still unsupported after that counts as not met (a mistake as absent), and a
review reason says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from grader.errors import JudgeOutputError
from grader.grading.judges.base import (
    CriterionJudgement,
    JudgeRequest,
    JudgeResponse,
    Prompt,
    fence_code,
    fenced,
)
from grader.grading.judges.remote.capabilities import Capabilities
from grader.grading.judges.remote.client import RAW_EXCERPT_CHARS, ChatClient, Tally
from grader.grading.judges.remote.output import OutputProblem, Parsed, output_schema, parse_output
from grader.models import Rubric

if TYPE_CHECKING:
    from grader.config import JudgeSettings

STRUCTURED_PROMPT = "structured-v1"

Message = dict[str, str]


@dataclass
class _Exchange:
    """The conversation about one answer: messages sent, replies received, best parse."""

    messages: list[Message]
    raws: list[str] = field(default_factory=list)
    best: Parsed | None = None
    problem: str = ""
    model: str = ""


class StructuredStyle:
    """One JSON call per answer, re-asked on an invalid reply or evidence not in the answer."""

    def __init__(self, settings: JudgeSettings, partial_probability: float) -> None:
        self.prompt = Prompt.load(STRUCTURED_PROMPT)
        self.fence = settings.judge_fence  # the answer's tags carry its code (base.fence_code)
        self.prompt_version = f"{STRUCTURED_PROMPT}+fence" if self.fence else STRUCTURED_PROMPT
        self.max_tokens = settings.judge_max_tokens
        self.max_reasks = settings.judge_max_reasks
        # P(met) of each verdict; 'partial' is set by the scoring thresholds (see above)
        self.probability = {"met": 1.0, "partial": partial_probability, "not_met": 0.0}

    async def judge(
        self, client: ChatClient, request: JudgeRequest, caps: Capabilities, tally: Tally
    ) -> JudgeResponse:
        """Ask, re-ask as the policy says, and turn the best valid reply into a response."""
        talk = _Exchange(self.messages(request, caps), model=client.model)
        await self._converse(client, talk, request, caps, tally)
        audit = _audit(talk.raws)
        if talk.best is None:
            err = JudgeOutputError(
                f"judge output still invalid after {len(talk.raws)} attempt(s): {talk.problem}; "
                f"last reply: {talk.raws[-1][:RAW_EXCERPT_CHARS]!r}"
            )
            err.raw = audit
            raise err
        return self._from_parsed(talk.best, request, talk.model, audit)

    async def _converse(
        self,
        client: ChatClient,
        talk: _Exchange,
        request: JudgeRequest,
        caps: Capabilities,
        tally: Tally,
    ) -> None:
        rubric = request.question.rubric
        params = output_params(rubric, caps)
        reasks, evidence_reasked = 0, False
        while True:
            choice, talk.model = await client.complete(
                talk.messages, caps, tally, self.max_tokens, **params
            )
            raw = choice.message.content or ""
            talk.raws.append(raw)
            try:
                parsed = parse_output(
                    raw, rubric, request.answer, truncated=choice.finish_reason == "length"
                )
            except OutputProblem as exc:
                talk.problem = str(exc)
                if reasks >= self.max_reasks:
                    return
                reasks += 1
                talk.messages = [
                    *talk.messages,
                    _assistant(raw),
                    self._reask("reask_invalid", request.answer, error=talk.problem),
                ]
                continue
            talk.best, talk.problem = parsed, ""
            if not parsed.untrusted or evidence_reasked:
                return
            evidence_reasked = True
            quotes = "; ".join(f"{k}: {v!r}" for k, v in parsed.untrusted.items())
            talk.messages = [
                *talk.messages,
                _assistant(raw),
                self._reask("reask_evidence", request.answer, quotes=quotes),
            ]

    def messages(self, request: JudgeRequest, caps: Capabilities) -> list[Message]:
        """System prompt, then the question, reference, answer and the task with the schema."""
        q = request.question
        criteria, misconceptions = rubric_lines(q.rubric)
        context = self.prompt.render(
            "context", question=q.text, reference=q.reference.text, answer="\x00"
        )
        task = self.prompt.render(
            "task",
            criteria=criteria,
            misconceptions=misconceptions,
            schema=schema_text(output_schema(q.rubric)),
        )
        system = self.prompt.render("system")
        if self.fence:
            code = fence_code(request.answer)
            context, system = fenced(context, code, request.answer), fenced(system, code)
        else:
            context = context.replace("\x00", request.answer)
        return [
            {"role": caps.system_role, "content": system},
            {"role": "user", "content": f"{context}\n\n{task}"},
        ]

    def _reask(self, section: str, answer: str, **values: str) -> Message:
        text = self.prompt.render(section, **values)
        return {"role": "user", "content": fenced(text, fence_code(answer)) if self.fence else text}

    def _from_parsed(
        self, parsed: Parsed, request: JudgeRequest, model: str, audit: str
    ) -> JudgeResponse:
        rubric = request.question.rubric
        criteria = {}
        for c in rubric.criteria:
            item = parsed.criteria[c.id]
            trusted = c.id not in parsed.untrusted
            criteria[c.id] = CriterionJudgement(
                self.probability[item.verdict] if trusted else 0.0,
                item.evidence if trusted else None,
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
        return JudgeResponse(
            criteria,
            miscon,
            model=model,
            prompt_version=self.prompt_version,
            summary=parsed.output.summary,
            raw=audit + notes,
            review_reasons=review,
        )


def output_params(rubric: Rubric, caps: Capabilities) -> dict[str, Any]:
    """The request's structured-output parameters, as the server kind accepts them."""
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


def rubric_lines(rubric: Rubric) -> tuple[str, str]:
    """The criteria and misconceptions as 'id: description' lines for the prompt."""
    crit = []
    for c in rubric.criteria:
        line = f"- {c.id}: {c.description.strip()}"
        if c.partial_credit:
            line += f" (partial credit: {c.partial_credit.strip()})"
        else:
            line += " (all or nothing)"
        crit.append(line)
    miscon = [f"- {m.id}: {m.description.strip()}" for m in rubric.misconceptions] or ["(none)"]
    return "\n".join(crit), "\n".join(miscon)


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, separators=(",", ":"))


def _assistant(raw: str) -> Message:
    return {"role": "assistant", "content": raw}


def _audit(raws: list[str]) -> str:
    if len(raws) == 1:
        return raws[0]
    return "\n".join(f"# attempt {i}\n{r}" for i, r in enumerate(raws, 1))

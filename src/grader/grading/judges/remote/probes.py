"""The checklist style of the remote judge: one yes/no probe per rubric item over HTTP.

Every criterion and misconception is one chat call (prompt ``checklist-v1``),
all sent at once under the endpoint's concurrency limit.  A probe asks for one
token with ``logprobs``/``top_logprobs``.  P(yes) is the probability mass of the
"yes" spellings among the top alternatives of the first token, renormalised
over yes + no.  A server that returns no log-probabilities (or one configured
with ``logprobs: false``) gives a hard 0/1 from the generated word instead; a
reply that is neither yes nor no is a :class:`~grader.errors.JudgeOutputError`.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

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
from grader.grading.judges.remote.client import ChatClient, Tally

CHECKLIST_PROMPT = "checklist-v1"

_PUNCT = " \t\n.,!:;\"'`*"


def _word(token: str) -> str:
    return token.strip(_PUNCT).lower()


def probe_messages(
    prompt: Prompt,
    system_role: str,
    context: str,
    section: str,
    description: str,
    fence: bool = False,
) -> list[dict[str, str]]:
    """System + user message; the shared context comes first so prompt caches are reused."""
    probe = prompt.render(section, description=description.strip())
    system = prompt.render("system")
    return [
        # the system text is the same for every answer, so servers can cache it: no code
        {"role": system_role, "content": fenced(system, "…") if fence else system},
        {"role": "user", "content": f"{context}\n\n{probe}"},
    ]


def p_yes(choice: Any, item_id: str) -> float:
    """P(yes) of one probe reply (an ``openai`` ``Choice``)."""
    logprobs = getattr(choice, "logprobs", None)
    content = getattr(logprobs, "content", None) if logprobs is not None else None
    if content:
        first = content[0]
        alternatives = list(first.top_logprobs or []) or [first]
        yes = no = 0.0
        for alt in alternatives:
            word = _word(alt.token)
            # servers outside the spec may send positive values: a probability is at most 1
            p = math.exp(min(float(alt.logprob), 0.0))
            if word == "yes":
                yes += p
            elif word == "no":
                no += p
        if yes + no > 0:
            return yes / (yes + no)
    reply = (getattr(choice.message, "content", None) or "").split()
    text = _word(reply[0]) if reply else ""
    if text == "yes":
        return 1.0
    if text == "no":
        return 0.0
    raise JudgeOutputError(
        f"the judge gave no yes/no answer for {item_id!r} (replied {text[:40]!r} and no "
        "yes/no among its top log-probabilities)"
    )


class ChecklistStyle:
    """One single-token yes/no call per criterion and misconception, P(yes) from logprobs."""

    def __init__(self, fence: bool = False) -> None:
        self.prompt = Prompt.load(CHECKLIST_PROMPT)
        self.fence = fence  # the answer's tags carry its code (base.fence_code)
        self.prompt_version = f"{CHECKLIST_PROMPT}+fence" if fence else CHECKLIST_PROMPT

    async def judge(
        self, client: ChatClient, request: JudgeRequest, caps: Capabilities, tally: Tally
    ) -> JudgeResponse:
        """Probe every rubric item concurrently; the first failed probe fails the answer."""
        q = request.question
        context = self.prompt.render(
            "context", question=q.text, reference=q.reference.text, answer="\x00"
        )
        if self.fence:
            context = fenced(context, fence_code(request.answer), request.answer)
        else:
            context = context.replace("\x00", request.answer)
        extra: dict[str, Any] = {}
        if caps.logprobs:
            extra = {"logprobs": True, "top_logprobs": caps.top_logprobs}
        items = [("criterion", c.id, c.description) for c in q.rubric.criteria]
        items += [("misconception", m.id, m.description) for m in q.rubric.misconceptions]

        async def probe(section: str, item_id: str, description: str) -> tuple[float, str]:
            messages = probe_messages(
                self.prompt, caps.system_role, context, section, description, self.fence
            )
            choice, model = await client.complete(messages, caps, tally, 1, **extra)
            return p_yes(choice, item_id), model

        results = await asyncio.gather(*(probe(*it) for it in items), return_exceptions=True)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        probs = {it[1]: r[0] for it, r in zip(items, results, strict=True)}  # type: ignore[index]
        model = str(results[-1][1]) if results else client.model  # type: ignore[index]
        criteria = {
            c.id: CriterionJudgement(probs[c.id], request.sentence(c.id)) for c in q.rubric.criteria
        }
        miscon = {m.id: CriterionJudgement(probs[m.id]) for m in q.rubric.misconceptions}
        raw = json.dumps({k: round(v, 4) for k, v in probs.items()})
        return JudgeResponse(
            criteria, miscon, model=model, prompt_version=self.prompt_version, raw=raw
        )

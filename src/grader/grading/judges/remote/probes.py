"""Checklist probes over the chat API: one yes/no question, P(yes) from log-probabilities.

A probe asks for one token with ``logprobs``/``top_logprobs``.  P(yes) is the
probability mass of the "yes" spellings among the top alternatives of the
first token, renormalised over yes + no.  A server that returns no
log-probabilities (or one configured with ``logprobs: false``) gives a hard
0/1 from the generated word instead; a reply that is neither yes nor no is a
:class:`~grader.errors.JudgeOutputError`.
"""

from __future__ import annotations

import math
from typing import Any

from grader.errors import JudgeOutputError
from grader.grading.judges.base import Prompt

_PUNCT = " \t\n.,!:;\"'`*"


def _word(token: str) -> str:
    return token.strip(_PUNCT).lower()


def probe_messages(
    prompt: Prompt, system_role: str, context: str, section: str, description: str
) -> list[dict[str, str]]:
    """System + user message; the shared context comes first so prompt caches are reused."""
    probe = prompt.render(section, description=description.strip())
    return [
        {"role": system_role, "content": prompt.render("system")},
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

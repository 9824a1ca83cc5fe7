"""The local judge's prompts as token segments, and P(yes) from a probe's logits.

The prompt (a ``checklist-*`` file, ChatML chat template of Qwen2.5) is cut
into segments so the KV cache can keep what answers and probes share:

    shared  = system prompt + user turn up to the answer      (once per question)
    tail    = answer + the rest of the user turn              (once per answer)
    probe   = one rubric point + the assistant turn           (once per probe)

``checklist-v3`` lists the whole rubric before the answer: then the shared
part holds the rubric and each probe is a label of a few tokens.  Nothing
here touches llama.cpp: the tokenizer is passed in (:class:`Tokenize`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from grader.errors import JudgeError
from grader.grading.judges.base import Prompt, fence_code, fenced
from grader.models import Criterion, Misconception, Question

YES = ("yes", "Yes", "YES", " yes", " Yes")
NO = ("no", "No", "NO", " no", " No")
ASSISTANT_TURN = "<|im_end|>\n<|im_start|>assistant\n"


class Tokenize(Protocol):
    """Text -> token ids, without BOS; ``special`` parses '<|im_start|>' etc. as tokens."""

    def __call__(self, text: str, special: bool = False) -> list[int]: ...


class ChecklistPrompt:
    """A checklist prompt file, rendered and tokenised into the segments above."""

    def __init__(self, prompt: Prompt, tokenize: Tokenize, fence: bool = False) -> None:
        self.prompt = prompt
        self._tok = tokenize
        self.fence = fence  # <answer-CODE> tags, CODE from the answer (base.fence_code)

    @property
    def listed(self) -> bool:
        """True for prompts that list the whole rubric before the answer (checklist-v3).

        Then everything about the question (rubric included) is one shared prefix,
        and each probe after the answer is only a label of a few tokens; older
        prompts (checklist-v2, -v4) repeat one rubric point per probe after the answer.
        """
        return "criterion_item" in self.prompt.sections

    def segments(self, q: Question, answer_text: str) -> tuple[list[int], list[int]]:
        """(shared, tail): the question's shared prefix, then the answer and the rest."""
        system = self.prompt.render("system")
        if self.fence:  # shared by every answer to the question: the code is not known here
            system = fenced(system, "…")
        head = self._tok(
            f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n", special=True
        )
        values = {"question": q.text, "reference": q.reference.text, "answer": "\x00"}
        if self.listed:
            values["criteria"] = self.listing("criterion_item", q.rubric.criteria)
            values["misconceptions"] = (
                self.listing("misconception_item", q.rubric.misconceptions) or "(none)"
            )
        before, _, after = self.prompt.render("context", **values).partition("\x00")
        opening = ""
        if self.fence:  # the opening tag moves to the answer's side of the split
            code = fence_code(answer_text)
            before, tag, rest = before.rpartition("<answer>")
            opening = fenced(tag, code) + rest
            after = fenced(after, code)
        shared = head + self._tok(before)
        # The answer is tokenised without special tokens: '<|im_end|>' in an answer stays text.
        if self.listed:
            tail = self._tok(after) + self._tok(ASSISTANT_TURN, special=True)
        else:
            tail = self._tok(after + "\n\n")
        answer = self._tok(opening + answer_text) if opening else self._tok(answer_text)
        return shared, answer + tail

    def listing(self, section: str, items: Sequence[Criterion | Misconception]) -> str:
        """One line per rubric item, for prompts that list the rubric (checklist-v3)."""
        return "\n".join(
            self.prompt.render(section, id=i.id, description=" ".join(i.description.split()))
            for i in items
        )

    def probe(self, section: str, description: str, label: str) -> list[int]:
        """The tokens asking about one rubric item ('criterion' or 'misconception')."""
        if self.listed:
            return self._tok(self.prompt.render(f"{section}_probe", id=label))
        text = self.prompt.render(section, description=description.strip())
        return self._tok(text) + self._tok(ASSISTANT_TURN, special=True)

    def probes(self, q: Question) -> list[list[int]]:
        """Every probe of the question: criteria first, then misconceptions."""
        rubric = q.rubric
        out = [self.probe("criterion", c.description, c.id) for c in rubric.criteria]
        out += [self.probe("misconception", m.description, m.id) for m in rubric.misconceptions]
        return out


def single_token_ids(tokenize: Tokenize, words: Sequence[str]) -> list[int]:
    """The ids of the words that are one token each (the spellings of 'yes' or 'no')."""
    ids = set()
    for w in words:
        toks = tokenize(w)
        if len(toks) == 1:
            ids.add(toks[0])
    return sorted(ids)


def p_yes_from_logits(logits: Any, yes: list[int], no: list[int]) -> float:
    """P(yes) renormalised over the yes and no tokens of one logits row."""
    vals = np.asarray(logits, dtype=np.float64)
    top = float(vals.max())
    p_yes = float(np.exp(vals[yes] - top).sum())
    p_no = float(np.exp(vals[no] - top).sum())
    if not math.isfinite(p_yes + p_no) or p_yes + p_no <= 0:
        raise JudgeError("judge produced no usable yes/no probability")
    return p_yes / (p_yes + p_no)


def logit(p: float) -> float:
    """log(p / (1 - p)), p clamped to [1e-6, 1 - 1e-6]."""
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))

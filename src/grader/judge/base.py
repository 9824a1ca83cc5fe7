"""The ``Judge`` seam: one required method, ``judge(request) -> JudgeResponse``."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Protocol

from ..models import Question
from ..text import content_terms


@dataclass(frozen=True)
class JudgeRequest:
    question: Question
    answer: str  # already stripped of injection attempts; always treated as data
    hints: dict[str, str | None] = field(default_factory=dict)  # criterion id -> best sentence
    similarities: dict[str, float] = field(default_factory=dict)  # criterion id -> its similarity
    # criterion id -> share of the criterion's content terms the answer uses, and the share
    # of the reference answer's terms; None when they are no evidence (a bare list of terms)
    coverage: dict[str, float] | None = field(default_factory=dict)
    reference_coverage: float | None = 0.0

    @property
    def answer_terms(self) -> int:
        """How many distinct content terms the answer has: its length, in any language."""
        return len(content_terms(self.answer))


@dataclass
class CriterionJudgement:
    probability: float  # P(criterion met), 0..1
    evidence: str | None = None  # quote the judge claims is in the answer
    score: float | None = None  # backend's raw score (e.g. logit of P(yes)), kept for audit


@dataclass
class JudgeResponse:
    criteria: dict[str, CriterionJudgement]
    misconceptions: dict[str, CriterionJudgement]
    model: str
    prompt_version: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    summary: str | None = None
    raw: str | None = None  # kept for audit when the backend returns text
    cost_usd: float | None = None  # from GRADER_JUDGE_PRICES, remote judges only
    review_reasons: list[str] = field(default_factory=list)  # e.g. evidence not in the answer


class Judge(Protocol):
    name: str
    prompt_version: str

    def judge(self, request: JudgeRequest) -> JudgeResponse: ...


@dataclass(frozen=True)
class Prompt:
    """A versioned prompt file from ``grader/prompts``: sections split by '### name'."""

    version: str
    sections: dict[str, str]

    @classmethod
    def load(cls, name: str) -> Prompt:
        text = resources.files("grader.prompts").joinpath(f"{name}.txt").read_text("utf-8")
        sections: dict[str, str] = {}
        current = None
        for line in text.splitlines(keepends=True):
            if line.startswith("### "):
                current = line[4:].strip()
                sections[current] = ""
            elif current is not None:
                sections[current] += line
        return cls(version=name, sections={k: v.strip("\n") for k, v in sections.items()})

    def render(self, section: str, **values: str) -> str:
        out = self.sections[section]
        for key, value in values.items():
            out = out.replace("{" + key + "}", value)
        return out

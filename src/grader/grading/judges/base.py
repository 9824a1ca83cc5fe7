"""The ``Judge`` seam: one required method, ``judge(request) -> JudgeResponse``."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Protocol

from grader.grading.judges.calibration import ProbeCalibration
from grader.models import Question
from grader.text import content_terms


@dataclass(frozen=True)
class CriterionEvidence:
    """What the prefilter measured of one rubric criterion in the answer."""

    sentence: str | None  # the answer sentence closest to the criterion (embedding cosine)
    similarity: float  # that sentence's cosine similarity to the criterion
    # share of the criterion's content terms the answer uses; None when coverage is no
    # evidence (the answer is a bare list of terms)
    coverage: float | None = 0.0


@dataclass(frozen=True)
class JudgeRequest:
    """One answer for the judge, with the prefilter's evidence per criterion id."""

    question: Question
    answer: str  # already stripped of injection attempts; always treated as data
    evidence: Mapping[str, CriterionEvidence] = field(default_factory=dict)
    # share of the reference answer's content terms the answer uses; None for a term list
    reference_coverage: float | None = 0.0

    @property
    def answer_terms(self) -> int:
        """How many distinct content terms the answer has: its length, in any language."""
        return len(content_terms(self.answer))

    def sentence(self, criterion_id: str) -> str | None:
        """The answer sentence closest to the criterion, if the prefilter found one."""
        ev = self.evidence.get(criterion_id)
        return ev.sentence if ev else None

    def similarity(self, criterion_id: str) -> float:
        ev = self.evidence.get(criterion_id)
        return ev.similarity if ev else 0.0

    def coverage(self, criterion_id: str) -> float | None:
        """The criterion's term coverage; None when it is no evidence (term list) or unmeasured."""
        if self.reference_coverage is None:
            return None
        ev = self.evidence.get(criterion_id)
        return 0.0 if ev is None else ev.coverage


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
    """What the pipeline and the API ask of a judge; every backend implements all of it."""

    name: str  # e.g. "local:qwen2.5-coder-1.5b-instruct-q4_k_m", "openai:gpt-4o-mini"
    prompt_version: str

    @property
    def calibration(self) -> ProbeCalibration | None:
        """The fitted probe calibration applied to raw probabilities (None: raw P is used).

        Its digest enters the configuration hash, so a refit never reuses cached grades.
        (A property here so that a backend's plain ``ProbeCalibration`` attribute fits.)
        """
        ...

    def judge(self, request: JudgeRequest) -> JudgeResponse:
        """Judge one answer; raise JudgeError (never return a made-up verdict) on failure."""
        ...

    def ping(self) -> None:
        """Check the judge can answer now; raise JudgeError saying why not (for /readyz)."""
        ...

    def close(self) -> None:
        """Release the model, connections and threads; the judge is not used after."""
        ...


def fence_code(answer: str) -> str:
    """The code in the tags that fence this answer in a prompt: 12 hex digits of its SHA-256.

    The tags read ``<answer-3f9a2c1b7d4e>`` ... ``</answer-3f9a2c1b7d4e>``.  An answer cannot
    close its own fence: the code depends on the answer's whole text, so writing the closing
    tag into it changes the code (finding a fixed point is a 48-bit search), and the guard
    removes any ``<answer…>`` tag from answers anyway.  Derived, not random, so the same
    answer always meets the same prompt and grades the same.
    """
    return hashlib.sha256(answer.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def fenced(text: str, code: str, answer: str | None = None) -> str:
    """``text`` (a prompt template) with its ``<answer>`` and ``</answer>`` tags carrying
    ``code``; then ``answer`` put in place of its NUL placeholder, so tags written inside
    the answer are left alone."""
    text = text.replace("<answer>", f"<answer-{code}>").replace("</answer>", f"</answer-{code}>")
    return text if answer is None else text.replace("\x00", answer)


@dataclass(frozen=True)
class Prompt:
    """A versioned prompt file from ``grader/prompts``: sections split by '### name'."""

    version: str
    sections: dict[str, str]

    @classmethod
    def load(cls, name: str) -> Prompt:
        text = (
            resources.files("grader.grading.judges.prompts")
            .joinpath(f"{name}.txt")
            .read_text("utf-8")
        )
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

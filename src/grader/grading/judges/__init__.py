"""Judges behind one seam, picked by name; heavy backends are imported lazily.

Names: ``local`` (embedded llama.cpp, the default), ``fake`` / ``fake:fail`` /
``fake:timeout`` (tests), ``similarity`` (embedding similarity only, no LLM),
``openai:<model>`` and ``openai-compatible:<model>``.
"""

from __future__ import annotations

from grader.config import Settings
from grader.errors import ConfigError
from grader.grading.judges.base import (
    CriterionEvidence,
    CriterionJudgement,
    Judge,
    JudgeRequest,
    JudgeResponse,
    Prompt,
)

__all__ = [
    "CriterionEvidence",
    "CriterionJudgement",
    "Judge",
    "JudgeRequest",
    "JudgeResponse",
    "Prompt",
    "make_judge",
]


def make_judge(settings: Settings) -> Judge | None:
    """Build the judge named by ``settings.judge`` (None for 'none': prefilter only)."""
    kind, _, arg = settings.judge.partition(":")
    if kind == "none":
        return None
    if kind == "fake":
        from grader.testing.judge import FakeJudge

        return FakeJudge(mode=arg or "overlap")
    if kind == "similarity":
        from grader.grading.judges.similarity import SimilarityJudge

        return SimilarityJudge.from_settings(settings)
    if kind == "local":
        from grader.grading.judges.local.judge import LocalJudge

        return LocalJudge.from_settings(settings)
    if kind in ("openai", "openai-compatible"):
        from grader.grading.judges.remote.judge import OpenAIJudge

        return OpenAIJudge.from_settings(settings)
    raise ConfigError(f"unknown judge {settings.judge!r}")

"""The judge registry: every judge kind, its factory and its description, in one table.

``GRADER_JUDGE`` names a judge as ``kind`` or ``kind:arg``; :meth:`JudgeSpec.parse`
is the only place that splits the name, and the :data:`KINDS` table is the only
list of kinds (the settings validator, :func:`make_judge` and the error messages
all read it).  This module imports no backend: each factory imports its own
(llama.cpp, the openai SDK, ...) when it is called.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.errors import ConfigError

if TYPE_CHECKING:
    from grader.config import Settings
    from grader.grading.judges.base import Judge


@dataclass(frozen=True)
class JudgeSpec:
    """A parsed judge name: ``openai:gpt-4o-mini`` is kind ``openai``, arg ``gpt-4o-mini``."""

    kind: str
    arg: str = ""  # everything after the first ':' ('' when there is none)

    @classmethod
    def parse(cls, name: str) -> JudgeSpec:
        """Split ``name`` and check its kind; raise ConfigError listing the valid names."""
        kind, _, arg = name.partition(":")
        if kind not in KINDS:
            raise ConfigError(f"unknown judge {name!r}: {expected_names()}")
        return cls(kind, arg)

    def __str__(self) -> str:
        return f"{self.kind}:{self.arg}" if self.arg else self.kind


Factory = Callable[[JudgeSpec, "Settings"], "Judge | None"]


@dataclass(frozen=True)
class JudgeKind:
    """One row of the table: how to build the judge, and how users write its name."""

    factory: Factory
    usage: str  # the name as users write it, e.g. "'openai:<model>'"
    description: str


def _none(spec: JudgeSpec, settings: Settings) -> Judge | None:
    return None


def _fake(spec: JudgeSpec, settings: Settings) -> Judge:
    from grader.testing.judge import FakeJudge

    return FakeJudge(mode=spec.arg or "overlap")


def _similarity(spec: JudgeSpec, settings: Settings) -> Judge:
    from grader.grading.judges.similarity import SimilarityJudge

    return SimilarityJudge.from_settings(settings.judging)


def _local(spec: JudgeSpec, settings: Settings) -> Judge:
    from grader.grading.judges.local.judge import LocalJudge

    return LocalJudge.from_settings(settings.judging)


def _openai(spec: JudgeSpec, settings: Settings) -> Judge:
    from grader.grading.judges.remote.judge import OpenAIJudge

    return OpenAIJudge.from_settings(settings, spec)


KINDS: dict[str, JudgeKind] = {
    "local": JudgeKind(_local, "'local'", "embedded llama.cpp model, checklist probes (default)"),
    "fake": JudgeKind(_fake, "'fake'", "word overlap, for tests (fake:fail, fake:timeout, ...)"),
    "none": JudgeKind(_none, "'none'", "no judge: the prefilter decides or answers ungraded"),
    "similarity": JudgeKind(_similarity, "'similarity'", "prefilter similarities alone, no LLM"),
    "openai": JudgeKind(_openai, "'openai:<model>'", "OpenAI's API (needs OPENAI_API_KEY)"),
    "openai-compatible": JudgeKind(
        _openai,
        "'openai-compatible:<model>'",
        "any OpenAI-compatible server at GRADER_JUDGE_BASE_URL (vLLM, Ollama, llama.cpp)",
    ),
}


def expected_names() -> str:
    """The list of valid names, from the table: "expected 'local', 'fake', ... or ..."."""
    usages = [kind.usage for kind in KINDS.values()]
    return f"expected {', '.join(usages[:-1])} or {usages[-1]}"


def make_judge(settings: Settings) -> Judge | None:
    """Build the judge named by ``settings.judge`` (None for 'none': prefilter only)."""
    spec = JudgeSpec.parse(settings.judge)
    return KINDS[spec.kind].factory(spec, settings)

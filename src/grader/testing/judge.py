"""Deterministic judges shipped with the package for unit tests and fault injection.

``fake``          P(met) from word overlap between criterion and answer.
``fake:fail``     raises JudgeError on every call, and ``ping`` fails too (not ready).
``fake:timeout``  raises JudgeTimeoutError on every call and ping.
``fake:slow``     like ``fake`` but sleeps 0.5 s per answer (``fake:slow:0.2`` for 0.2 s),
                  to test progress, concurrency and restarts in the middle of a job.
``fake:serial``   like ``fake:slow`` but one answer at a time, behind a lock, like the local
                  judge (``max_parallel_calls = 1``): to test and measure how single answers
                  and transcript jobs share the judge (``fake:serial:0.05`` for 0.05 s).

:func:`content_words` and :func:`overlap_probability` are public: the fake
OpenAI-compatible server of the test suite scores its replies the same way.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from grader.errors import ConfigError, JudgeError, JudgeTimeoutError
from grader.grading.judges.base import CriterionJudgement, JudgeRequest, JudgeResponse
from grader.grading.judges.calibration import ProbeCalibration

_STOP = set(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "for",
        "is",
        "are",
        "that",
        "it",
        "its",
        "by",
        "with",
        "as",
        "be",
        "at",
        "from",
        "this",
        "states",
        "explains",
        "names",
        "gives",
        "answer",
        "describes",
        "mentions",
        "least",
        "one",
        "two",
        "any",
    ]
)


def content_words(text: str) -> set[str]:
    """Lower-case words of 3+ letters but stop words, cut to 6 letters (a crude stem)."""
    return {w[:6] for w in re.findall(r"[a-z]+", text.lower()) if len(w) > 2 and w not in _STOP}


def overlap_probability(description: str, answer: str) -> float:
    """Share of the description's content words that the answer uses, 0..1."""
    want = content_words(description)
    if not want:
        return 0.0
    return round(len(want & content_words(answer)) / len(want), 4)


class FakeJudge:
    """Overlap-based judge, or scripted: ``FakeJudge(script=lambda req: {...})``."""

    prompt_version = "fake-v1"
    calibration: ProbeCalibration | None = None  # probabilities are used as they come

    def __init__(
        self,
        mode: str = "overlap",
        script: Callable[[JudgeRequest], dict[str, float]] | None = None,
    ) -> None:
        self.mode, _, delay = mode.partition(":")
        self.delay = 0.0
        if self.mode in ("slow", "serial"):
            try:
                self.delay = float(delay or 0.5)
            except ValueError:
                raise ConfigError(
                    f"GRADER_JUDGE=fake:{mode}: expected 'fake:{self.mode}' or "
                    f"'fake:{self.mode}:<seconds>'"
                ) from None
        # the serial mode runs one answer at a time, as the local judge does (grading/gate.py)
        self.max_parallel_calls: int | None = 1 if self.mode == "serial" else None
        self._lock: AbstractContextManager[Any] = (
            threading.Lock() if self.mode == "serial" else nullcontext()
        )
        self.script = script
        self.name = "fake" if mode == "overlap" else f"fake:{self.mode}"
        self.calls = 0
        self.closed = False

    def ping(self) -> None:
        """Fails like ``judge`` does in the failure modes, and once closed."""
        if self.closed:
            raise JudgeError("fake judge is closed")
        self._inject_fault()

    def close(self) -> None:
        self.closed = True

    def _inject_fault(self) -> None:
        if self.mode == "fail":
            raise JudgeError("fake judge failure (fault injection)")
        if self.mode == "timeout":
            raise JudgeTimeoutError("fake judge timed out (fault injection)")

    def judge(self, request: JudgeRequest) -> JudgeResponse:
        with self._lock:
            self.calls += 1
            self._inject_fault()
            if self.delay:
                time.sleep(self.delay)
        rubric = request.question.rubric
        scripted = self.script(request) if self.script else {}

        def prob(item_id: str, description: str) -> float:
            if item_id in scripted:
                return scripted[item_id]
            return overlap_probability(description, request.answer)

        criteria = {
            c.id: CriterionJudgement(prob(c.id, c.description), request.sentence(c.id))
            for c in rubric.criteria
        }
        miscon = {m.id: CriterionJudgement(scripted.get(m.id, 0.0)) for m in rubric.misconceptions}
        return JudgeResponse(
            criteria,
            miscon,
            model="fake",
            prompt_version=self.prompt_version,
            calls=len(criteria) + len(miscon),
        )

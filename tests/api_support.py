"""Helpers shared by the API tests: an app on the tiny bank with the fake embedder and judge."""

from __future__ import annotations

import threading
from pathlib import Path

from fastapi import FastAPI

from conftest import TINY_BANK
from grader.api import create_app
from grader.config import Settings
from grader.grading.judges import JudgeRequest
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.testing import FakeEmbedder
from grader.testing.judge import FakeJudge

GOOD_DROPOUT = (
    "Dropout randomly sets a fraction of activations to zero during training, at every step. "
    "It is active only during training and disabled at inference time. "
    "This prevents co-adaptation of units and acts like averaging many thinned networks."
)
FULL_KEY = "full-key-0123456789"
GRADE_KEY = "grade-only-key-987654"


def remote_grader(tmp_path: Path, url: str, **overrides: object) -> Grader:
    """A grader on the tiny bank whose judge is the OpenAI-compatible server at ``url``."""
    s = Settings(
        bank_dir=TINY_BANK,
        cache_dir=tmp_path,
        embedder="fake",
        judge="openai-compatible:test-model",
        judge_base_url=url,
        **overrides,  # type: ignore[arg-type]
    )
    return Grader(s, embedder=FakeEmbedder(), store=ResultStore(":memory:"))


def settings(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        bank_dir=TINY_BANK,
        cache_dir=tmp_path,
        embedder="fake",
        judge="fake",
        **overrides,  # type: ignore[arg-type]
    )


def make_app(tmp_path: Path, judge: FakeJudge | None = None, **overrides: object) -> FastAPI:
    s = settings(tmp_path, **overrides)
    grader = Grader(
        s, embedder=FakeEmbedder(), judge=judge or FakeJudge(), store=ResultStore(":memory:")
    )
    return create_app(s, grader)


class BlockingJudge(FakeJudge):
    """A fake judge that waits inside ``judge`` until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    def judge(self, request: JudgeRequest):  # type: ignore[no-untyped-def]
        self.entered.set()
        assert self.release.wait(10), "test never released the judge"
        return super().judge(request)

"""The embedded judge: llama.cpp in-process, checklist probes read from logits."""

from __future__ import annotations

from grader.grading.judges.local.judge import LocalJudge

__all__ = ["LocalJudge"]

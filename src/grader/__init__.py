"""grader: grade free-text answers to neural-network interview questions.

The public surface::

    from grader import Grader, QuestionBank, GradeResult, load_bank, Settings
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grader.bank.loader import QuestionBank, load_bank
from grader.config import Settings, load_settings
from grader.models import GradeResult

if TYPE_CHECKING:
    from grader.grading.pipeline import Grader

__all__ = ["GradeResult", "Grader", "QuestionBank", "Settings", "load_bank", "load_settings"]


def __getattr__(name: str) -> Any:
    if name == "Grader":  # imports the pipeline lazily
        from grader.grading.pipeline import Grader

        return Grader
    raise AttributeError(name)

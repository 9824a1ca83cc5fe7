"""grader: grade free-text answers to neural-network interview questions.

The public surface::

    from grader import Grader, QuestionBank, GradeResult, load_bank, Settings
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bank import QuestionBank, load_bank
from .config import Settings, load_settings
from .models import GradeResult

if TYPE_CHECKING:
    from .pipeline import Grader

__all__ = ["GradeResult", "Grader", "QuestionBank", "Settings", "load_bank", "load_settings"]


def __getattr__(name: str) -> Any:
    if name == "Grader":  # imports the pipeline lazily
        from .pipeline import Grader

        return Grader
    raise AttributeError(name)

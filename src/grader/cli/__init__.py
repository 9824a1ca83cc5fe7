"""The ``grader`` command line, split by command group."""

from __future__ import annotations

from grader.cli.main import main

__all__ = ["main"]

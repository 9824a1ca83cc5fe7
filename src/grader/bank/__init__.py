"""The question bank: rubrics + reference answers loaded and validated, or built from references."""

from __future__ import annotations

from grader.bank.loader import QuestionBank, load_bank

__all__ = ["QuestionBank", "load_bank"]

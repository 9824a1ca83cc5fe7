"""The repository's own bank: 46 questions matching QUESTIONS.md, and the per-question rules."""

from __future__ import annotations

import re

import pytest

from conftest import REPO
from grader.bank.loader import load_bank
from grader.text import words

# A copy of the project's question list (../shared/QUESTIONS.md), so CI needs nothing outside.
QUESTIONS_MD = REPO / "tests" / "fixtures" / "QUESTIONS.md"
TOPICS = {
    "fundamentals",
    "training",
    "optimization",
    "regularization",
    "architectures",
    "sequence-models",
    "vision",
    "generative",
    "applications",
    "research",
}
BANK = load_bank(REPO)


def test_bank_has_46_questions_numbered_1_to_46() -> None:
    assert [q.number for q in BANK] == list(range(1, 47))


def test_question_texts_match_questions_md() -> None:
    listed = dict(
        (int(m.group(1)), m.group(2).strip())
        for m in re.finditer(r"^(\d+)\. (.+)$", QUESTIONS_MD.read_text(), re.M)
    )
    assert {q.number: q.text for q in BANK} == listed


@pytest.mark.parametrize("q", list(BANK), ids=lambda q: q.id)
def test_rubric_rules(q) -> None:  # type: ignore[no-untyped-def]
    r = q.rubric
    assert re.fullmatch(rf"q{r.number:02d}-[a-z0-9-]+", r.id)
    assert r.max_points == 10
    assert 3 <= len(r.criteria) <= 6
    assert all(c.points == int(c.points) and c.points > 0 for c in r.criteria)
    assert len(r.misconceptions) <= 3
    for m in r.misconceptions:
        assert 0 < m.penalty <= 3 and m.correction.strip() and m.description.strip()
    assert r.topics and set(r.topics) <= TOPICS
    for c in r.criteria:
        assert len(words(c.description)) <= 40, c.id  # short enough for a yes/no probe


@pytest.mark.parametrize("q", list(BANK), ids=lambda q: q.id)
def test_reference_answer_length(q) -> None:  # type: ignore[no-untyped-def]
    assert 150 <= len(q.reference.text.split()) <= 350

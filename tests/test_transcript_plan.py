"""Planning a transcript with fakes: what the planner asks of the Grader, and its limits.

The planner reaches the bank only through the Grader's transcript methods
(``question_ids``, ``question``, ``bank_similarities``, ``transcript_settings``);
these tests pin what those methods promise.  Matching quality with the real
embedding model is in test_transcript_matching.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grader.config import Settings
from grader.errors import TranscriptError, UnknownQuestionError
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.testing import FakeEmbedder, FakeJudge
from grader.transcripts.grade import make_plan
from grader.transcripts.match import plan_transcript
from grader.transcripts.parse import Transcript, Turn

SMALL_TALK = "How was your weekend?"
DROPOUT_WORDING = "What are dropout layers, and how do they help in preventing overfitting?"


def make(bank: Path, tmp_path: Path, **overrides: object) -> Grader:
    s = Settings(bank_dir=bank, cache_dir=tmp_path, embedder="fake", judge="fake", **overrides)  # type: ignore[arg-type]
    return Grader(s, embedder=FakeEmbedder(), judge=FakeJudge(), store=ResultStore(":memory:"))


def transcript(*questions: str) -> Transcript:
    turns = [Turn(index=i, question=q, answer="") for i, q in enumerate(questions, start=1)]
    return Transcript(format="json", turns=turns)


@pytest.fixture
def grader(tiny_bank_dir: Path, tmp_path: Path) -> Grader:
    return make(tiny_bank_dir, tmp_path)


def test_question_is_found_by_id_or_number(grader: Grader) -> None:
    assert grader.question("q02-pooling").id == grader.question(2).id == "q02-pooling"
    with pytest.raises(UnknownQuestionError):
        grader.question("q99-nonexistent")


@pytest.mark.parametrize("side", ["question", "reference"])
def test_bank_similarity_columns_follow_question_ids(grader: Grader, side: str) -> None:
    ids = grader.question_ids
    questions = [grader.question(qid) for qid in reversed(ids)]
    texts = [q.text if side == "question" else q.reference.text for q in questions]
    to_questions, to_references = grader.bank_similarities(texts)
    sims = to_questions if side == "question" else to_references
    assert sims.shape == (len(texts), len(ids))
    assert [ids[int(i)] for i in np.argmax(sims, axis=1)] == [q.id for q in questions]
    assert np.allclose(sims.max(axis=1), 1.0, atol=1e-5)  # a text is most like itself


def test_question_ids_cannot_be_changed_from_outside(grader: Grader) -> None:
    grader.question_ids.append("q99-injected")
    assert "q99-injected" not in grader.question_ids


def test_the_planner_uses_the_transcript_settings(tiny_bank_dir: Path, tmp_path: Path) -> None:
    grader = make(tiny_bank_dir, tmp_path, transcript_match_threshold=1.0)
    plan = plan_transcript(grader, transcript(DROPOUT_WORDING + " Tell me."))
    assert grader.transcript_settings.transcript_match_threshold == 1.0
    assert plan.threshold == 1.0 and plan.embedder == FakeEmbedder.name
    assert plan.items[0].match is None and plan.items[0].skip_code == "not_in_bank"


def test_a_bank_wording_is_matched_and_small_talk_is_not(grader: Grader) -> None:
    plan = plan_transcript(grader, transcript(SMALL_TALK, DROPOUT_WORDING))
    talk, dropout = plan.items
    assert talk.skip_code == "small_talk"
    assert dropout.match is not None and dropout.match.question_id == "q01-dropout"
    assert dropout.match.method == "embedding" and dropout.match.topics == ["regularization"]


def test_too_many_turns_is_refused_naming_the_setting(tiny_bank_dir: Path, tmp_path: Path) -> None:
    grader = make(tiny_bank_dir, tmp_path, transcript_max_turns=2)
    with pytest.raises(
        TranscriptError, match=r"3 turns; the limit is 2 \(GRADER_TRANSCRIPT_MAX_TURNS\)"
    ):
        make_plan(grader, transcript("a?", "b?", "c?"))

"""Grading a transcript with fakes: concurrency, failure isolation and the roll-up arithmetic."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from grader.config import Settings
from grader.errors import JudgeError
from grader.grading.judges import JudgeRequest
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.testing import FakeEmbedder
from grader.testing.judge import FakeJudge
from grader.transcripts.grade import grade_items, grade_transcript
from grader.transcripts.match import plan_transcript
from grader.transcripts.parse import parse_transcript
from grader.transcripts.rollup import build_report

ATTENTION_RUBRIC = """\
id: q03-attention
number: 3
question: What is the attention mechanism?
topics: [architectures, sequence-models]
version: 1
max_points: 5
criteria:
  - id: weights
    description: States that attention computes weights over inputs from query-key similarity.
    points: 3
  - id: example
    description: Gives an application such as machine translation.
    points: 2
"""
ATTENTION_REFERENCE = """\
---
question_id: q03-attention
---
Attention weighs the inputs by the similarity of a query with their keys and sums the values.
"""

DROPOUT = "Dropout randomly zeroes activations while training and is disabled at inference."
POOLING = "Pooling layers shrink the spatial size of the feature maps in a convolutional network."
ATTENTION = "Attention lets a decoder look at every encoder state FAIL-ME when translating."

TRANSCRIPT = {
    "candidate": {"name": "Test Candidate"},
    "turns": [
        {"question": "How was your weekend?", "answer": "Relaxing, thanks."},
        {"question_id": "q01-dropout", "answer": DROPOUT},
        {"question_number": 2, "answer": POOLING},
        {"question_id": "q03-attention", "answer": ATTENTION},
        {"question": "Which SQL join keeps unmatched rows?", "answer": "A left outer join."},
        {"question_id": "q99-nonexistent", "answer": "Whatever."},
    ],
}


def script(request: JudgeRequest) -> dict[str, float]:
    """Every dropout point met; only 'downsample' for pooling; the attention answer fails."""
    if "FAIL-ME" in request.answer:
        raise JudgeError("scripted judge failure")
    if request.question.id == "q01-dropout":
        return {c.id: 0.95 for c in request.question.rubric.criteria}
    return {"downsample": 0.9, "invariance": 0.05, "examples": 0.05}


@pytest.fixture
def bank(tiny_bank_dir: Path) -> Path:
    (tiny_bank_dir / "rubrics" / "q03-attention.yaml").write_text(ATTENTION_RUBRIC)
    (tiny_bank_dir / "reference_answers" / "q03-attention.md").write_text(ATTENTION_REFERENCE)
    return tiny_bank_dir


def make(bank: Path, tmp_path: Path, judge: FakeJudge, **overrides: object) -> Grader:
    s = Settings(bank_dir=bank, cache_dir=tmp_path, embedder="fake", judge="fake", **overrides)  # type: ignore[arg-type]
    return Grader(s, embedder=FakeEmbedder(), judge=judge, store=ResultStore(":memory:"))


def test_rollup_arithmetic(bank: Path, tmp_path: Path) -> None:
    grader = make(bank, tmp_path, FakeJudge(script=script))
    transcript = parse_transcript(json.dumps(TRANSCRIPT).encode())
    seen: list[tuple[int, int]] = []
    report = grade_transcript(grader, transcript, progress=lambda d, t: seen.append((d, t)))

    assert [i.status for i in report.items] == [
        "not_graded",
        "graded",
        "graded",
        "ungraded",
        "not_graded",
        "not_graded",
    ]
    assert [i.score for i in report.items] == [None, 10, 4, None, None, None]
    o = report.overall
    # mean of the scored items' normalised scores: (1.0 + 0.4) / 2; the ungraded one excluded
    assert o.normalized == pytest.approx(0.7) and o.percent == 70.0 and o.level == "good"
    assert (o.score, o.max_score) == (14, 20)  # the ungraded item's 5 points are not in the total
    assert (o.scored, o.graded, o.short_circuited, o.ungraded, o.not_graded, o.items) == (
        2,
        2,
        0,
        1,
        3,
        6,
    )
    topics = {t.topic: (t.items, t.normalized) for t in report.topics}
    assert topics == {"regularization": (1, 1.0), "vision": (1, 0.4), "architectures": (1, 0.4)}
    assert report.topics[0].topic == "regularization"  # best first
    assert len(report.strengths) == 3 + 1 and {f.item for f in report.strengths} == {2, 3}
    assert sorted(f.text for f in report.gaps) == [
        "Missed: Explains that pooling gives some invariance to small translations of the input.",
        "Missed: Names max pooling or average pooling as a kind of pooling.",
    ]
    assert [(r.item, r.question_id) for r in report.review] == [(4, "q03-attention")]
    assert "judge failed: the judge returned an error (judge_failed)" in report.review[0].reasons[0]
    assert report.items[5].skip_code == "unknown_question"
    assert "q99-nonexistent" in (report.items[5].reason or "")
    assert seen[0] == (0, 3) and seen[-1] == (3, 3) and len(seen) == 4


def test_no_scored_item_means_no_overall_score(bank: Path, tmp_path: Path) -> None:
    grader = make(bank, tmp_path, FakeJudge(mode="fail"))
    transcript = parse_transcript(b'[{"question_id": "q01-dropout", "answer": "It zeroes units."}]')
    report = grade_transcript(grader, transcript)
    assert report.overall.normalized is None and report.overall.level is None
    assert report.overall.ungraded == 1 and report.topics == []


class ExplodingJudge(FakeJudge):
    """A judge with a bug (not a JudgeError) for one answer."""

    def judge(self, request: JudgeRequest):  # type: ignore[no-untyped-def]
        if "pooling" in request.answer.lower():
            raise RuntimeError("bug in a backend")
        return super().judge(request)


def test_one_crashing_answer_does_not_stop_the_rest(bank: Path, tmp_path: Path) -> None:
    grader = make(bank, tmp_path, ExplodingJudge())
    transcript = parse_transcript(json.dumps(TRANSCRIPT).encode())
    report = grade_transcript(grader, transcript, workers=3)
    by_id = {i.match.question_id: i for i in report.items if i.match}
    assert by_id["q02-pooling"].status == "ungraded"
    assert "internal error (RuntimeError)" in (by_id["q02-pooling"].reason or "")
    assert by_id["q01-dropout"].status == "graded" and by_id["q03-attention"].status == "graded"


class BarrierJudge(FakeJudge):
    """Passes only if ``parties`` answers are inside the judge at the same time."""

    def __init__(self, parties: int) -> None:
        super().__init__()
        self.barrier = threading.Barrier(parties, timeout=10)

    def judge(self, request: JudgeRequest):  # type: ignore[no-untyped-def]
        self.barrier.wait()
        return super().judge(request)


def test_answers_are_graded_concurrently(bank: Path, tmp_path: Path) -> None:
    grader = make(bank, tmp_path, BarrierJudge(parties=3))
    plan = plan_transcript(grader, parse_transcript(json.dumps(TRANSCRIPT).encode()))
    results = grade_items(grader, plan, workers=3)
    assert sorted(results) == [2, 3, 4]
    assert all(r.status == "graded" for r in results.values())


def test_resume_grades_only_what_is_missing(bank: Path, tmp_path: Path) -> None:
    judge = FakeJudge()
    grader = make(bank, tmp_path, judge)
    plan = plan_transcript(grader, parse_transcript(json.dumps(TRANSCRIPT).encode()))
    first = grade_items(grader, plan, workers=1)
    done = {2: first[2]}
    started: list[int] = []
    again = grade_items(grader, plan, done=done, on_start=lambda i: started.append(i.item))
    assert sorted(started) == [3, 4] and again[2] is first[2]
    assert build_report(plan, again).overall.scored == 3


def test_question_gone_from_the_bank_on_resume_is_ungraded_not_a_crash(
    bank: Path, tmp_path: Path
) -> None:
    grader = make(bank, tmp_path, FakeJudge())
    plan = plan_transcript(grader, parse_transcript(json.dumps(TRANSCRIPT).encode()))
    gone = plan.items[1].match
    assert gone is not None
    plan.items[1].match = gone.model_copy(update={"question_id": "q77-gone"})
    results = grade_items(grader, plan)
    assert results[2].status == "ungraded" and "unknown question 'q77-gone'" in (
        results[2].reason or ""
    )
    assert results[3].status == "graded"

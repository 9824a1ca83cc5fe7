"""Match a transcript's questions to the bank and decide what gets graded.

Each turn becomes part of a :class:`PlanItem`:

* a question naming a bank id / number (JSON) is taken as given;
* otherwise the interviewer's wording is embedded and compared with every bank
  question: ``MATCH_WEIGHT`` × similarity to the question text + the rest ×
  similarity to its reference answer (the reference says what the question is
  *about*, which rescues paraphrases that share few words with the question).
  At or above ``GRADER_TRANSCRIPT_MATCH_THRESHOLD`` it is a match.  When other
  bank questions score within ``RERANK_WINDOW`` of the best, the candidate's
  answer decides (its similarity to each one's reference), and the match is
  flagged for review;
* below it, a *follow-up* ("Can you say more about that?", "And why does that
  help?") continues the previous item: its answer is appended there;
* anything else is listed as not graded, with the reason (small talk, or not in
  the bank with the closest bank question and its similarity; a near miss goes
  to human review);
* a bank question asked a second time continues its first item.

The figures behind the threshold are in README.md ("Transcripts") and come from
``bench/bench_matching.py`` over ``evals/matching/interviewer_questions.jsonl``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, Field

from grader.errors import UnknownQuestionError
from grader.text import sentences
from grader.transcripts.parse import Transcript, Turn

if TYPE_CHECKING:
    from grader.grading.pipeline import Grader

MATCH_WEIGHT = 0.6  # share of the question-text similarity in the match score (rest: reference)
RERANK_WINDOW = 0.05  # bank questions this close to the best wording compete on the answer
RERANK_MIN_GAIN = 0.1  # answer-to-reference similarity needed to overrule the wording
NEAR_MISS = 0.05  # unmatched questions this close under the threshold go to human review

SkipCode = Literal["small_talk", "not_in_bank", "unknown_question"]


class QuestionMatch(BaseModel):
    question_id: str
    question_number: int
    bank_question: str
    topics: list[str] = Field(default_factory=list)
    method: Literal["explicit", "embedding"]
    confidence: float = Field(description="Match score (1.0 when the file named the question).")
    runner_up: str | None = Field(default=None, description="Next best bank question.")
    runner_up_confidence: float | None = None
    low_confidence: bool = False
    reason: str | None = Field(default=None, description="Why the match needs a second look.")


class PlanItem(BaseModel):
    """What will be graded as one answer: a question, its follow-ups, their answers."""

    item: int = Field(description="1-based position in the report.")
    turns: list[int] = Field(description="Transcript turns merged into this item.")
    questions: list[str] = Field(description="Interviewer's wording: the question, follow-ups.")
    answers: list[str] = Field(description="Candidate's replies, one per turn.")
    match: QuestionMatch | None = None
    skip_code: SkipCode | None = None
    skip_reason: str | None = None
    review_reason: str | None = Field(default=None, description="Why a human should look.")
    notes: list[str] = Field(default_factory=list)

    @property
    def answer(self) -> str:
        """The text that is graded: every reply of the item, in order."""
        return "\n\n".join(a for a in self.answers if a.strip())

    @property
    def gradable(self) -> bool:
        return self.match is not None


class TranscriptPlan(BaseModel):
    transcript: Transcript
    items: list[PlanItem]
    threshold: float
    embedder: str


# --------------------------------------------------------------------------- scoring


def _query_parts(text: str) -> list[str]:
    """The whole question, plus each sentence that asks something (skips preambles)."""
    asks = [s for s in sentences(text) if s.endswith("?")]
    return [text, *asks] if len(asks) > 1 or (asks and asks[0] != text) else [text]


def match_scores(grader: Grader, texts: list[str]) -> np.ndarray:
    """texts x bank questions (``grader.question_ids``): the best score over each text's parts."""
    out = np.full((len(texts), len(grader.question_ids)), -1.0, dtype=np.float32)
    parts = [_query_parts(t) for t in texts]
    flat = [p for ps in parts for p in ps]
    if not flat:
        return out
    to_questions, to_references = grader.bank_similarities(flat)
    scores = MATCH_WEIGHT * to_questions + (1 - MATCH_WEIGHT) * to_references
    row = 0
    for i, ps in enumerate(parts):
        out[i] = scores[row : row + len(ps)].max(axis=0)
        row += len(ps)
    return out


# --------------------------------------------------------------------------- cues

_SMALL_TALK = re.compile(
    r"\b(hi|hello|hey|good (morning|afternoon|evening)|nice to meet|thanks? (you )?for "
    r"(joining|coming|your time)|how are you|how's it going|how (was|is) your "
    r"(day|weekend|week|trip|morning)|hear me|see my screen|audio|video|connection|"
    r"(tell|talk) (me|us) (a bit |a little )?about yourself|introduce yourself|your background|"
    r"(last|current|previous) (role|job|position)|why do you want|work (here|with us)|"
    r"questions for (us|me)|salary|compensation|notice period|when could you start|relocat\w*|"
    r"remote(ly)?|visa|coffee|water|tea|five years|weakness(es)?|move on|let's (start|begin|get "
    r"started)|shall we|that's all|wrap (it )?up|next steps|find the office)\b",
    re.I,
)
_CONTINUATION = re.compile(
    r"^(and|so|but|also|then|ok(ay)?|right|interesting|great|good|sure|hmm+)\b|"
    r"\b(that|this|it|those|these|them|there|such)\b|"
    r"\b(more|elaborate|expand|go on|continue|example|else|mean by|clarify|in practice|why)\b",
    re.I,
)
_GENERIC_WORDS = """
what when where which while would could should does doing done have having about more much many
some something anything else example examples explain elaborate expand tell talk mean meant
clarify think thought know please maybe then than that this those these them they their there
here with from into onto over under your yours just really also very like okay right interesting
great good sure thanks thank continue practice happen happens happened work works working help
helps helped matter matters approach alternative alternatives downside downsides upside compare
compared difference differ same other another case cases point points part parts again further
detail details little make makes made give gives used uses using kind sort thing things time
times actually exactly quick quickly
"""
_GENERIC = frozenset(_GENERIC_WORDS.split())


def _content(text: str) -> set[str]:
    return {w[:5] for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _GENERIC}


def asking_part(question: str) -> str:
    """The sentences that ask (end with '?'); the whole text when none does."""
    asks = [s for s in sentences(question) if s.endswith("?")]
    return " ".join(asks) if asks else question


def is_small_talk(question: str) -> bool:
    return bool(_SMALL_TALK.search(asking_part(question)))


def is_follow_up(question: str, previous: PlanItem) -> bool:
    """A continuation cue and at most one new content word compared with the previous item."""
    ask = asking_part(question)
    if not ask.strip() or not _CONTINUATION.search(ask):
        return False
    context = _content(" ".join(previous.questions + previous.answers))
    return len(_content(ask) - context) <= 1


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class _Limits:
    threshold: float
    review: float
    margin: float


@dataclass(frozen=True)
class _Scores:
    question: np.ndarray  # match score per bank question
    answer: np.ndarray | None  # answer-to-reference similarity per bank question


def plan_transcript(
    grader: Grader,
    transcript: Transcript,
    *,
    threshold: float | None = None,
    review_confidence: float | None = None,
    review_margin: float | None = None,
) -> TranscriptPlan:
    """Decide, turn by turn, which bank question is asked and what gets graded."""
    s = grader.transcript_settings
    limits = _Limits(
        s.transcript_match_threshold if threshold is None else threshold,
        s.transcript_review_confidence if review_confidence is None else review_confidence,
        s.transcript_review_margin if review_margin is None else review_margin,
    )
    scores = _score_turns(grader, transcript.turns)
    items: list[PlanItem] = []
    by_question: dict[str, PlanItem] = {}
    last: PlanItem | None = None  # the item that received the previous turn
    for turn in transcript.turns:
        item = _classify(grader, turn, scores.get(turn.index), last, limits)
        if item is None:  # a follow-up: continues the previous item
            assert last is not None
            _append(last, turn)
            continue
        if item.match is not None and item.match.question_id in by_question:
            last = by_question[item.match.question_id]
            _append(last, turn)
            last.notes.append(f"asked again at turn {turn.index}; the answers are graded together")
            continue
        item.item = len(items) + 1
        items.append(item)
        last = item
        if item.match is not None:
            by_question[item.match.question_id] = item
    return TranscriptPlan(
        transcript=transcript,
        items=items,
        threshold=limits.threshold,
        embedder=grader.embedder_name,
    )


def _score_turns(grader: Grader, turns: list[Turn]) -> dict[int, _Scores]:
    """Match scores of the turns that do not name their bank question."""
    free = [t for t in turns if t.question_id is None and t.question_number is None]
    q_scores = match_scores(grader, [t.question for t in free])
    answered = [t for t in free if t.answer.strip()]
    a_scores = {}
    if answered:
        _, sims = grader.bank_similarities([t.answer for t in answered])
        a_scores = {t.index: sims[k] for k, t in enumerate(answered)}
    return {t.index: _Scores(q_scores[k], a_scores.get(t.index)) for k, t in enumerate(free)}


def _append(item: PlanItem, turn: Turn) -> None:
    item.turns.append(turn.index)
    item.questions.append(turn.question)
    item.answers.append(turn.answer)


def _new(turn: Turn, **fields: object) -> PlanItem:
    return PlanItem(
        item=0, turns=[turn.index], questions=[turn.question], answers=[turn.answer], **fields
    )


def _classify(
    grader: Grader, turn: Turn, scores: _Scores | None, last: PlanItem | None, limits: _Limits
) -> PlanItem | None:
    if scores is None:
        return _explicit(grader, turn)
    best = int(np.argmax(scores.question))
    conf = float(scores.question[best])
    if conf >= limits.threshold:
        return _new(turn, match=_embedding_match(grader, scores, limits))
    if last is not None and not is_small_talk(turn.question) and is_follow_up(turn.question, last):
        return None
    if not turn.question.strip():
        return _new(turn, skip_code="not_in_bank", skip_reason="no question text in this turn")
    if is_small_talk(turn.question):
        return _new(turn, skip_code="small_talk", skip_reason="small talk, not a bank question")
    closest = grader.question(grader.question_ids[best])
    item = _new(
        turn,
        skip_code="not_in_bank",
        skip_reason=f"not in the bank: closest is {closest.number}. {closest.text!r} "
        f"at {conf:.3f}, below the match threshold {limits.threshold:.2f}",
    )
    if conf >= limits.threshold - NEAR_MISS:
        item.review_reason = (
            f"just below the match threshold ({conf:.3f}): check whether question "
            f"{closest.number} ({closest.id}) was asked"
        )
    return item


def _pick(scores: _Scores, threshold: float) -> tuple[int, int | None]:
    """(chosen, wording-best): the answer decides between near-tied wordings."""
    q = scores.question
    order = [int(i) for i in np.argsort(-q)]
    top = order[0]
    if scores.answer is None:
        return top, None
    near = [i for i in order[:5] if q[i] >= max(threshold, q[top] - RERANK_WINDOW)]
    by_answer = max(near, key=lambda i: float(scores.answer[i]))  # type: ignore[index]
    if by_answer != top and scores.answer[by_answer] - scores.answer[top] >= RERANK_MIN_GAIN:
        return by_answer, top
    return top, None


def _embedding_match(grader: Grader, scores: _Scores, limits: _Limits) -> QuestionMatch:
    chosen, overruled = _pick(scores, limits.threshold)
    ids = grader.question_ids
    q = grader.question(ids[chosen])
    conf = round(float(scores.question[chosen]), 4)
    others = [int(i) for i in np.argsort(-scores.question) if int(i) != chosen]
    runner = grader.question(ids[others[0]]) if others else None
    runner_conf = round(float(scores.question[others[0]]), 4) if others else None
    reasons = []
    if overruled is not None and runner is not None:
        reasons.append(
            f"the wording is closer to {runner.number}. {runner.text!r} ({runner_conf:.2f}); "
            "the answer's content chose this question"
        )
    elif runner is not None and runner_conf is not None and conf - runner_conf < limits.margin:
        reasons.append(f"almost as close to {runner.number}. {runner.text!r} ({runner_conf:.2f})")
    if conf < limits.review:
        reasons.append(f"match confidence {conf:.2f} is below {limits.review:.2f}")
    return QuestionMatch(
        question_id=q.id,
        question_number=q.number,
        bank_question=q.text,
        topics=list(q.rubric.topics),
        method="embedding",
        confidence=conf,
        runner_up=runner.id if runner else None,
        runner_up_confidence=runner_conf,
        low_confidence=bool(reasons),
        reason="; ".join(reasons) or None,
    )


def _explicit(grader: Grader, turn: Turn) -> PlanItem:
    key: str | int = turn.question_id if turn.question_id is not None else turn.question_number  # type: ignore[assignment]
    try:
        q = grader.question(key)
    except UnknownQuestionError as exc:
        return _new(turn, skip_code="unknown_question", skip_reason=str(exc))
    match = QuestionMatch(
        question_id=q.id,
        question_number=q.number,
        bank_question=q.text,
        topics=list(q.rubric.topics),
        method="explicit",
        confidence=1.0,
    )
    item = _new(turn, match=match)
    if not turn.question:
        item.questions = [q.text]
    return item

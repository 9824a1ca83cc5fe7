"""Similarity gate in front of the judge.

Decides only what it can decide safely, with a stated reason: empty or too
short answers, text that is not natural language, the question pasted back,
and answers that clearly belong to another bank question.  Everything else
goes to the judge together with per-criterion evidence (the answer sentence that
best matches each criterion and its similarity, and the share of the
criterion's content terms the answer uses) and the share of the reference
answer's terms it uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from grader.config import PrefilterSettings
from grader.grading.embeddings import Embedder, Vectors
from grader.grading.index import BankIndex
from grader.grading.judges.base import CriterionEvidence, JudgeRequest
from grader.models import Question
from grader.text import (
    check_natural_language,
    content_terms,
    coverage,
    normalise,
    reads_as_term_list,
    sentences,
    words,
)


@dataclass(frozen=True)
class PrefilterOutcome:
    """The gate's decision, its stated reason, and what it measured of the answer."""

    decision: Literal["short_circuit", "judge"]
    reason_code: str
    reason: str
    reference_similarity: float | None = None
    question_similarity: float | None = None
    best_other_question: str | None = None
    best_other_similarity: float | None = None
    evidence: dict[str, CriterionEvidence] = field(default_factory=dict)  # by criterion id
    reference_coverage: float = 0.0  # share of the reference answer's content terms used
    term_list: bool = False  # the answer is a bare list of terms: coverage is no evidence

    @property
    def short_circuit(self) -> bool:
        return self.decision == "short_circuit"

    def judge_request(self, question: Question, answer: str) -> JudgeRequest:
        """What the judge gets for an answer this prefilter passed on."""
        if self.term_list:  # naming the rubric's terms is no evidence of explaining them
            no_coverage = {k: replace(e, coverage=None) for k, e in self.evidence.items()}
            return JudgeRequest(question, answer, no_coverage, None)
        return JudgeRequest(question, answer, self.evidence, self.reference_coverage)


class Prefilter:
    """Decides what it safely can; passes everything else on with its evidence."""

    def __init__(self, index: BankIndex, embedder: Embedder, settings: PrefilterSettings) -> None:
        self.index = index
        self.embedder = embedder
        self.s = settings

    def check(self, question: Question, answer: str) -> PrefilterOutcome:
        text = answer.strip()
        if not text:
            return _stop("empty", "the answer is empty")
        language = check_natural_language(text)
        if not language.ok:
            return _stop("not_text", language.reason)
        n_words = len(words(text))
        if n_words < self.s.min_answer_words:
            return _stop(
                "too_short",
                f"the answer has {n_words} word(s); at least "
                f"{self.s.min_answer_words} are needed to show any of the rubric",
            )
        if normalise(text).rstrip("?.! ") == normalise(question.text).rstrip("?.! "):
            return _stop("copied_question", "the answer only repeats the question")
        return self._similarity_gate(question, text, n_words)

    def _similarity_gate(self, question: Question, text: str, n_words: int) -> PrefilterOutcome:
        parts = sentences(text)[:64]
        whole, sent_vecs = self.embedder.embed_with_parts(text, parts)
        row = self.index.row(question.id)
        ref_sims = self.index.references @ whole
        q_sim = float(self.index.questions[row] @ whole)
        own = float(ref_sims[row])
        others = ref_sims.copy()
        others[row] = -np.inf
        best = int(np.argmax(others)) if len(others) > 1 else row
        best_other = float(others[best]) if best != row else None
        info: dict[str, Any] = dict(
            reference_similarity=round(own, 4),
            question_similarity=round(q_sim, 4),
            best_other_question=self.index.ids[best] if best_other is not None else None,
            best_other_similarity=round(best_other, 4) if best_other is not None else None,
        )
        if q_sim >= self.s.copied_question_similarity and _adds_nothing(text, question.text):
            return _stop("copied_question", "the answer only restates the question", **info)
        relevance = own  # the question text is too short to judge relevance by
        if (
            n_words >= self.s.off_topic_min_words  # short answers carry too little signal
            # a one-line model answer (as in short-answer datasets) is no measure of relevance
            and len(words(question.reference.text)) >= self.s.off_topic_min_reference_words
            and relevance < self.s.off_topic_max_similarity
            and best_other is not None
            and best_other - relevance >= self.s.off_topic_margin
        ):
            other = self.index.bank.get(self.index.ids[best])
            return _stop(
                "off_topic",
                f"the answer is about another question (closest: "
                f"{other.number}. {other.text!r}), not about this one",
                **info,
            )
        terms = content_terms(text)
        return PrefilterOutcome(
            "judge",
            "needs_judge",
            "passed to the judge",
            evidence=self._evidence(question, parts, sent_vecs, terms),
            reference_coverage=coverage(content_terms(question.reference.text), terms),
            term_list=reads_as_term_list(text),
            **info,
        )

    def _evidence(
        self, question: Question, parts: list[str], sent_vecs: Vectors, terms: frozenset[str]
    ) -> dict[str, CriterionEvidence]:
        crit = self.index.criteria[question.id]
        sims = crit @ sent_vecs.T if parts else None  # criteria x sentences
        out = {}
        for i, c in enumerate(question.rubric.criteria):
            share = coverage(content_terms(c.description), terms)
            if sims is None:
                out[c.id] = CriterionEvidence(None, 0.0, share)
                continue
            j = int(np.argmax(sims[i]))
            out[c.id] = CriterionEvidence(parts[j], round(float(sims[i, j]), 4), share)
        return out


def _adds_nothing(answer: str, question: str) -> bool:
    """True when (almost) every content word of the answer is already in the question."""
    asked = {w.lower() for w in words(question)}
    said = [w.lower() for w in words(answer) if len(w) > 3]
    new = [w for w in said if w not in asked]
    return not said or len(new) / len(said) <= 0.2


def _stop(code: str, reason: str, **info: object) -> PrefilterOutcome:
    return PrefilterOutcome("short_circuit", code, reason, **info)  # type: ignore[arg-type]

"""``Grader``: the one place where the stages are wired together.

request -> bank -> prefilter -> judge (only when needed) -> scoring -> result -> store

One answer takes one pass: :meth:`Grader.accept` looks the question up and
checks the answer (the API calls it first, to answer 404/413 before admitting
the request to its pool), :meth:`Grader.grade_submission` grades what was
accepted, and :meth:`Grader.grade` does both.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from grader.bank.loader import QuestionBank, load_bank
from grader.config import Settings, TranscriptSettings, load_settings
from grader.errors import AnswerTooLargeError, InvalidAnswerError, JudgeError
from grader.grading.embeddings import Embedder, Vectors, make_embedder
from grader.grading.gate import JudgeGate
from grader.grading.guard import guard
from grader.grading.index import BankIndex
from grader.grading.judges import Judge, make_judge
from grader.grading.prefilter import Prefilter
from grader.grading.result_cache import ResultStore
from grader.grading.results import ResultBuilder, Subject
from grader.grading.score_calibration import load_calibration
from grader.grading.scoring import score_answer
from grader.models import GradeResult, Question, Usage

log = logging.getLogger(__name__)

NO_JUDGE = "no judge configured (GRADER_JUDGE=none): only the prefilter ran"


@dataclass(frozen=True)
class Submission:
    """An answer accepted for grading: its question found, the answer within limits."""

    question: Question
    answer: str
    # Whose result cache: one per API key, so no caller learns what another sent ("" = shared).
    partition: str = ""


class Grader:
    """Grades answers against a bank.  Build once (models load here), grade many."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        bank: QuestionBank | None = None,
        embedder: Embedder | None = None,
        judge: Judge | str | None = "from-settings",
        store: ResultStore | None = None,
    ) -> None:
        self.settings = s = settings or load_settings()
        t0 = time.perf_counter()
        self.bank = bank or load_bank(s.bank_dir)
        self.calibration = load_calibration(s.calibration_path) if s.calibration_path else None
        self.embedder = embedder or make_embedder(s.embedder, s.n_threads, s.embed_dtype)
        self.index = BankIndex(self.bank, self.embedder, s.cache_dir)
        self.prefilter = Prefilter(self.index, self.embedder, s.prefilter)
        self.judge: Judge | None = make_judge(s) if judge == "from-settings" else judge  # type: ignore[assignment]
        # single answers go before transcript answers at the judge (grading/gate.py)
        self.judge_gate = JudgeGate(getattr(self.judge, "max_parallel_calls", None))
        self.store = store if store is not None else ResultStore(s.database)
        self.load_seconds = round(time.perf_counter() - t0, 3)
        self.config_hash = self._config_hash()
        log.info(
            "grader ready in %.2fs: %d questions, embedder=%s, judge=%s, config=%s",
            self.load_seconds,
            len(self.bank),
            self.embedder.name,
            self.judge.name if self.judge else None,
            self.config_hash,
        )

    def _config_hash(self) -> str:
        parts = [
            self.bank.content_hash,
            self.settings.scoring_hash(),
            self.embedder.name,
            self.judge.name if self.judge else "none",
            self.judge.prompt_version if self.judge else "",
            self._judge_calibration(),
            self.calibration.digest if self.calibration else "",
        ]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]

    def _judge_calibration(self) -> str:
        """The judge's probe calibration: a refit must not reuse cached results."""
        cal = self.judge.calibration if self.judge else None
        return cal.digest if cal is not None else ""

    @property
    def results(self) -> ResultBuilder:
        """Builds results stamped with this configuration (and the judge in use now)."""
        judge = self.judge
        return ResultBuilder(
            bank_hash=self.bank.content_hash,
            embedder=self.embedder.name,
            judge=judge.name if judge else None,
            prompt_version=judge.prompt_version if judge else None,
            seed=self.settings.seed,
            config_hash=self.config_hash,
            calibration=self.calibration.name if self.calibration else None,
        )

    # ------------------------------------------------------------------ public

    def grade(self, question_id: str | int, answer: str, partition: str = "") -> GradeResult:
        """Grade one answer.  Same input and configuration -> identical result."""
        return self.grade_submission(self.accept(question_id, answer, partition))

    def accept(self, question_id: str | int, answer: str, partition: str = "") -> Submission:
        """Look the question up and check the answer, before any grading work.

        Raises UnknownQuestionError, InvalidAnswerError or AnswerTooLargeError.
        """
        question = self.bank.get(question_id)
        if not isinstance(answer, str):
            raise InvalidAnswerError(f"answer must be text, got {type(answer).__name__}")
        limit = self.settings.max_answer_chars
        if len(answer) > limit:
            raise AnswerTooLargeError(
                f"answer has {len(answer):,} characters; the limit is "
                f"{limit:,} (GRADER_MAX_ANSWER_CHARS). Shorten the answer."
            )
        return Submission(question, answer, partition)

    def grade_submission(self, submission: Submission) -> GradeResult:
        """Grade an accepted answer, or return the stored result of an identical one."""
        question, answer = submission.question, submission.answer
        # The partition comes first: no answer text can make a key of another partition.
        scope = f"partition:{submission.partition}\0" if submission.partition else ""
        text = f"{scope}{question.id}\0{self.config_hash}\0{answer}"
        key = hashlib.sha256(text.encode()).hexdigest()
        cached = self.store.get(key)
        if cached is not None:
            cached.usage.cache_hit = True
            return cached
        result = self._grade(question, answer)
        if result.status != "ungraded":  # failures are retried next time, not cached
            self.store.save(key, result)
        return result

    def close(self) -> None:
        """Release the judge (model, connections) and the result store; grade no more after."""
        if self.judge is not None:
            self.judge.close()
        self.store.close()

    # ------------------------------------------------------------------ stages

    def _grade(self, question: Question, answer: str) -> GradeResult:
        results = self.results
        seconds: dict[str, float] = {}
        t = time.perf_counter()
        guarded = guard(answer)
        cleaned = guarded.text
        pre = self.prefilter.check(question, cleaned)
        seconds["prefilter"] = round(time.perf_counter() - t, 4)
        if pre.short_circuit:
            return results.short_circuited(question, pre, guarded, seconds)
        if self.judge is None:
            usage = Usage(seconds=seconds)
            return results.ungraded(
                Subject.of(question), NO_JUDGE, pre=pre, guarded=guarded, usage=usage
            )
        t = time.perf_counter()
        try:
            with self.judge_gate.slot():
                judged = self.judge.judge(pre.judge_request(question, cleaned))
        except JudgeError as exc:
            seconds["judge"] = round(time.perf_counter() - t, 4)
            # The detail (URL, the judge's reply) is for the server log; the result gets a code.
            log.warning("judge failed on %s (%s): %s", question.id, exc.code, exc)
            return results.ungraded(
                Subject.of(question),
                f"judge failed: {exc.summary} ({exc.code})",
                pre=pre,
                guarded=guarded,
                usage=_failed_usage(exc, seconds),
            )
        seconds["judge"] = round(time.perf_counter() - t, 4)
        t = time.perf_counter()
        scored = score_answer(
            question,
            cleaned,
            judged,
            pre.evidence,
            reference_similarity=pre.reference_similarity,
            term_list=pre.term_list,
            settings=self.settings.scoring,
            calibration=self.calibration,
        )
        seconds["aggregate"] = round(time.perf_counter() - t, 4)
        return results.graded(question, pre, judged, scored, guarded, seconds)

    # -- for transcripts ------------------------------------------------------------------
    # What transcripts/ needs from the grader: the bank by id, similarities to it, its settings.

    @property
    def transcript_settings(self) -> TranscriptSettings:
        """Matching and grading whole transcripts (``GRADER_TRANSCRIPT_*``)."""
        return self.settings.transcripts

    @property
    def embedder_name(self) -> str:
        return self.embedder.name

    @property
    def question_ids(self) -> list[str]:
        """Every bank id, in the column order of :meth:`bank_similarities`."""
        return list(self.index.ids)

    def question(self, key: str | int) -> Question:
        """The bank question with this id or number; raises UnknownQuestionError."""
        return self.bank.get(key)

    def bank_similarities(self, texts: list[str]) -> tuple[Vectors, Vectors]:
        """Cosine similarity of each text to every bank question and to its reference answer.

        Two arrays of shape (len(texts), len(question_ids)): to the question texts, and to
        the reference answers.
        """
        vecs = self.embedder.embed(texts)
        return vecs @ self.index.questions.T, vecs @ self.index.references.T


def _failed_usage(exc: JudgeError, seconds: dict[str, float]) -> Usage:
    """What a failed judge call cost (at least one call)."""
    return Usage(
        judge_calls=max(exc.calls, 1),
        prompt_tokens=exc.prompt_tokens,
        completion_tokens=exc.completion_tokens,
        cost_usd=exc.cost_usd,
        seconds=seconds,
    )

"""judge=similarity: P(met) from the prefilter's best-sentence similarity, no LLM."""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import TINY_BANK
from grader.bank.loader import load_bank
from grader.config import Settings
from grader.errors import JudgeError
from grader.grading.judges import CriterionEvidence, JudgeRequest, make_judge
from grader.grading.judges.similarity import SimilarityJudge, logistic
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.testing import FakeEmbedder

BANK = load_bank(TINY_BANK)


def evidence(
    sims: dict[str, float],
    coverage: float | None = None,
    sentences: dict[str, str] | None = None,
) -> dict[str, CriterionEvidence]:
    """The prefilter's evidence records with these similarities and one coverage for all."""
    said = sentences or {}
    return {k: CriterionEvidence(said.get(k), s, coverage) for k, s in sims.items()}


def test_logistic_map_is_centred_and_increasing() -> None:
    assert logistic(0.6, 0.6, 8) == pytest.approx(0.5)
    values = [logistic(s, 0.5, 10) for s in (-1.0, 0.2, 0.5, 0.8, 1.0)]
    assert values == sorted(values) and values[0] < 0.01 and values[-1] > 0.99


def test_probabilities_come_from_the_similarities() -> None:
    q = BANK.get("q01-dropout")
    sims = {"random-zeroing": 0.9, "training-only": 0.58, "why-it-helps": 0.1}
    response = SimilarityJudge(center=0.58, slope=7).judge(
        JudgeRequest(q, "answer", evidence(sims, sentences={"random-zeroing": "best sentence"}))
    )
    p = {k: v.probability for k, v in response.criteria.items()}
    assert p["random-zeroing"] > 0.85 and p["training-only"] == pytest.approx(0.5)
    assert p["why-it-helps"] < 0.05
    assert response.criteria["random-zeroing"].evidence == "best sentence"
    assert all(v.probability == 0 for v in response.misconceptions.values())
    assert response.calls == 0


def test_fitted_map_uses_term_coverage_and_term_lists_fall_back_to_similarity() -> None:
    q = BANK.get("q01-dropout")
    sims = {c.id: 0.6 for c in q.rubric.criteria}
    judge = SimilarityJudge(center=0.4, slope=7)  # the curve alone gives 0.80 at 0.6
    assert judge.calibration.version == "sim-v3" and judge.calibration.d > 0
    uplift = judge.calibration.max_uplift
    assert uplift is not None and 0 < uplift < 0.5

    def probs(coverage: float | None, reference: float | None) -> dict[str, float]:
        request = JudgeRequest(q, "answer", evidence(sims, coverage), reference)
        return {k: v.probability for k, v in judge.judge(request).criteria.items()}

    low, high = probs(0.1, 0.2), probs(0.8, 0.2)
    assert all(low[k] < high[k] for k in low)
    assert probs(0.5, 0.1)["random-zeroing"] < probs(0.5, 0.6)["random-zeroing"]
    unbounded = replace(judge.calibration, max_uplift=None)
    terms = JudgeRequest(q, "answer").answer_terms
    assert probs(0.5, 0.3)["random-zeroing"] == unbounded.criterion(0.0, 0.6, 0.5, 0.3, terms)
    # no coverage: the similarity curve alone
    curve = logistic(0.6, 0.4, 7)
    assert all(p == pytest.approx(curve, abs=1e-4) for p in probs(None, None).values())
    # full coverage lifts P at most max_uplift above the curve (0.5 at its centre)
    capped = SimilarityJudge(center=0.6, slope=7)
    request = JudgeRequest(q, "answer", evidence(sims, 1.0), 1.0)
    assert all(
        v.probability == pytest.approx(0.5 + uplift, abs=1e-4)
        for v in capped.judge(request).criteria.values()
    )


def test_fitted_map_reads_the_answer_length() -> None:
    """Same similarities and coverage: the map's length term (f < 0) favours the concise answer."""
    q = BANK.get("q01-dropout")
    judge = SimilarityJudge()
    cal = judge.calibration
    assert cal.f < 0 and cal.terms_max is not None
    sims = {c.id: 0.5 for c in q.rubric.criteria}
    # distinct in their first five letters, so each word is one content term
    words = ["".join(w) for w in itertools.islice(itertools.product("abcdefgh", repeat=5), 200)]
    words = words[: cal.terms_max]
    concise = JudgeRequest(q, " ".join(words[: cal.terms_min]), evidence(sims, 0.3), 0.2)
    long = JudgeRequest(q, " ".join(words), evidence(sims, 0.3), 0.2)
    assert (concise.answer_terms, long.answer_terms) == (cal.terms_min, cal.terms_max)
    p_concise = judge.judge(concise).criteria["random-zeroing"].probability
    p_long = judge.judge(long).criteria["random-zeroing"].probability
    assert p_concise > p_long
    assert p_concise == cal.criterion(0.0, 0.5, 0.3, 0.2, cal.terms_min)


def test_without_similarities_the_judge_fails_visibly() -> None:
    with pytest.raises(JudgeError, match="needs the prefilter's per-criterion similarities"):
        SimilarityJudge().judge(JudgeRequest(BANK.get(1), "answer"))


def test_registered_by_name_with_settings_parameters(tmp_path: Path) -> None:
    s = Settings(bank_dir=TINY_BANK, cache_dir=tmp_path, judge="similarity", similarity_center=0.4)
    judge = make_judge(s)
    assert isinstance(judge, SimilarityJudge) and judge.center == 0.4
    assert judge.name == "similarity:0.4:6.5"


def test_pipeline_grades_with_the_similarity_judge(tmp_path: Path) -> None:
    # the fake embedder's similarities are lower than MiniLM's: centre its curve lower
    s = Settings(
        bank_dir=TINY_BANK,
        cache_dir=tmp_path,
        embedder="fake",
        judge="similarity",
        similarity_center=0.2,
    )
    grader = Grader(s, embedder=FakeEmbedder(), store=ResultStore(":memory:"))
    good = grader.grade(
        "q01-dropout",
        "Dropout randomly sets a fraction of activations to zero during training. "
        "Dropout is active only during training and disabled at inference.",
    )
    weak = grader.grade("q01-dropout", "Dropout is a layer that people use in networks a lot.")
    assert good.status == weak.status == "graded"
    assert good.score is not None and weak.score is not None and good.score > weak.score
    assert all(v.similarity is not None for v in good.criteria)
    assert good.provenance.judge == "similarity:0.2:6.5"

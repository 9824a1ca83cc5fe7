"""Judge without a language model: P(met) from the prefilter's measures alone.

No language model runs.  For each rubric criterion the prefilter has already
found the answer sentence closest to the criterion (cosine similarity of
sentence embeddings) and the share of the criterion's content terms the answer
uses, plus the share of the reference answer's terms and the answer's length in
content terms.  This judge maps them to a
probability with the logistic map fitted on nn46
(``calibrations/similarity--similarity-v2.json``, written by
``bench/fit_probe_calibration.py --write``)::

    P(met) = sigmoid(b * similarity + d * coverage + e * reference_coverage
                     + f * log(1 + answer_terms) + c)

Without coverage (an answer that is a bare list of terms, or a request that
carries none) it falls back to a curve of the similarity alone::

    P(met) = 1 / (1 + exp(-slope * (similarity - center)))

and with coverage P(met) stays at most the map's ``max_uplift`` above that curve
(coverage can lower P freely, but a string of rubric terms cannot raise it far).

``center`` and ``slope`` are settings (GRADER_SIMILARITY_CENTER,
GRADER_SIMILARITY_SLOPE).  Misconceptions cannot be recognised this way, so their
probability is always 0.  This is the "prefilter-only scoring" configuration of
the evaluation: cheap, fast and blind to negation.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from grader.errors import JudgeError
from grader.grading.judges.base import CriterionJudgement, JudgeRequest, JudgeResponse
from grader.grading.judges.calibration import ProbeCalibration

if TYPE_CHECKING:
    from grader.config import JudgeSettings

PROMPT_VERSION = "similarity-v2"  # no prompt; bump when the mapping changes


def logistic(similarity: float, center: float, slope: float) -> float:
    """The logistic map from a cosine similarity to P(met), in (0, 1)."""
    z = slope * (similarity - center)
    if z < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


class SimilarityJudge:
    """Scores every criterion from the prefilter's evidence alone (``JudgeRequest.evidence``)."""

    prompt_version = PROMPT_VERSION

    def __init__(self, center: float = 0.52, slope: float = 6.5) -> None:
        if slope <= 0:
            raise ValueError("slope must be > 0")
        self.center = center
        self.slope = slope
        self.name = f"similarity:{center:g}:{slope:g}"
        # the map's coverage-free part (fallback and bound) is the similarity curve:
        # sigmoid(slope * similarity - slope * center)
        self.calibration = replace(
            ProbeCalibration.load("similarity", PROMPT_VERSION),
            a0=0.0,
            b0=slope,
            c0=-slope * center,
        )

    def probability(self, request: JudgeRequest, criterion: str) -> float:
        similarity = request.evidence[criterion].similarity
        if self.calibration.version == "uncalibrated":
            return logistic(similarity, self.center, self.slope)
        return self.calibration.criterion(
            0.0,
            similarity,
            request.coverage(criterion),
            request.reference_coverage,
            request.answer_terms,
        )

    @classmethod
    def from_settings(cls, settings: JudgeSettings) -> SimilarityJudge:
        return cls(settings.similarity_center, settings.similarity_slope)

    def ping(self) -> None:
        """Always ready: no model, no server (the prefilter's embedder is checked apart)."""

    def close(self) -> None:
        """Nothing to release."""

    def judge(self, request: JudgeRequest) -> JudgeResponse:
        rubric = request.question.rubric
        missing = [c.id for c in rubric.criteria if c.id not in request.evidence]
        if missing:
            raise JudgeError(
                "the similarity judge needs the prefilter's per-criterion similarities; "
                f"none given for: {', '.join(missing)}"
            )
        criteria = {}
        for c in rubric.criteria:
            p = self.probability(request, c.id)
            criteria[c.id] = CriterionJudgement(round(p, 4), request.sentence(c.id))
        miscon = {m.id: CriterionJudgement(0.0) for m in rubric.misconceptions}
        return JudgeResponse(
            criteria,
            miscon,
            model="similarity",
            prompt_version=PROMPT_VERSION,
            calls=0,
        )

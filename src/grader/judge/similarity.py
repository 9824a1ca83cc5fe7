"""Embedding-only judge: P(met) from the prefilter's best-sentence similarity.

No language model runs.  For each rubric criterion the prefilter has already
found the answer sentence closest to the criterion (cosine similarity of
sentence embeddings); this judge maps that similarity to a probability with a
logistic curve::

    P(met) = 1 / (1 + exp(-slope * (similarity - center)))

``center`` and ``slope`` are settings (GRADER_SIMILARITY_CENTER,
GRADER_SIMILARITY_SLOPE).  Misconceptions cannot be recognised from similarity
to a criterion, so their probability is always 0.  This is the "prefilter-only
scoring" baseline of the evaluation: cheap, fast and blind to negation.
"""

from __future__ import annotations

import math

from ..config import Settings
from ..errors import JudgeError
from .base import CriterionJudgement, JudgeRequest, JudgeResponse

PROMPT_VERSION = "similarity-v1"  # no prompt; bump when the mapping changes


def logistic(similarity: float, center: float, slope: float) -> float:
    """The logistic map from a cosine similarity to P(met), in (0, 1)."""
    z = slope * (similarity - center)
    if z < -60:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


class SimilarityJudge:
    """Scores every criterion from ``JudgeRequest.similarities`` alone."""

    prompt_version = PROMPT_VERSION

    def __init__(self, center: float = 0.58, slope: float = 7.0) -> None:
        if slope <= 0:
            raise ValueError("slope must be > 0")
        self.center = center
        self.slope = slope
        self.name = f"similarity:{center:g}:{slope:g}"

    @classmethod
    def from_settings(cls, settings: Settings) -> SimilarityJudge:
        return cls(settings.similarity_center, settings.similarity_slope)

    def judge(self, request: JudgeRequest) -> JudgeResponse:
        rubric = request.question.rubric
        missing = [c.id for c in rubric.criteria if c.id not in request.similarities]
        if missing:
            raise JudgeError(
                "the similarity judge needs the prefilter's per-criterion similarities; "
                f"none given for: {', '.join(missing)}"
            )
        criteria = {}
        for c in rubric.criteria:
            p = logistic(request.similarities[c.id], self.center, self.slope)
            criteria[c.id] = CriterionJudgement(round(p, 4), request.hints.get(c.id))
        miscon = {m.id: CriterionJudgement(0.0) for m in rubric.misconceptions}
        return JudgeResponse(
            criteria,
            miscon,
            model="similarity",
            prompt_version=PROMPT_VERSION,
            calls=0,
        )

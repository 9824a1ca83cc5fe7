"""Map a checklist probe's raw logit (and the prefilter's evidence) to P(met).

A small model's P(yes) is informative but biased (it leans towards "yes", also
for vague answers that only name the right topic), so the logit is combined
with the prefilter's measures of the answer (best-sentence similarity to the
criterion, share of the criterion's and of the reference answer's content terms
it uses, and the answer's length in content terms) in a logistic map fitted on labelled answers
(``bench/fit_probe_calibration.py`` on evals/datasets/nn46).  Fitted maps are
versioned JSON files next to this module, one per model and prompt; without one
the raw P(yes) is used unchanged.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields
from importlib import resources


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 60.0), -60.0)))


@dataclass(frozen=True)
class ProbeCalibration:
    version: str = "uncalibrated"
    # criterion: P(met) = sigmoid(a * logit + b * similarity + d * coverage
    #                              + e * reference_coverage + f * length + c)
    # length = log(1 + answer_terms), answer_terms clamped to [terms_min, terms_max] (the
    # 5th-95th percentile of the answers the map was fitted on: no extrapolation).  The
    # length term puts coverage in proportion: a long answer covers more of the reference
    # by sheer size, a concise one that covers the same share is more to the point.
    a: float = 1.0
    b: float = 0.0
    c: float = 0.0
    d: float = 0.0
    e: float = 0.0
    f: float = 0.0
    terms_min: int = 0
    terms_max: int | None = None
    # without coverage (an answer that is a bare list of terms):
    # P(met) = sigmoid(a0 * logit + b0 * similarity + c0); None: the same a, b, c
    a0: float | None = None
    b0: float | None = None
    c0: float | None = None
    # Coverage may lower P(met) freely (a vague answer that names none of the
    # criterion's terms) but raise it at most this much above the map without
    # coverage: a string of rubric terms must not outvote the judge.  None: no bound.
    max_uplift: float | None = None
    # misconception: P(present) = sigmoid(ma * logit + mc)
    ma: float = 1.0
    mc: float = 0.0

    def criterion(
        self,
        logit: float,
        similarity: float,
        coverage: float | None = 0.0,
        reference_coverage: float | None = 0.0,
        answer_terms: int = 0,
    ) -> float:
        """P(met); pass coverage None when the answer's wording is no evidence.

        ``answer_terms`` is the answer's number of distinct content terms
        (``JudgeRequest.answer_terms``); it only enters together with coverage.
        """
        a = self.a if self.a0 is None else self.a0
        b = self.b if self.b0 is None else self.b0
        c = self.c if self.c0 is None else self.c0
        without = _sigmoid(a * logit + b * similarity + c)
        if coverage is None or reference_coverage is None:
            return round(without, 4)
        z = self.a * logit + self.b * similarity + self.d * coverage + self.e * reference_coverage
        z += self.f * self.length(answer_terms)
        p = _sigmoid(z + self.c)
        return round(p if self.max_uplift is None else min(p, without + self.max_uplift), 4)

    def length(self, answer_terms: int) -> float:
        """The length feature: log(1 + answer_terms), within the fitted range."""
        terms = max(answer_terms, self.terms_min)
        return math.log1p(terms if self.terms_max is None else min(terms, self.terms_max))

    def misconception(self, logit: float) -> float:
        return round(_sigmoid(self.ma * logit + self.mc), 4)

    @property
    def digest(self) -> str:
        """Changes whenever any coefficient does (part of the grader's configuration hash)."""
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]

    @classmethod
    def file_name(cls, model: str, prompt: str) -> str:
        return f"{model}--{prompt}.json"

    @classmethod
    def load(cls, model: str, prompt: str) -> ProbeCalibration:
        ref = resources.files("grader.grading.judges").joinpath(
            "calibrations", cls.file_name(model, prompt)
        )
        if not ref.is_file():
            return cls()
        data = json.loads(ref.read_text("utf-8"))
        known = {f.name for f in fields(cls)}  # other keys (e.g. "fitted_on") are notes
        return cls(**{k: data[k] for k in known if k in data})

"""Map a checklist probe's raw logit (and the prefilter's similarity) to P(met).

A small model's P(yes) is informative but biased (it leans towards "yes"), so the
logit is passed through a logistic map fitted on labelled answers
(``bench/fit_probe_calibration.py`` on evals/datasets/nn46).  Fitted maps are
versioned JSON files next to this module, one per model and prompt; without one
the raw P(yes) is used unchanged.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(x, 60.0), -60.0)))


@dataclass(frozen=True)
class ProbeCalibration:
    version: str = "uncalibrated"
    # criterion: P(met) = sigmoid(a * logit + b * similarity + c)
    a: float = 1.0
    b: float = 0.0
    c: float = 0.0
    # misconception: P(present) = sigmoid(ma * logit + mc)
    ma: float = 1.0
    mc: float = 0.0

    def criterion(self, logit: float, similarity: float) -> float:
        return round(_sigmoid(self.a * logit + self.b * similarity + self.c), 4)

    def misconception(self, logit: float) -> float:
        return round(_sigmoid(self.ma * logit + self.mc), 4)

    @classmethod
    def file_name(cls, model: str, prompt: str) -> str:
        return f"{model}--{prompt}.json"

    @classmethod
    def load(cls, model: str, prompt: str) -> ProbeCalibration:
        ref = resources.files("grader.judge").joinpath("calibrations", cls.file_name(model, prompt))
        if not ref.is_file():
            return cls()
        data = json.loads(ref.read_text("utf-8"))
        return cls(**{k: data[k] for k in ("version", "a", "b", "c", "ma", "mc")})

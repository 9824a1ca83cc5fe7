"""A monotone score map, applied to graded scores when GRADER_CALIBRATION_PATH is set.

The map is a piecewise-linear, non-decreasing function on normalised scores
(``score / max_score`` in [0, 1]), stored as a JSON list of thresholds.  It is
fitted by isotonic regression on human-labelled data (``grader eval
calibrate``, see ``grader.evaluation.calibration``); serving only needs this
module, which imports no heavy library.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from grader.errors import ConfigError


class ScoreCalibration(BaseModel):
    """Thresholds ``x`` (raw, normalised) -> ``y`` (calibrated, normalised)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(default="isotonic", description="How the map was fitted.")
    x: list[float] = Field(min_length=1, description="Raw normalised scores, increasing.")
    y: list[float] = Field(min_length=1, description="Calibrated values, non-decreasing.")
    fitted_on: str = Field(default="", description="Dataset and run the map was fitted on.")
    n: int = Field(default=0, ge=0, description="Number of answers used to fit.")

    @model_validator(mode="after")
    def _check(self) -> ScoreCalibration:
        if len(self.x) != len(self.y):
            raise ValueError(f"x and y differ in length ({len(self.x)} != {len(self.y)})")
        if any(b < a for a, b in zip(self.x, self.x[1:], strict=False)):
            raise ValueError("x must be increasing")
        if any(b < a - 1e-12 for a, b in zip(self.y, self.y[1:], strict=False)):
            raise ValueError("y must be non-decreasing (the map is monotone)")
        if not all(0.0 <= v <= 1.0 for v in [*self.x, *self.y]):
            raise ValueError("x and y are normalised scores and must lie in [0, 1]")
        return self

    @property
    def digest(self) -> str:
        blob = json.dumps([self.kind, self.x, self.y], separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    @property
    def name(self) -> str:
        """Stamped in Provenance.calibration."""
        return f"{self.kind}:{self.digest}"

    def apply(self, normalized: float) -> float:
        """Calibrated normalised score; flat beyond the fitted range."""
        return float(np.interp(normalized, self.x, self.y))

    def apply_many(self, normalized: list[float]) -> list[float]:
        return [float(v) for v in np.interp(normalized, self.x, self.y)]

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")


def load_calibration(path: Path) -> ScoreCalibration:
    """Read a calibration file; raise ConfigError naming the file and the fix."""
    hint = "fix GRADER_CALIBRATION_PATH or refit it with `grader eval calibrate RUN_DIR --out FILE`"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read calibration file {path}: {exc.strerror}; {hint}") from None
    try:
        return ScoreCalibration.model_validate_json(text)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid calibration file {path}: {problems}; {hint}") from None

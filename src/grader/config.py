"""All settings in one place (environment prefix ``GRADER_``).

Bad values fail fast at start-up with a message naming the variable and the fix.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]


def _default_bank() -> Path:
    cwd = Path.cwd()
    return cwd if (cwd / "rubrics").is_dir() else REPO_ROOT


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GRADER_", extra="ignore", frozen=True)

    # bank and storage
    bank_dir: Path = Field(default_factory=_default_bank, description="Bank directory.")
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "grader", description="Models, embeddings, results."
    )
    db_path: Path | None = Field(
        default=None, description="SQLite file; default cache_dir/grader.db"
    )

    # models
    embedder: str = Field(
        default="sentence-transformers", description="'sentence-transformers' or 'fake'."
    )
    judge: str = Field(
        default="local",
        description="'local', 'fake', 'none', 'openai:<model>' or 'openai-compatible:<model>'.",
    )
    judge_base_url: str | None = None
    judge_api_key: str | None = None
    local_model_path: Path | None = Field(default=None, description="Any GGUF file to judge with.")
    n_threads: int = Field(default=2, ge=1)
    n_ctx: int = Field(default=4096, ge=512)
    seed: int = 0

    # prefilter thresholds (calibrated on evals/datasets/nn46; see README)
    min_answer_words: int = Field(default=3, ge=0)
    min_alpha_ratio: float = Field(default=0.5, ge=0, le=1)
    copied_question_similarity: float = Field(default=0.93, gt=0, le=1)
    off_topic_max_similarity: float = Field(default=0.25, ge=-1, le=1)
    off_topic_margin: float = Field(default=0.15, ge=0, le=2)

    # aggregation
    met_probability: float = Field(default=0.5, gt=0, lt=1)
    partial_probability: float = Field(default=0.25, gt=0, lt=1)
    misconception_probability: float = Field(default=0.6, gt=0, lt=1)
    review_margin: float = Field(default=0.1, ge=0, lt=0.5)

    # limits
    max_answer_chars: int = Field(default=20_000, ge=1)

    # API
    api_keys: list[str] = Field(default_factory=list, description="Bearer keys; empty = open.")
    grade_only_keys: list[str] = Field(default_factory=list)
    expose_reference: bool = True
    log_answers: bool = False
    max_queue: int = Field(default=64, ge=1)

    @field_validator("judge")
    @classmethod
    def _judge_name(cls, v: str) -> str:
        kind = v.split(":", 1)[0]
        if kind not in {"local", "fake", "none", "openai", "openai-compatible"}:
            raise ValueError(
                "expected 'local', 'fake', 'none', 'openai:<model>' or 'openai-compatible:<model>'"
            )
        return v

    @field_validator("embedder")
    @classmethod
    def _embedder_name(cls, v: str) -> str:
        if v not in {"sentence-transformers", "fake"}:
            raise ValueError("expected 'sentence-transformers' or 'fake'")
        return v

    @property
    def database(self) -> Path:
        return self.db_path or self.cache_dir / "grader.db"

    def scoring_hash(self) -> str:
        """Hash of every setting that can change a score."""
        keys = [
            "embedder",
            "judge",
            "local_model_path",
            "seed",
            "min_answer_words",
            "min_alpha_ratio",
            "copied_question_similarity",
            "off_topic_max_similarity",
            "off_topic_margin",
            "met_probability",
            "partial_probability",
            "misconception_probability",
        ]
        blob = json.dumps({k: str(getattr(self, k)) for k in keys}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise ConfigError naming each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            name = "GRADER_" + "_".join(str(p) for p in e["loc"]).upper()
            lines.append(f"{name}: {e['msg']}, got {e.get('input')!r}")
        raise ConfigError("invalid settings:\n" + "\n".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()

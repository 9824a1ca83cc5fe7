"""All settings in one place (environment prefix ``GRADER_``).

Bad values fail fast at start-up with a message naming the variable and the fix.
"""

from __future__ import annotations

import hashlib
import json
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from grader.errors import ConfigError
from grader.models import FeedbackLevel

REPO_ROOT = Path(__file__).resolve().parents[2]


def _default_bank() -> Path:
    cwd = Path.cwd()
    return cwd if (cwd / "rubrics").is_dir() else REPO_ROOT


class Settings(BaseSettings):
    """Every setting, read from ``GRADER_<NAME>``; stages read their group
    (``settings.prefilter``, ``.scoring``, ``.judging``, ``.storage``, ``.transcripts``, ``.api``).
    """

    model_config = SettingsConfigDict(env_prefix="GRADER_", extra="ignore", frozen=True)

    # bank and storage
    bank_dir: Path = Field(default_factory=_default_bank, description="Bank directory.")
    cache_dir: Path = Field(
        default=Path.home() / ".cache" / "grader", description="Models, embeddings, results."
    )
    db_path: Path | None = Field(default=None, description="SQLite file, else cache_dir/grader.db")
    result_cache_ttl_days: float = Field(default=30, gt=0, description="Keep cached grades.")
    result_cache_max_mb: float = Field(default=512, gt=0, description="Cap on cached grades.")
    idempotency_max_mb: float = Field(default=64, gt=0, description="Cap on Idempotency-Keys.")
    prune_interval_seconds: float = Field(default=600, gt=0, description="API prunes this often.")

    # models
    embedder: str = Field(
        default="sentence-transformers", description="'sentence-transformers' or 'fake'."
    )
    embed_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        default="auto",
        description="Embedding model precision: bfloat16 is ~2x faster on CPUs with "
        "AVX512-BF16/AMX (vectors within 0.998 cosine of float32); auto picks it there.",
    )
    judge: str = Field(
        default="local",
        description="'local', 'fake', 'none', 'similarity', 'openai:<model>' or "
        "'openai-compatible:<model>'.",
    )
    judge_base_url: str | None = None
    judge_api_key: str | None = None
    # remote judges (openai:<model>, openai-compatible:<model>); see grader/judge/openai_judge.py
    judge_style: Literal["structured", "checklist"] = Field(
        default="structured", description="Remote judges: one JSON call, or yes/no probes."
    )
    judge_server: Literal["auto", "openai", "llama-cpp", "vllm", "ollama", "generic"] = Field(
        default="auto", description="Server kind for the capability table; auto = detect."
    )
    judge_capabilities: dict[str, bool | int | str] = Field(
        default_factory=dict, description='Capability overrides, e.g. {"logprobs": false}.'
    )
    judge_concurrency: int = Field(default=8, ge=1, description="Requests in flight, per process.")
    judge_timeout: float = Field(default=60.0, gt=0, description="Seconds per request attempt.")
    judge_max_retries: int = Field(default=3, ge=0, description="SDK retries (429, 5xx, network).")
    judge_max_reasks: int = Field(default=2, ge=0, description="Re-asks after an invalid reply.")
    judge_max_tokens: int = Field(default=1024, ge=16, description="Reply limit, structured style.")
    judge_prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict, description='USD per 1M tokens: {"gpt-4o-mini": [0.15, 0.6]}.'
    )
    local_model_path: Path | None = Field(default=None, description="Any GGUF file to judge with.")
    local_prompt: str = Field(
        default="checklist-v4",
        description="Prompt file of the local judge (grader/prompts/NAME.txt): checklist-v4 "
        "(default), checklist-v3 (rubric listed once, ~2x faster, less accurate), checklist-v2.",
    )
    judge_fence: bool = Field(default=False, description="Answer in <answer-CODE> tags.")
    n_threads: int = Field(default=2, ge=1)
    n_ctx: int = Field(default=4096, ge=512)
    prefix_cache_mb: int = Field(
        default=600,
        ge=0,
        description="Memory for KV snapshots of question prompt prefixes in the local judge "
        "(measured 3.7 MiB per question with checklist-v4, 10.6 with checklist-v3; 600 covers "
        "the 46-question bank with either).",
    )
    seed: int = 0
    # judge=similarity when the answer's coverage is no evidence (a bare list of terms):
    # P(met) = 1 / (1 + exp(-slope * (similarity - center)))
    similarity_center: float = Field(default=0.52, ge=-1, le=1)
    similarity_slope: float = Field(default=6.5, gt=0)

    # prefilter thresholds (calibrated on evals/datasets/nn46; see README)
    min_answer_words: int = Field(default=1, ge=0)
    copied_question_similarity: float = Field(default=0.93, gt=0, le=1)
    off_topic_max_similarity: float = Field(default=0.45, ge=-1, le=1)
    off_topic_margin: float = Field(default=0.3, ge=0, le=2)
    off_topic_min_words: int = Field(default=20, ge=0)
    off_topic_min_reference_words: int = Field(default=50, ge=0)

    # aggregation
    met_probability: float = Field(default=0.65, gt=0, lt=1)
    partial_probability: float = Field(default=0.55, gt=0, lt=1)
    misconception_probability: float = Field(default=0.85, gt=0, lt=1)
    review_margin: float = Field(default=0.1, ge=0, lt=0.5)
    calibration_path: Path | None = Field(
        default=None, description="Isotonic score map (JSON) from `grader eval calibrate`."
    )

    # evaluation
    datasets_dir: Path = Field(
        default=Path("/work/shared/datasets"), description="External human-graded datasets."
    )

    # limits
    max_answer_chars: int = Field(default=20_000, ge=1)

    # transcripts (grader/matching.py; threshold calibrated with bench/bench_matching.py)
    transcript_match_threshold: float = Field(default=0.45, ge=-1, le=1)
    transcript_review_confidence: float = Field(default=0.55, ge=-1, le=1)
    transcript_review_margin: float = Field(default=0.03, ge=0, le=2)
    transcript_workers: int = Field(default=4, ge=1, description="Answers graded at once.")
    transcript_max_turns: int = Field(default=300, ge=1)
    # answers waiting in transcript jobs (transcripts/admission.py): beyond, 503 / 429
    max_job_answers: int = Field(default=1000, ge=1, description="All keys together.")
    max_job_answers_per_key: int = Field(default=300, ge=1, description="Per API key.")

    # API
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Bearer keys (comma-separated); empty = open."
    )
    grade_only_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Keys that may only POST /v1/grade."
    )
    expose_reference: bool = True
    expose_rubric: bool = Field(
        default=True,
        description="Show criteria in GET /v1/questions; false caps every feedback level at hints.",
    )
    feedback_level: FeedbackLevel = Field(
        default="full", description="What full keys and the open API see of a grade."
    )
    grade_only_feedback_level: FeedbackLevel = Field(
        default="hints", description="What grade-only keys see of a grade."
    )
    log_answers: bool = False
    max_queue: int = Field(default=64, ge=1)
    api_workers: int = Field(default=2, ge=1, description="Threads grading API requests.")
    idempotency_ttl_hours: float = Field(default=24, gt=0, description="Keep Idempotency-Keys.")
    body_timeout_seconds: float = Field(default=15, gt=0, description="Body read limit (408).")

    @field_validator("api_keys", "grade_only_keys", mode="before")
    @classmethod
    def _key_list(cls, v: object) -> object:
        """Accept 'k1,k2' or a JSON list from the environment."""
        if isinstance(v, str):
            v = v.strip()
            if v.startswith("["):
                try:
                    return json.loads(v)
                except json.JSONDecodeError:
                    raise ValueError(
                        'expected comma-separated keys (k1,k2) or a JSON list (["k1", "k2"])'
                    ) from None
            return [k.strip() for k in v.split(",") if k.strip()]
        return v

    @field_validator("judge")
    @classmethod
    def _judge_name(cls, v: str) -> str:
        # the judge registry owns the names; imported here, not at the top, to avoid a cycle
        from grader.grading.judges.registry import JudgeSpec, expected_names

        try:
            JudgeSpec.parse(v)
        except ConfigError:
            raise ValueError(expected_names()) from None
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
        """Hash of every setting that can change a grade: all but the operational ones.

        A new setting is covered by default; only settings listed in OPERATIONAL
        (addresses, keys, paths, worker counts, limits that reject rather than re-score)
        are left out, so two configurations that may grade differently never share
        cached grades.
        """
        values = {
            k: str(getattr(self, k))
            for k in sorted(type(self).model_fields)
            if k not in OPERATIONAL
        }
        return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:12]

    # -- groups: each stage reads its own ------------------------------------------------

    @cached_property
    def storage(self) -> StorageSettings:
        return _group(StorageSettings, self)

    @cached_property
    def prefilter(self) -> PrefilterSettings:
        return _group(PrefilterSettings, self)

    @cached_property
    def scoring(self) -> ScoringSettings:
        return _group(ScoringSettings, self)

    @cached_property
    def judging(self) -> JudgeSettings:
        return _group(JudgeSettings, self)

    @cached_property
    def transcripts(self) -> TranscriptSettings:
        return _group(TranscriptSettings, self)

    @cached_property
    def api(self) -> ApiSettings:
        return _group(ApiSettings, self)


# Settings that cannot change a grade: where things are, who may call, how many at once.
OPERATIONAL = frozenset(
    {
        "bank_dir",  # the bank enters the configuration hash by content
        "cache_dir",
        "db_path",
        "datasets_dir",
        "calibration_path",  # the calibration enters the configuration hash by content
        "local_model_path",  # the model enters by name (judge name)
        "judge_api_key",
        *("judge_concurrency", "judge_timeout", "judge_max_retries"),
        "n_threads",
        "prefix_cache_mb",
        "max_answer_chars",
        *("transcript_workers", "transcript_max_turns"),
        *("max_job_answers", "max_job_answers_per_key"),  # admission of transcript jobs
        "api_keys",
        "grade_only_keys",
        "expose_reference",
        "expose_rubric",
        "feedback_level",  # a view of the grade, applied when it is sent
        "grade_only_feedback_level",
        "log_answers",
        "max_queue",
        "api_workers",
        "idempotency_ttl_hours",
        *("result_cache_ttl_days", "result_cache_max_mb", "idempotency_max_mb"),  # retention
        *("prune_interval_seconds", "body_timeout_seconds"),
    }
)


class _Group(BaseModel):
    model_config = ConfigDict(frozen=True)


G = TypeVar("G", bound=_Group)


def _group(cls: type[G], settings: Settings) -> G:
    return cls.model_validate({k: getattr(settings, k) for k in cls.model_fields})


class StorageSettings(_Group):
    """Where the bank, caches and database live."""

    bank_dir: Path
    cache_dir: Path
    db_path: Path | None
    result_cache_ttl_days: float
    result_cache_max_mb: float
    idempotency_max_mb: float
    prune_interval_seconds: float

    @property
    def database(self) -> Path:
        return self.db_path or self.cache_dir / "grader.db"


class PrefilterSettings(_Group):
    """The similarity gate's thresholds (grading/prefilter.py)."""

    min_answer_words: int
    copied_question_similarity: float
    off_topic_max_similarity: float
    off_topic_margin: float
    off_topic_min_words: int
    off_topic_min_reference_words: int


class ScoringSettings(_Group):
    """Probabilities -> verdicts, penalties and review flags (grading/scoring.py)."""

    met_probability: float
    partial_probability: float
    misconception_probability: float
    review_margin: float
    calibration_path: Path | None


class JudgeSettings(_Group):
    """Which judge, and how it runs (grading/judges/)."""

    judge: str
    judge_base_url: str | None
    judge_api_key: str | None
    judge_style: Literal["structured", "checklist"]
    judge_server: Literal["auto", "openai", "llama-cpp", "vllm", "ollama", "generic"]
    judge_capabilities: dict[str, bool | int | str]
    judge_concurrency: int
    judge_timeout: float
    judge_max_retries: int
    judge_max_reasks: int
    judge_max_tokens: int
    judge_prices: dict[str, tuple[float, float]]
    local_model_path: Path | None
    local_prompt: str
    judge_fence: bool
    n_threads: int
    n_ctx: int
    prefix_cache_mb: int
    seed: int
    similarity_center: float
    similarity_slope: float
    cache_dir: Path


class TranscriptSettings(_Group):
    """Matching transcript questions to the bank and grading them (transcripts/)."""

    transcript_match_threshold: float
    transcript_review_confidence: float
    transcript_review_margin: float
    transcript_workers: int
    transcript_max_turns: int
    max_job_answers: int
    max_job_answers_per_key: int


class ApiSettings(_Group):
    """The HTTP API: who may call, what it shows, how much it admits (api/)."""

    api_keys: list[str]
    grade_only_keys: list[str]
    expose_reference: bool
    expose_rubric: bool
    feedback_level: FeedbackLevel
    grade_only_feedback_level: FeedbackLevel
    log_answers: bool
    max_queue: int
    api_workers: int
    idempotency_ttl_hours: float
    max_answer_chars: int


# Settings whose values never appear in an error message or a log line.
SECRET_SETTINGS = frozenset({"api_keys", "grade_only_keys", "judge_api_key"})


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment; raise ConfigError naming each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for e in exc.errors():
            name = "GRADER_" + "_".join(str(p) for p in e["loc"]).upper()
            secret = bool(e["loc"]) and e["loc"][0] in SECRET_SETTINGS
            got = "<redacted>" if secret else repr(e.get("input"))
            lines.append(f"{name}: {e['msg']}, got {got}")
        raise ConfigError("invalid settings:\n" + "\n".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()

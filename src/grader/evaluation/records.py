"""What an evaluation run writes, as typed models (pydantic_evals-style typed report).

=============  ===========  ======================================================
file           model        what
=============  ===========  ======================================================
run.json       RunMeta      what was run: dataset, configuration, hashes, item ids
results.jsonl  RunRecord    one answer: the human judgement and the GradeResult
metrics.json   RunSummary   every number of the report (:func:`summary.summarise`)
=============  ===========  ======================================================

The JSON is the format of the files written so far: same names, same order,
same values, so existing run directories load and re-serialise byte for byte.
A block that does not apply is absent from the JSON rather than ``null`` (the
metrics of an empty comparison, ``native`` scores on a 0-10 dataset, ``3way``
labels of a 2-way task): every model here is written with :meth:`Record.to_json`,
which leaves out fields that were never set.  Fields that are ``null`` when they
do not apply (``calibrated_cv``, ``ceiling`` …) are required, so they are always
set and always written.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from grader.models import Verdict

Interval = tuple[float, float]


class Record(BaseModel):
    """Base of the run files' models: JSON names by alias, unset fields left out."""

    # extra="forbid": a key the metric functions add but no model declares fails loudly
    # instead of silently missing from metrics.json.
    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    # Fields written first in the JSON (a subclass's own fields otherwise come last).
    JSON_FIRST: ClassVar[tuple[str, ...]] = ()

    @model_serializer(mode="wrap")
    def _order(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if not self.JSON_FIRST or not isinstance(data, dict):
            return data
        return {**{k: data.pop(k) for k in self.JSON_FIRST if k in data}, **data}

    def to_json(self) -> dict[str, Any]:
        """The JSON-able dict written to the run's files."""
        data: dict[str, Any] = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        return data


# --------------------------------------------------------------------------- run.json, results


class RunMeta(Record):
    """``run.json``: what was run.  ``metrics.json`` repeats it without ``item_ids``."""

    model_config = ConfigDict(extra="allow")  # keep anything a newer harness added

    dataset: str = Field(description="The dataset as given: a name or a path.")
    dataset_name: str
    dataset_size: int = Field(description="Answers in the dataset (before sampling).")
    scale: str = Field(description="'0-10', '0-5' (Mohler) or 'label' (SemEval).")
    notes: list[str]
    config: str = Field(description="Evaluation configuration name.")
    config_description: str
    overrides: dict[str, str] = Field(description="Settings the configuration overrides.")
    config_hash: str
    judge: str | None
    embedder: str
    calibration: str | None
    bank_hash: str
    sample: int | None = Field(description="Size of the stratified sample, if any.")
    seed: int
    item_ids: list[str] = Field(default_factory=list, description="The answers graded, in order.")
    load_seconds: float
    started: str = Field(description="Local time, ISO 8601 without zone.")

    def without_items(self) -> RunMeta:
        """The same, minus ``item_ids`` (as repeated in metrics.json)."""
        data = self.to_json()
        data.pop("item_ids", None)
        return RunMeta.model_validate(data)


class HumanJudgement(Record):
    """The human side of a record, on 0-10."""

    score10: float | None
    max_score: float = Field(description="The dataset's own scale (10, 5, 1 …).")
    graders10: dict[str, float] | None = Field(description="Each human grader, on 0-10.")
    label: str | None
    criteria: dict[str, Verdict] | None
    category: str | None


class RunRecord(Record):
    """One line of ``results.jsonl``: an answer graded with one configuration."""

    item_id: str
    question_id: str
    config_hash: str
    human: HumanJudgement
    # The GradeResult as written (``GradeResult.model_dump(mode="json")``); kept as a dict
    # so records written by an older grader still load.  None when grading raised.
    result: dict[str, Any] | None
    error: str | None = Field(description="Why the answer is ungraded, when grading raised.")
    seconds: float

    @property
    def status(self) -> str:
        return str(self.result["status"]) if self.result else "ungraded"


# --------------------------------------------------------------------------- metrics.json


class ScoreAgreement(Record):
    """:func:`metrics.score_agreement`: only ``n`` when there is nothing to compare."""

    n: float
    qwk: float | None = None
    pearson: float | None = None
    spearman: float | None = None
    mae: float | None = None
    rmse: float | None = None
    exact: float | None = None
    adjacent: float | None = None
    bias: float | None = None
    mean_human: float | None = None
    mean_pred: float | None = None

    def metric(self, name: str) -> float | None:
        value: float | None = getattr(self, name)
        return value

    def interval(self, name: str) -> Interval | None:
        """The 95% bootstrap interval of a metric, when computed."""
        return None


class ScoreAgreementCI(ScoreAgreement):
    """Score agreement with a 95% bootstrap interval per metric (None: too few draws)."""

    ci95: dict[str, Interval | None]

    def interval(self, name: str) -> Interval | None:
        return self.ci95.get(name)


class CalibratedAgreement(ScoreAgreementCI):
    """The isotonic map's out-of-fold scores against the humans."""

    JSON_FIRST = ("folds", "grouped_by")

    folds: int
    grouped_by: str


class QuestionAgreement(ScoreAgreement):
    JSON_FIRST = ("question_id",)

    question_id: str


class NativeScores(Record):
    """Errors back on the dataset's own scale (e.g. Mohler's 0-5)."""

    max_score: float
    mae: float | None
    rmse: float | None
    bias: float | None
    pearson: float | None


class Scores(Record):
    grader: ScoreAgreementCI
    native: NativeScores | None = None


class Ceiling(Record):
    """Two human graders against each other, and the grader against each of them."""

    graders: tuple[str, str]
    human_vs_human: ScoreAgreementCI
    grader_vs: dict[str, ScoreAgreement]


class Confusion(Record):
    labels: list[int]
    matrix: list[list[int]]


class ClassScores(Record):
    precision: float
    recall: float
    f1: float
    support: float


class LabelAgreement(Record):
    """:func:`metrics.label_agreement` of a 2- or 3-way task."""

    n: int
    labels: list[str]
    accuracy: float | None
    macro_f1: float | None
    per_class: dict[str, ClassScores]
    confusion: list[list[int]]


class Labels(Record):
    threshold: float = Field(description="Normalised score from which 'correct' is predicted.")
    two_way: LabelAgreement = Field(alias="2way")
    three_way: LabelAgreement | None = Field(default=None, alias="3way")


class VerdictAgreement(Record):
    """:func:`metrics.verdict_agreement`: only ``n`` when there is no verdict."""

    n: int
    agreement: float | None = None
    met_accuracy: float | None = None
    met_f1: float | None = None
    human_met_rate: float | None = None
    pred_met_rate: float | None = None
    confusion: list[list[int]] | None = None


class CriterionAgreement(VerdictAgreement):
    """One rubric criterion of one question (written without the confusion matrix)."""

    JSON_FIRST = ("question_id", "criterion_id")

    question_id: str
    criterion_id: str


class Criteria(Record):
    overall: VerdictAgreement
    per_criterion: list[CriterionAgreement]


class PrefilterError(Record):
    """A short-circuit of an answer the human scored above the zero band."""

    item_id: str
    human: float | None
    code: str | None
    reason: str | None


class PrefilterStats(Record):
    n: int
    short_circuited: int
    errors: int
    precision: float | None
    recall: float | None
    human_low: int = Field(description="Answers the humans scored <= zero_band.")
    zero_band: float
    error_items: list[PrefilterError]
    by_code: dict[str, int]
    answers_saved_share: float | None
    judge_calls_saved: float
    judge_calls_saved_share: float | None


class Cost(Record):
    answers: int
    seconds_per_answer: float
    seconds_p50: float
    seconds_p95: float
    judge_seconds_per_answer: float
    judge_calls: int
    judge_calls_per_answer: float
    prompt_tokens: int
    completion_tokens: int
    tokens_per_answer: float


class Counts(Record):
    answers: int
    graded: int
    short_circuited: int
    ungraded: int
    ungraded_reasons: dict[str, int]


class Point(Record):
    """One answer in the scatter plot (scores on 0-10)."""

    id: str
    q: str
    human: float | None
    pred: float | None
    raw: float | None
    cal: float | None
    status: str


class RunSummary(Record):
    """``metrics.json``: every number of a run's report."""

    meta: RunMeta
    counts: Counts
    scores: Scores
    calibrated_cv: CalibratedAgreement | None
    ceiling: Ceiling | None
    confusion: Confusion
    labels: Labels | None
    labels_calibrated_cv: Labels | None
    per_question: list[QuestionAgreement]
    criteria: Criteria | None
    prefilter: PrefilterStats
    cost: Cost
    points: list[Point]

"""One table comparing configurations (each run directory's metrics.json)."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from grader.errors import DatasetError
from grader.evaluation.records import Labels, RunSummary, ScoreAgreement
from grader.evaluation.report import Table, fmt, with_ci

HEAD = [
    "dataset",
    "configuration",
    "n",
    "QWK [95% CI]",
    "Pearson",
    "Spearman",
    "MAE",
    "RMSE",
    "exact",
    "adjacent",
    "bias",
    "2-way acc",
    "2-way macro-F1",
    "prefilter precision",
    "s/answer",
    "judge calls/answer",
]


def load_summary(run_dir: Path) -> RunSummary:
    path = run_dir / "metrics.json"
    if not path.is_file():
        raise DatasetError(
            f"{path} not found: run `grader eval DATASET --out {run_dir}` (or "
            f"`grader eval report {run_dir}`) first"
        )
    try:
        return RunSummary.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise DatasetError(f"{path} is not a `grader eval` metrics.json: {exc}") from None


def _row(
    dataset: str,
    name: str,
    s: ScoreAgreement,
    labels: Labels | None,
    run: RunSummary | None,
) -> list[str]:
    """One row; ``run`` gives the prefilter and cost columns (blank without it)."""
    two = labels.two_way if labels else None
    return [
        dataset,
        name,
        fmt(int(s.n or 0)),
        with_ci(s, "qwk"),
        fmt(s.pearson),
        fmt(s.spearman),
        fmt(s.mae),
        fmt(s.rmse),
        fmt(s.exact),
        fmt(s.adjacent),
        fmt(s.bias),
        fmt(two.accuracy if two else None),
        fmt(two.macro_f1 if two else None),
        fmt(run.prefilter.precision if run else None),
        fmt(run.cost.seconds_per_answer if run else None),
        fmt(run.cost.judge_calls_per_answer if run else None),
    ]


def compare_table(summaries: list[RunSummary]) -> Table:
    """Rows: each run, its cross-validated isotonic variant, and each dataset's human ceiling."""
    rows = []
    ceilings: dict[str, list[str]] = {}
    for s in summaries:
        meta = s.meta
        ds = meta.dataset_name + (f" (n={meta.sample})" if meta.sample else "")
        rows.append(_row(ds, meta.config, s.scores.grader, s.labels, s))
        if s.calibrated_cv:
            name = f"{meta.config} + isotonic (CV)"
            rows.append(_row(ds, name, s.calibrated_cv, s.labels_calibrated_cv, None))
        ceiling = s.ceiling
        if ceiling and ds not in ceilings:
            a, b = ceiling.graders
            name = f"human ceiling ({a} vs {b})"
            ceilings[ds] = _row(ds, name, ceiling.human_vs_human, None, None)
    return HEAD, rows + list(ceilings.values())


def compare_markdown(summaries: list[RunSummary]) -> str:
    head, rows = compare_table(summaries)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    note = (
        "Scores on 0-10. '+ isotonic (CV)' rows: the run's raw scores mapped by a monotone "
        "map fitted on other folds (grouped by question), so they are out-of-sample."
    )
    return "\n".join(lines) + "\n\n" + note + "\n"

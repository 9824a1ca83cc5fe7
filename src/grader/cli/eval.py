"""``grader eval …``: run evaluations, compare configurations, fit calibrations.

``grader eval DATASET`` is short for ``grader eval run DATASET``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from grader.cli.console import err, out

if TYPE_CHECKING:
    from typer._click.core import Context

    from grader.evaluation.configs import EvalConfig
    from grader.evaluation.records import RunSummary


class _RunByDefault(TyperGroup):
    """Treat ``grader eval DATASET …`` as ``grader eval run DATASET …``."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(
    cls=_RunByDefault,
    help="Measure agreement with human graders: `grader eval nn46 --config prefilter-only`.",
    no_args_is_help=True,
)


def _run_dir(
    out_dir: Path | None, dataset: str, config: str, sample: int | None, many: bool
) -> Path:
    if out_dir is not None:
        return out_dir / config if many else out_dir
    name = dataset.replace("/", "_").replace(":", "-").removesuffix(".jsonl")
    name = Path(name).name + (f"-s{sample}" if sample else "")
    return Path("eval-runs") / name / config


@eval_app.command("run")
def run(
    dataset: Annotated[
        str,
        typer.Argument(
            help="nn46 | nn46-holdout | mohler | semeval-scientsbank | semeval-beetle | PATH"
        ),
    ],
    config: Annotated[
        list[str] | None,
        typer.Option("--config", "-c", help="evals/configs/<NAME>.yaml or a FILE; repeatable."),
    ] = None,
    sample: Annotated[
        int | None, typer.Option(help="Stratified sample of N answers (question x score band).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for sampling, bootstrap and folds.")] = 0,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Run directory.")] = None,
    threshold: Annotated[
        float, typer.Option(help="Normalised score from which a label is 'correct'.")
    ] = 0.5,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the CIs.")] = 1000,
    folds: Annotated[int, typer.Option(help="Folds of the calibration cross-validation.")] = 5,
    datasets_dir: Annotated[
        Path | None, typer.Option(help="External datasets (default GRADER_DATASETS_DIR).")
    ] = None,
) -> None:
    """Grade a labelled dataset with one or more configurations and write the reports."""
    from grader.evaluation.compare import compare_markdown
    from grader.evaluation.configs import load_config

    names = config or [None]  # type: ignore[list-item]
    configs = [load_config(n) for n in names]
    summaries = []
    extra: dict[str, Any] = {"datasets_dir": datasets_dir} if datasets_dir else {}
    for cfg in configs:
        run_dir = _run_dir(out_dir, dataset, cfg.name, sample, len(configs) > 1)
        summaries.append(
            _run_one(dataset, cfg, run_dir, sample, seed, extra, threshold, bootstrap, folds)
        )
    if len(summaries) > 1:
        table = compare_markdown(summaries)
        target = (out_dir or _run_dir(None, dataset, "x", sample, False).parent) / "compare.md"
        target.write_text(table, encoding="utf-8")
        out.print(table, markup=False, highlight=False)
        err.print(f"comparison written to {target}")


def _run_one(
    dataset: str,
    cfg: EvalConfig,
    run_dir: Path,
    sample: int | None,
    seed: int,
    extra: dict[str, Any],
    threshold: float,
    n_boot: int,
    folds: int,
) -> RunSummary:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from grader.evaluation.harness import run_eval
    from grader.evaluation.report import write_reports
    from grader.evaluation.summary import summarise

    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("[dim]{task.fields[item]}"),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(f"{cfg.name}: loading models", total=None, item="")

        def tick(done: int, total: int, item: str) -> None:
            bar.update(task, description=cfg.name, completed=done, total=total, item=item)

        outcome = run_eval(
            dataset, cfg, run_dir, sample=sample, seed=seed, overrides=extra, progress=tick
        )
        bar.update(
            task, description=cfg.name, completed=outcome.graded_now, total=outcome.graded_now
        )
    summary = summarise(
        outcome.records, outcome.meta, threshold=threshold, n_boot=n_boot, seed=seed, folds=folds
    )
    paths = write_reports(summary, run_dir)
    _print_headline(summary, outcome.skipped)
    err.print("reports: " + ", ".join(str(p) for p in paths))
    return summary


def _print_headline(summary: RunSummary, skipped: int) -> None:
    from rich.table import Table

    from grader.evaluation.report import SCORE_HEAD, score_row

    c, meta = summary.counts, summary.meta
    table = Table(title=f"{meta.dataset_name} / {meta.config}")
    for col in SCORE_HEAD:
        table.add_column(col)
    table.add_row(*score_row("grader vs human", summary.scores.grader))
    if summary.calibrated_cv:
        table.add_row(*score_row("+ isotonic (CV)", summary.calibrated_cv))
    if summary.ceiling:
        table.add_row(*score_row("human ceiling", summary.ceiling.human_vs_human))
    out.print(table)
    if summary.labels:
        t = summary.labels.two_way
        out.print(f"2-way accuracy {t.accuracy}, macro-F1 {t.macro_f1}")
    p = summary.prefilter
    out.print(
        f"{c.answers} answers ({skipped} resumed from cache): {c.graded} graded, "
        f"{c.short_circuited} short-circuited ({p.errors} prefilter errors), "
        f"{c.ungraded} ungraded; {summary.cost.seconds_per_answer:.3f} s/answer"
    )


@eval_app.command("compare")
def compare(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run directories (with metrics.json).")],
    output: Annotated[Path | None, typer.Option("--out", help="Also write Markdown here.")] = None,
) -> None:
    """One table comparing runs (configurations), with the human ceiling where known."""
    from grader.evaluation.compare import compare_markdown, load_summary

    text = compare_markdown([load_summary(d) for d in run_dirs])
    out.print(text, markup=False, highlight=False)
    if output:
        output.write_text(text, encoding="utf-8")


@eval_app.command("report")
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (results.jsonl + run.json).")],
    threshold: Annotated[float, typer.Option()] = 0.5,
    bootstrap: Annotated[int, typer.Option()] = 1000,
    folds: Annotated[int, typer.Option()] = 5,
    seed: Annotated[int, typer.Option()] = 0,
) -> None:
    """Recompute metrics and rewrite the reports of a run without grading anything."""
    from grader.evaluation.harness import load_run
    from grader.evaluation.report import write_reports
    from grader.evaluation.summary import summarise

    records, meta = load_run(run_dir)
    summary = summarise(
        records, meta, threshold=threshold, n_boot=bootstrap, seed=seed, folds=folds
    )
    for p in write_reports(summary, run_dir):
        err.print(f"wrote {p}")


@eval_app.command("calibrate")
def calibrate(
    run_dir: Annotated[Path, typer.Argument(help="A run directory of the judge to calibrate.")],
    output: Annotated[Path, typer.Option("--out", help="Calibration JSON to write.")],
) -> None:
    """Fit the isotonic score map on every graded answer of a run (GRADER_CALIBRATION_PATH)."""
    from grader.evaluation.calibration import fit_isotonic
    from grader.evaluation.harness import load_run
    from grader.evaluation.summary import paired, to_row

    records, meta = load_run(run_dir)
    graded = [row for row in map(to_row, records) if row.status == "graded"]
    human, raw = paired(graded, lambda row: row.raw)
    cal = fit_isotonic(
        [v / 10 for v in raw],
        [v / 10 for v in human],
        fitted_on=f"{meta.dataset_name} / {meta.config} ({meta.config_hash})",
    )
    cal.save(output)
    err.print(f"wrote {output}: {len(cal.x)} thresholds from {cal.n} graded answers ({cal.name})")


@eval_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of a labelled-dataset line (JSONL)."""
    from grader.evaluation.labelled import labelled_answer_schema

    sys.stdout.write(json.dumps(labelled_answer_schema(), indent=2) + "\n")

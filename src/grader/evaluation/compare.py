"""One table comparing configurations (each run directory's metrics.json)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grader.errors import DatasetError
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


def load_summary(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "metrics.json"
    if not path.is_file():
        raise DatasetError(
            f"{path} not found: run `grader eval DATASET --out {run_dir}` (or "
            f"`grader eval report {run_dir}`) first"
        )
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _row(
    dataset: str,
    name: str,
    s: dict[str, Any],
    labels: dict[str, Any] | None,
    extra: dict[str, Any] | None,
) -> list[str]:
    two = (labels or {}).get("2way") or {}
    pre = (extra or {}).get("prefilter") or {}
    cost = (extra or {}).get("cost") or {}
    return [
        dataset,
        name,
        fmt(int(s.get("n") or 0)),
        with_ci(s, "qwk"),
        fmt(s.get("pearson")),
        fmt(s.get("spearman")),
        fmt(s.get("mae")),
        fmt(s.get("rmse")),
        fmt(s.get("exact")),
        fmt(s.get("adjacent")),
        fmt(s.get("bias")),
        fmt(two.get("accuracy")),
        fmt(two.get("macro_f1")),
        fmt(pre.get("precision")),
        fmt(cost.get("seconds_per_answer")),
        fmt(cost.get("judge_calls_per_answer")),
    ]


def compare_table(summaries: list[dict[str, Any]]) -> Table:
    """Rows: each run, its cross-validated isotonic variant, and each dataset's human ceiling."""
    rows = []
    ceilings: dict[str, list[str]] = {}
    for s in summaries:
        meta = s["meta"]
        ds = meta["dataset_name"] + (f" (n={meta['sample']})" if meta.get("sample") else "")
        rows.append(_row(ds, meta["config"], s["scores"]["grader"], s.get("labels"), s))
        if s.get("calibrated_cv"):
            rows.append(
                _row(
                    ds,
                    f"{meta['config']} + isotonic (CV)",
                    s["calibrated_cv"],
                    s.get("labels_calibrated_cv"),
                    None,
                )
            )
        ceiling = s.get("ceiling")
        if ceiling and ds not in ceilings:
            a, b = ceiling["graders"]
            ceilings[ds] = _row(
                ds, f"human ceiling ({a} vs {b})", ceiling["human_vs_human"], None, None
            )
    return HEAD, rows + list(ceilings.values())


def compare_markdown(summaries: list[dict[str, Any]]) -> str:
    head, rows = compare_table(summaries)
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    note = (
        "Scores on 0-10. '+ isotonic (CV)' rows: the run's raw scores mapped by a monotone "
        "map fitted on other folds (grouped by question), so they are out-of-sample."
    )
    return "\n".join(lines) + "\n\n" + note + "\n"

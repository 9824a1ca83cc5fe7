"""Report figures as base64 PNG (matplotlib, imported lazily, Agg backend)."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np

from grader.evaluation.records import Point, QuestionAgreement, RunSummary


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _pyplot().close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def scatter(points: list[Point], title: str) -> str:
    """Predicted vs human score (0-10) with the diagonal; short-circuits in a second colour."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.2, 5.0))
    rng = np.random.default_rng(0)  # jitter only separates stacked discrete points
    for status, colour in (("graded", "tab:blue"), ("short_circuited", "tab:red")):
        pts = [p for p in points if p.status == status and p.human is not None]
        if not pts:
            continue
        h = np.array([p.human for p in pts]) + rng.uniform(-0.12, 0.12, len(pts))
        g = np.array([p.pred for p in pts]) + rng.uniform(-0.12, 0.12, len(pts))
        ax.scatter(h, g, s=12, alpha=0.45, c=colour, label=f"{status} ({len(pts)})")
    ax.plot([0, 10], [0, 10], color="grey", lw=1, ls="--", label="agreement")
    ax.set(
        xlim=(-0.5, 10.5),
        ylim=(-0.5, 10.5),
        xlabel="human score (0-10)",
        ylabel="grader score (0-10)",
        title=title,
    )
    ax.legend(loc="upper left", fontsize=8)
    return _png(fig)


def heatmap(
    matrix: list[list[int]], labels: list[Any], title: str, xlabel: str, ylabel: str
) -> str:
    """A confusion matrix with counts written in the cells."""
    plt = _pyplot()
    data = np.asarray(matrix)
    size = 2.2 + 0.42 * len(labels)
    fig, ax = plt.subplots(figsize=(size + 0.8, size))
    im = ax.imshow(data, cmap="Blues")
    ax.set_xticks(range(len(labels)), [str(x) for x in labels], fontsize=8)
    ax.set_yticks(range(len(labels)), [str(x) for x in labels], fontsize=8)
    top = data.max() if data.size else 0
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            if data[i, j]:
                colour = "white" if data[i, j] > top / 2 else "black"
                ax.text(j, i, str(data[i, j]), ha="center", va="center", fontsize=7, color=colour)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    fig.colorbar(im, ax=ax, shrink=0.8)
    return _png(fig)


def question_bars(per_question: list[QuestionAgreement], title: str) -> str:
    """Exact and adjacent (±1) agreement per question, worst first."""
    plt = _pyplot()
    rows = sorted(per_question, key=lambda q: (q.adjacent or 0, q.exact or 0))
    names = [q.question_id[:28] for q in rows]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(7.0, 1.2 + 0.18 * len(rows)))
    ax.barh(
        y,
        [q.adjacent or 0 for q in rows],
        color="tab:blue",
        alpha=0.45,
        label="adjacent (±1)",
    )
    ax.barh(y, [q.exact or 0 for q in rows], color="tab:blue", label="exact")
    ax.set_yticks(y, names, fontsize=6 if len(rows) > 50 else 8)
    ax.set(xlim=(0, 1), xlabel="share of answers in agreement with the human score", title=title)
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def figures(summary: RunSummary) -> dict[str, str]:
    """Every figure of the HTML report, by name."""
    name = summary.meta.dataset_name
    out = {
        "scatter": scatter(summary.points, f"{name}: grader vs human"),
        "confusion": heatmap(
            summary.confusion.matrix,
            list(summary.confusion.labels),
            "score confusion (rounded 0-10)",
            "grader",
            "human",
        ),
    }
    if summary.per_question:
        out["questions"] = question_bars(summary.per_question, "agreement per question")
    labels = summary.labels
    tasks = (("3way", labels.three_way), ("2way", labels.two_way)) if labels else ()
    for key, t in tasks:
        if t is not None:
            out[f"labels_{key}"] = heatmap(
                t.confusion, list(t.labels), f"{key} labels", "grader", "human"
            )
    return out

"""Evaluation reports: Markdown, self-contained HTML (figures inlined) and JSON.

A report is a list of sections (title, paragraphs, tables) built once from the
:class:`RunSummary` and rendered to both formats, so they always say the same thing.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.evaluation.records import CriterionAgreement, RunSummary, ScoreAgreement

Table = tuple[list[str], list[list[str]]]
CRITERIA_IN_MARKDOWN = 15


@dataclass
class Section:
    title: str
    text: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # names from plots.figures


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def with_ci(stats: ScoreAgreement, key: str) -> str:
    ci = stats.interval(key)
    base = fmt(stats.metric(key))
    return f"{base} [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else base


SCORE_HEAD = [
    "comparison",
    "n",
    "QWK [95% CI]",
    "Pearson [95% CI]",
    "Spearman",
    "MAE [95% CI]",
    "RMSE",
    "exact",
    "adjacent ±1",
    "bias",
]


def score_row(label: str, s: ScoreAgreement) -> list[str]:
    return [
        label,
        fmt(int(s.n or 0)),
        with_ci(s, "qwk"),
        with_ci(s, "pearson"),
        fmt(s.spearman),
        with_ci(s, "mae"),
        fmt(s.rmse),
        fmt(s.exact),
        fmt(s.adjacent),
        fmt(s.bias),
    ]


def _scores_section(s: RunSummary) -> Section:
    rows = [score_row("grader vs human", s.scores.grader)]
    if s.calibrated_cv:
        rows.append(score_row("grader + isotonic map (cross-validated)", s.calibrated_cv))
    ceiling = s.ceiling
    if ceiling:
        a, b = ceiling.graders
        rows.append(score_row(f"human ceiling: {a} vs {b}", ceiling.human_vs_human))
        for g, stats in ceiling.grader_vs.items():
            rows.append(score_row(f"grader vs {g}", stats))
    text = [
        "Scores on 0-10; QWK, exact and adjacent agreement on scores rounded half up. "
        "Bias > 0: the grader is more generous than the humans."
    ]
    native = s.scores.native
    if native:
        text.append(
            f"Native scale (0-{native.max_score:g}): Pearson {fmt(native.pearson)}, "
            f"RMSE {fmt(native.rmse)}, MAE {fmt(native.mae)}, "
            f"bias {fmt(native.bias)}."
        )
    if s.calibrated_cv:
        text.append(
            f"The isotonic row maps raw scores with a monotone map fitted on the other "
            f"folds ({s.calibrated_cv.folds} folds grouped by question)."
        )
    return Section(
        "Agreement with human scores", text, [(SCORE_HEAD, rows)], ["scatter", "confusion"]
    )


def _labels_section(s: RunSummary) -> Section | None:
    labels = s.labels
    if not labels:
        return None
    classes = labels.two_way.labels
    head = ["task", "n", "accuracy", "macro-F1", *[f"F1 {c}" for c in classes]]
    rows = []
    for name, block in (("", labels), (" + isotonic (CV)", s.labels_calibrated_cv)):
        if block is None:
            continue
        for key, t in (("2way", block.two_way), ("3way", block.three_way)):
            if t is not None:
                f1 = [fmt(t.per_class[c].f1 if c in t.per_class else None) for c in classes]
                rows.append([key + name, str(t.n), fmt(t.accuracy), fmt(t.macro_f1), *f1])
    text = [
        f"Predicted label: correct when the normalised score >= {labels.threshold:g}, "
        "otherwise incorrect (the grader never predicts 'contradictory')."
    ]
    figs = ["labels_3way"] if labels.three_way else []
    figs.append("labels_2way")
    return Section("Classification", text, [(head, rows)], figs)


def _prefilter_section(s: RunSummary) -> Section:
    p = s.prefilter
    rows = [
        [
            fmt(p.n),
            fmt(p.short_circuited),
            fmt(p.errors),
            fmt(p.precision),
            fmt(p.recall),
            fmt(p.answers_saved_share),
            fmt(p.judge_calls_saved_share),
        ]
    ]
    head = [
        "answers",
        "short-circuited",
        "errors",
        "precision",
        "recall",
        "answers saved",
        "judge calls saved",
    ]
    text = [
        f"A short-circuit (score 0 without the judge) is an error when the human gave more "
        f"than {p.zero_band:g}/10. Recall is over answers humans scored <= "
        f"{p.zero_band:g}/10 ({p.human_low}). By reason: "
        + (", ".join(f"{k} {v}" for k, v in sorted(p.by_code.items())) or "none")
        + "."
    ]
    tables: list[Table] = [(head, rows)]
    if p.error_items:
        tables.append(
            (
                ["item", "human", "code", "reason"],
                [
                    [e.item_id, fmt(e.human, 1), str(e.code), str(e.reason)[:90]]
                    for e in p.error_items
                ],
            )
        )
    return Section("Prefilter", text, tables)


def _criterion_row(r: CriterionAgreement) -> list[str]:
    rates = (r.agreement, r.met_accuracy, r.met_f1, r.human_met_rate, r.pred_met_rate)
    return [r.question_id, r.criterion_id, fmt(r.n), *map(fmt, rates)]


def _criteria_sections(s: RunSummary, limit: int | None) -> list[Section]:
    c = s.criteria
    if not c:
        return []
    o = c.overall
    text = [
        f"{o.n} criterion verdicts: 3-way agreement {fmt(o.agreement)}, met-vs-not "
        f"accuracy {fmt(o.met_accuracy)}, F1(met) {fmt(o.met_f1)}; humans say met "
        f"{fmt(o.human_met_rate)}, the grader {fmt(o.pred_met_rate)}."
    ]
    verdicts = ["not_met", "partial", "met"]
    confusion = [
        [f"human {v}", *map(str, row)] for v, row in zip(verdicts, o.confusion or [], strict=True)
    ]
    overall = Section(
        "Rubric criteria", text, [(["", *[f"grader {v}" for v in verdicts]], confusion)]
    )
    per = sorted(c.per_criterion, key=lambda r: (r.agreement or 0, r.question_id))
    note = ["Sorted by 3-way agreement, lowest first."]
    if limit is not None and len(per) > limit:
        note = [f"The {limit} lowest of {len(per)} (all in report.html and metrics.json)."]
        per = per[:limit]
    head = ["question", "criterion", "n", "agreement", "met accuracy", "F1 met", "human met",
            "grader met"]  # fmt: skip
    rows = [_criterion_row(r) for r in per]
    return [overall, Section("Per criterion", note, [(head, rows)])]


def _questions_section(s: RunSummary) -> Section:
    head = [
        "question",
        "n",
        "mean human",
        "mean grader",
        "MAE",
        "exact",
        "adjacent",
        "QWK",
        "Pearson",
    ]
    rows = [
        [
            q.question_id,
            fmt(int(q.n)),
            fmt(q.mean_human, 2),
            fmt(q.mean_pred, 2),
            fmt(q.mae, 2),
            fmt(q.exact, 2),
            fmt(q.adjacent, 2),
            fmt(q.qwk, 2),
            fmt(q.pearson, 2),
        ]
        for q in s.per_question
    ]
    return Section("Per question", [], [(head, rows)], ["questions"])


def _cost_section(s: RunSummary) -> Section:
    c, n = s.cost, s.counts
    text = [
        f"{n.answers} answers: {n.graded} graded, {n.short_circuited} "
        f"short-circuited, {n.ungraded} ungraded (excluded from every metric)."
    ]
    text += [f"Ungraded ({k}): {v}" for k, v in n.ungraded_reasons.items()]
    head = [
        "s/answer",
        "p50 s",
        "p95 s",
        "judge s/answer",
        "judge calls",
        "calls/answer",
        "prompt tokens",
        "completion tokens",
        "tokens/answer",
    ]
    row = [
        fmt(c.seconds_per_answer),
        fmt(c.seconds_p50),
        fmt(c.seconds_p95),
        fmt(c.judge_seconds_per_answer),
        fmt(c.judge_calls),
        fmt(c.judge_calls_per_answer),
        fmt(c.prompt_tokens),
        fmt(c.completion_tokens),
        fmt(c.tokens_per_answer),
    ]
    return Section("Cost", text, [(head, [row])])


def sections(s: RunSummary, criteria_limit: int | None = None) -> list[Section]:
    meta = s.meta
    sample = f", stratified sample of {meta.sample} with seed {meta.seed}" if meta.sample else ""
    head = Section(
        "Run",
        [
            f"Dataset **{meta.dataset_name}** ({meta.dataset_size} answers{sample}).",
            f"Config **{meta.config}** ({meta.config_description or 'no description'}): "
            f"judge `{meta.judge}`, embedder `{meta.embedder}`, calibration "
            f"`{meta.calibration or 'none'}`, config hash `{meta.config_hash}`.",
            *meta.notes,
        ],
    )
    found = [
        head,
        _scores_section(s),
        _labels_section(s),
        _prefilter_section(s),
        *_criteria_sections(s, criteria_limit),
        _questions_section(s),
        _cost_section(s),
    ]
    return [x for x in found if x is not None]


# --------------------------------------------------------------------------- rendering


def _md_table(table: Table) -> str:
    head, rows = table
    esc = [[c.replace("|", "\\|") for c in row] for row in rows]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in esc])


def to_markdown(parts: list[Section], title: str) -> str:
    out = [f"# {title}"]
    for sec in parts:
        out.append(f"\n## {sec.title}\n")
        out += [t + "\n" for t in sec.text]
        out += [_md_table(t) + "\n" for t in sec.tables]
    return "\n".join(out).rstrip() + "\n"


def _html_text(text: str) -> str:
    escaped = html.escape(text)
    while "**" in escaped:
        escaped = escaped.replace("**", "<b>", 1).replace("**", "</b>", 1)
    parts = escaped.split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _html_table(table: Table) -> str:
    head, rows = table
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;
color:#222}table{border-collapse:collapse;margin:.8em 0;font-size:.85em}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left}th{background:#f3f3f3}
img{max-width:100%;margin:.5em 1em .5em 0;vertical-align:top}code{background:#f3f3f3}"""


def to_html(parts: list[Section], title: str, images: dict[str, str]) -> str:
    body = [f"<h1>{html.escape(title)}</h1>"]
    for sec in parts:
        body.append(f"<h2>{html.escape(sec.title)}</h2>")
        body += [f"<p>{_html_text(t)}</p>" for t in sec.text]
        body += [_html_table(t) for t in sec.tables]
        body += [
            f'<img alt="{n}" src="data:image/png;base64,{images[n]}">'
            for n in sec.figures
            if n in images
        ]
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


def write_reports(summary: RunSummary, out_dir: Path) -> list[Path]:
    """metrics.json, report.md and report.html in ``out_dir``."""
    from grader.evaluation.plots import figures

    title = f"Evaluation: {summary.meta.dataset_name} with {summary.meta.config}"
    paths = [out_dir / "metrics.json", out_dir / "report.md", out_dir / "report.html"]
    paths[0].write_text(json.dumps(summary.to_json(), indent=1) + "\n", encoding="utf-8")
    paths[1].write_text(to_markdown(sections(summary, CRITERIA_IN_MARKDOWN), title), "utf-8")
    paths[2].write_text(to_html(sections(summary), title, figures(summary)), encoding="utf-8")
    return paths

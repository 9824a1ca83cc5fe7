"""``grader transcript``: grade a whole interview and write its report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from grader.cli.console import err
from grader.cli.loading import make_grader


def transcript(
    file: Annotated[Path, typer.Argument(help="JSON, Markdown or text transcript (UTF-8).")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="json, md or html (default: from -o, else md).")
    ] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")] = None,
) -> None:
    """Grade a whole interview: match each question to the bank, grade, roll up a report."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from grader.transcripts.grade import grade_transcript
    from grader.transcripts.parse import read_transcript
    from grader.transcripts.render import render

    suffix = output.suffix.lower().lstrip(".") if output else ""
    fmt = fmt or {"json": "json", "md": "md", "markdown": "md", "html": "html"}.get(suffix, "md")
    if fmt not in ("json", "md", "html"):
        raise typer.BadParameter("use --format json, md or html", param_hint="--format")
    parsed = read_transcript(file)
    grader = make_grader()
    columns = (*Progress.get_default_columns()[:2], BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task("grading answers", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        report = grade_transcript(grader, parsed, progress=progress)
    text = render(report, fmt)  # type: ignore[arg-type]
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
        o = report.overall
        err.print(
            f"report written to {output}: overall {o.percent}% ({o.scored} scored)",
            soft_wrap=True,
            highlight=False,
            markup=False,
        )

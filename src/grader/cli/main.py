"""Command line: ``grader bank validate``, ``grader questions``, ``grader grade`` …

Commands stay thin: they parse arguments, call the library and render.
Heavy libraries (torch, llama_cpp) are imported inside the commands that need them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from grader.errors import BankError, GraderError
from grader.evaluation.cli import eval_app

if TYPE_CHECKING:
    from grader.bank.loader import QuestionBank
    from grader.grading.pipeline import Grader

app = typer.Typer(
    help="Grade free-text answers to neural-network interview questions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bank_app = typer.Typer(
    help="Validate a question bank and publish its schema.", no_args_is_help=True
)
app.add_typer(bank_app, name="bank")
app.add_typer(eval_app, name="eval")
out = Console()
err = Console(stderr=True)

BankDir = Annotated[
    Path | None, typer.Option("--bank", help="Bank directory (default GRADER_BANK_DIR).")
]


def _bank(directory: Path | None) -> QuestionBank:
    from grader.bank.loader import load_bank
    from grader.config import get_settings

    return load_bank(directory or get_settings().bank_dir)


@bank_app.command("validate")
def bank_validate(
    directory: Annotated[Path | None, typer.Argument(help="Bank directory.")] = None,
) -> None:
    """Validate every rubric and reference answer; print every problem, one per line."""
    from grader.bank.loader import load_bank
    from grader.config import get_settings

    root = directory or get_settings().bank_dir
    try:
        bank = load_bank(root)
    except BankError as exc:
        for problem in exc.problems:
            err.print(str(problem), markup=False, highlight=False)
        err.print(f"[red]{len(exc.problems)} problem(s) in {root}[/red]")
        raise typer.Exit(1) from None
    out.print(
        f"[green]OK[/green] {len(bank)} questions in {root} (content hash {bank.content_hash})"
    )


@bank_app.command("from-references")
def bank_from_references(
    file: Annotated[Path, typer.Argument(help="JSONL: question_id, question, reference_answer.")],
    out_dir: Annotated[Path, typer.Argument(help="New bank directory to write.")],
) -> None:
    """Build a bank whose rubrics are derived from model answers (one criterion per clause)."""
    from grader.bank.builder import bank_from_references, read_reference_items, write_bank

    bank = write_bank(bank_from_references(read_reference_items(file)), out_dir)
    out.print(f"[green]OK[/green] {len(bank)} questions written to {out_dir} (validated)")


@bank_app.command("schema")
def bank_schema() -> None:
    """Print the JSON Schema of rubric files (point your editor's YAML plugin at it)."""
    from grader.bank.loader import rubric_json_schema_text

    sys.stdout.write(rubric_json_schema_text())


@app.command("questions")
def questions(bank_dir: BankDir = None) -> None:
    """List the bank as a table."""
    from rich.table import Table

    bank = _bank(bank_dir)
    table = Table(title=f"{len(bank)} questions")
    for col in ("#", "id", "question", "topics", "criteria"):
        table.add_column(col, overflow="fold")
    for q in bank:
        table.add_row(
            str(q.number), q.id, q.text, ", ".join(q.rubric.topics), str(len(q.rubric.criteria))
        )
    out.print(table)


@app.command("question")
def question(
    key: Annotated[str, typer.Argument(help="Question number or id.")],
    bank_dir: BankDir = None,
) -> None:
    """Show one question: rubric and reference answer."""
    from rich.markdown import Markdown

    q = _bank(bank_dir).get(key)
    r = q.rubric
    out.print(
        f"[bold]{q.number}. {q.text}[/bold]  ({q.id}, v{r.version}, topics: "
        f"{', '.join(r.topics)})\n"
    )
    out.print(f"[bold]Criteria[/bold] ({r.max_points:g} points)")
    for c in r.criteria:
        out.print(f"  [cyan]{c.points:g}[/cyan]  {c.id}: {c.description}", highlight=False)
        if c.partial_credit:
            out.print(f"        partial: {c.partial_credit}", style="dim", highlight=False)
    if r.misconceptions:
        out.print("[bold]Misconceptions[/bold]")
        for m in r.misconceptions:
            out.print(f"  [red]-{m.penalty:g}[/red]  {m.id}: {m.description}", highlight=False)
            out.print(f"        correction: {m.correction}", style="dim", highlight=False)
    out.print("\n[bold]Reference answer[/bold]")
    out.print(Markdown(q.reference.text))


@app.command("grade")
def grade(
    answer: Annotated[
        str | None, typer.Argument(help="Answer text; '-' or omitted reads stdin.")
    ] = None,
    question_key: Annotated[
        str, typer.Option("--question", "-q", help="Question number or id.")
    ] = "",
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the answer from a file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the GradeResult as JSON.")] = False,
) -> None:
    """Grade one answer and print the score, rubric verdicts and feedback."""
    if not question_key:
        raise typer.BadParameter("give the question: --question 4 (or an id such as q04-…)")
    text = _read_answer(answer, file)
    grader = _make_grader()
    result = grader.grade(question_key, text)
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        from grader.cli.console import print_result

        print_result(result, out)
    if result.status == "ungraded":
        raise typer.Exit(3)


@app.command("transcript")
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
    grader = _make_grader()
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


def _read_answer(answer: str | None, file: Path | None) -> str:
    from grader.errors import InvalidAnswerError

    if file is not None:
        data = file.read_bytes()
    elif answer is None or answer == "-":
        data = sys.stdin.buffer.read()
    else:
        return answer
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidAnswerError("the answer is not UTF-8 text; save it as UTF-8") from None


def _make_grader() -> Grader:
    from grader.config import get_settings
    from grader.grading.pipeline import Grader

    settings = get_settings()
    if settings.judge == "local" and settings.local_model_path is None:
        from grader.grading.judges.local.model_files import MODEL_FILE

        if not (settings.cache_dir / "models" / MODEL_FILE).exists():
            _assemble_with_progress(settings.cache_dir)
    with err.status("loading models…"):
        return Grader(settings)


def _assemble_with_progress(cache_dir: Path) -> None:
    from rich.progress import Progress

    from grader.grading.judges.local.model_files import ensure_model

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("assembling the judge model (first run only)", total=None)
        ensure_model(cache_dir, lambda done, total: bar.update(task, completed=done, total=total))


@app.command("serve")
def serve(
    host: Annotated[
        str, typer.Option(envvar="GRADER_HOST", help="Interface; 0.0.0.0 for all.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="GRADER_PORT", help="TCP port.")] = 8000,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
    text_logs: Annotated[bool, typer.Option(help="Plain-text logs instead of JSON.")] = False,
) -> None:
    """Serve the HTTP API (models load once at start-up; docs at /docs)."""
    from grader.api.server import public_url
    from grader.api.server import serve as run_server
    from grader.config import get_settings

    settings = get_settings()
    if settings.judge == "local" and settings.local_model_path is None:
        from grader.grading.judges.local.model_files import MODEL_FILE

        if not (settings.cache_dir / "models" / MODEL_FILE).exists():
            _assemble_with_progress(settings.cache_dir)
    url = public_url(host, port)
    err.print(
        f"grader API on [bold]{url}[/bold] — interactive docs: [bold]{url}/docs[/bold] "
        "(loading models…)",
        highlight=False,
        soft_wrap=True,
    )
    run_server(settings, host, port, log_level, json_logs=not text_logs)


def main() -> None:
    try:
        app()
    except GraderError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)

"""The bank commands: ``grader bank validate | from-references | schema``, ``grader questions``
and ``grader question``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from grader.cli.console import err, out
from grader.errors import BankError

if TYPE_CHECKING:
    from grader.bank.loader import QuestionBank

bank_app = typer.Typer(
    help="Validate a question bank and publish its schema.", no_args_is_help=True
)

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

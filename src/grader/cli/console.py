"""The terminal: the commands' consoles and a readable, coloured GradeResult."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from grader.models import GradeResult

out = Console()  # results, on stdout
err = Console(stderr=True)  # progress, messages and errors, on stderr

_LEVEL_COLOUR = {
    "excellent": "green",
    "good": "green",
    "partial": "yellow",
    "weak": "red",
    "none": "red",
}
_VERDICT = {
    "met": "[green]✔ met[/green]",
    "partial": "[yellow]◐ partial[/yellow]",
    "not_met": "[red]✘ not met[/red]",
}


def print_result(result: GradeResult, console: Console) -> None:
    head = f"[bold]Question {result.question_number}[/bold] ({result.question_id})"
    if result.status == "ungraded":
        console.print(
            f"{head}: [bold magenta]UNGRADED[/bold magenta] — {escape(result.reason or '')}"
        )
        return
    colour = _LEVEL_COLOUR.get(result.level or "none", "white")
    short = "  [dim]short-circuited[/dim]" if result.status == "short_circuited" else ""
    console.print(
        f"{head}: [bold {colour}]{result.score:g}/{result.max_score:g}[/bold {colour}] "
        f"({result.level}){short}"
    )
    if result.feedback:
        console.print(escape(result.feedback.summary))
    if result.status == "graded":
        console.print("\n[bold]Rubric[/bold]")
        for v in result.criteria:
            p = f" p={v.probability:.2f}" if v.probability is not None else ""
            console.print(
                f"  {_VERDICT[v.verdict]} {v.awarded:g}/{v.max_points:g}{p}  "
                f"{escape(v.description)}"
            )
            if v.evidence:
                console.print(f"      [dim]“{escape(v.evidence[:200])}”[/dim]")
    for m in result.misconceptions:
        console.print(f"  [red]−{m.penalty:g} misconception:[/red] {escape(m.description)}")
        console.print(f"      [cyan]correction:[/cyan] {escape(m.correction)}")
    if result.feedback and result.feedback.to_add:
        console.print("\n[bold]To improve[/bold]")
        for item in result.feedback.to_add:
            console.print(f"  • {escape(item)}")
    if result.needs_review:
        console.print(
            "\n[bold yellow]Needs human review:[/bold yellow] "
            + escape("; ".join(result.review_reasons))
        )
    u = result.usage
    timing = ", ".join(f"{k} {v * 1000:.0f} ms" for k, v in u.seconds.items())
    console.print(
        f"\n[dim]judge calls {u.judge_calls}, tokens {u.prompt_tokens}, {timing}"
        f"{', cached' if u.cache_hit else ''}; config {result.provenance.config_hash}[/dim]"
    )

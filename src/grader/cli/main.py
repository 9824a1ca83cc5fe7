"""The ``grader`` command line, assembled from its command groups.

=================  =====================================================
module             commands
=================  =====================================================
``bank.py``        ``bank validate | from-references | schema``,
                   ``questions``, ``question``
``grade.py``       ``grade``
``transcript.py``  ``transcript``
``serve.py``       ``serve``
``eval.py``        ``eval run | compare | report | calibrate | schema``
``cache.py``       ``cache stats | prune``
=================  =====================================================

Commands stay thin: they parse arguments, call the library and render.  Heavy
libraries (torch, llama_cpp) are imported inside the commands that need them.
"""

from __future__ import annotations

import sys

import typer

from grader.cli import bank, cache, grade, serve, transcript
from grader.cli.console import err
from grader.cli.eval import eval_app
from grader.errors import GraderError

app = typer.Typer(
    help="Grade free-text answers to neural-network interview questions.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(bank.bank_app, name="bank")
app.add_typer(eval_app, name="eval")
app.add_typer(cache.cache_app, name="cache")
app.command("questions")(bank.questions)
app.command("question")(bank.question)
app.command("grade")(grade.grade)
app.command("transcript")(transcript.transcript)
app.command("serve")(serve.serve)


def main() -> None:
    try:
        app()
    except GraderError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(2)

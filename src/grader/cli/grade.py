"""``grader grade``: grade one answer and print the score, verdicts and feedback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from grader.cli.console import out
from grader.cli.loading import make_grader


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
    grader = make_grader()
    result = grader.grade(question_key, text)
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
    else:
        from grader.cli.console import print_result

        print_result(result, out)
    if result.status == "ungraded":
        raise typer.Exit(3)


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

"""The ``grader`` command line: its commands, and a ``--help`` that loads no model library."""

from __future__ import annotations

import re
import subprocess
import sys

from typer.testing import CliRunner

from conftest import REPO
from grader.cli.main import app

HEAVY = ("torch", "sentence_transformers", "llama_cpp", "transformers")


def _commands(help_text: str) -> list[str]:
    """Command names of a Typer help screen's 'Commands' panel, in order."""
    panel = help_text.split("Commands")[1]
    return re.findall(r"^│ (\S+) ", panel, flags=re.MULTILINE)


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    return result.output


def test_top_level_lists_every_command_and_group() -> None:
    expected = ["questions", "question", "grade", "transcript", "serve", "bank", "eval", "cache"]
    assert _commands(_help()) == expected


def test_eval_lists_its_commands() -> None:
    assert _commands(_help("eval")) == ["run", "compare", "report", "calibrate", "schema"]


def test_bank_lists_its_commands() -> None:
    assert _commands(_help("bank")) == ["validate", "from-references", "schema"]


def test_help_imports_no_model_library() -> None:
    code = (
        "import sys\n"
        "sys.argv = ['grader', '--help']\n"
        "from grader.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.splitlines()[-1] == "[]"


def test_questions_lists_the_bank() -> None:
    result = CliRunner().invoke(app, ["questions", "--bank", str(REPO)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "46 questions" in result.output and "q01-" in result.output

"""Load what a command needs: the local judge model on first use, then the Grader.

Heavy libraries (torch, sentence-transformers, llama_cpp) are imported here, inside
the functions, so ``grader --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from grader.cli.console import err

if TYPE_CHECKING:
    from grader.config import Settings
    from grader.grading.pipeline import Grader


def make_grader() -> Grader:
    """The Grader of the configured settings, behind a spinner."""
    from grader.config import get_settings
    from grader.grading.pipeline import Grader

    settings = get_settings()
    ensure_local_model(settings)
    with err.status("loading models…"):
        return Grader(settings)


def ensure_local_model(settings: Settings) -> None:
    """Assemble the embedded judge model on first use, with a progress bar."""
    from grader.grading.judges.registry import JudgeSpec

    if JudgeSpec.parse(settings.judge).kind == "local" and settings.local_model_path is None:
        from grader.grading.judges.local.model_files import MODEL_FILE

        if not (settings.cache_dir / "models" / MODEL_FILE).exists():
            _assemble_with_progress(settings.cache_dir)


def _assemble_with_progress(cache_dir: Path) -> None:
    from rich.progress import Progress

    from grader.grading.judges.local.model_files import ensure_model

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("assembling the judge model (first run only)", total=None)
        ensure_model(cache_dir, lambda done, total: bar.update(task, completed=done, total=total))

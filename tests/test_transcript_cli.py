"""``grader transcript FILE``: a real process with the fake embedder and judge on the real bank."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, REPO
from grader.transcripts.rollup import TranscriptReport

GRADER = Path(sys.executable).parent / "grader"
JANE = FIXTURES / "transcripts" / "jane-doe.json"


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {
        "GRADER_EMBEDDER": "fake",
        "GRADER_JUDGE": "fake",
        "GRADER_BANK_DIR": str(REPO),
        "GRADER_CACHE_DIR": str(tmp_path),
    }
    return subprocess.run(
        [str(GRADER), "transcript", *args], env=env, capture_output=True, text=True, timeout=120
    )


def test_json_report_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    done = run(tmp_path, str(JANE), "--format", "json", "-o", str(out))
    assert done.returncode == 0, done.stderr
    report = TranscriptReport.model_validate_json(out.read_text())
    assert report.candidate["name"] == "Jane Doe" and report.source == "jane-doe.json"
    assert len(report.items) == 8 and report.overall.scored >= 3
    assert f"report written to {out}" in done.stderr


def test_format_follows_the_output_suffix_and_markdown_goes_to_stdout(tmp_path: Path) -> None:
    html = run(tmp_path, str(JANE), "-o", str(tmp_path / "r.html"))
    assert html.returncode == 0, html.stderr
    assert (tmp_path / "r.html").read_text().startswith("<!doctype html>")
    md = run(tmp_path, str(JANE))
    assert md.returncode == 0 and md.stdout.startswith("# Interview report: Jane Doe")


def test_not_a_transcript_exits_2_with_the_reason(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("Shopping list: eggs, milk.\n")
    done = run(tmp_path, str(notes))
    assert done.returncode == 2
    assert "no question/answer turns found in notes.txt" in done.stderr
    assert "expected a transcript" in done.stderr


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    done = run(tmp_path, str(JANE), "--format", "pdf")
    assert done.returncode == 2 and "use --format json, md or html" in done.stderr

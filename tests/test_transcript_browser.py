"""The HTML report in real headless Chromium: it renders the overall score and every question.

Also keeps a screenshot as a test artifact: artifacts/transcript-report.png (git-ignored).
CI installs Debian's chromium in .ci/run; locally the test is skipped without it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest

from conftest import FIXTURES, REPO
from grader.config import Settings
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.testing import FakeEmbedder
from grader.testing.judge import FakeJudge
from grader.transcripts.grade import grade_transcript
from grader.transcripts.parse import parse_transcript
from grader.transcripts.render import render_html
from grader.transcripts.rollup import ItemReport, TranscriptReport

pytestmark = pytest.mark.server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACT = REPO / "artifacts" / "transcript-report.png"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PWNED = "<script>document.body.setAttribute('data-pwned','1')</script><img src=x onerror=\"document.body.setAttribute('data-pwned','2')\">"


def chromium(tmp_path: Path, *args: str) -> str:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium; .ci/run installs it)")
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> TranscriptReport:
    data = json.loads((FIXTURES / "transcripts" / "jane-doe.json").read_text())
    data["turns"].append({"question_id": "q25-gradient-clipping", "answer": PWNED})
    s = Settings(
        bank_dir=REPO, cache_dir=tmp_path_factory.mktemp("c"), embedder="fake", judge="fake"
    )
    grader = Grader(s, embedder=FakeEmbedder(), judge=FakeJudge(), store=ResultStore(":memory:"))
    return grade_transcript(grader, parse_transcript(json.dumps(data).encode()))


def title(item: ItemReport) -> str:
    if item.match is not None:
        return f"{item.match.question_number}. {item.match.bank_question}"
    return item.questions[0]


def test_report_renders_in_chromium_with_score_and_every_question(
    tmp_path: Path, report: TranscriptReport
) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    dom = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert 'id="overall" class="big" style="color:' in dom
    assert f">{report.overall.percent}%</div>" in dom
    text = unescape(dom)
    for item in report.items:
        assert title(item) in text, f"question {item.item} missing from the rendered page"
    assert dom.count("<details") == len(report.items)
    assert 'data-pwned="' not in dom  # the answer's script and onerror never ran


def test_report_screenshot_is_kept_as_an_artifact(tmp_path: Path, report: TranscriptReport) -> None:
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.unlink(missing_ok=True)
    chromium(tmp_path, "--window-size=1200,1800", f"--screenshot={ARTIFACT}", page.as_uri())
    data = ARTIFACT.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000  # a real, non-blank image

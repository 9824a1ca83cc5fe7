"""Rendering the transcript report: JSON round trip, Markdown, and a safe self-contained HTML page."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import TINY_BANK
from grader.config import Settings
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.testing import FakeEmbedder
from grader.testing.judge import FakeJudge
from grader.transcripts.grade import grade_transcript
from grader.transcripts.parse import parse_transcript
from grader.transcripts.render import render
from grader.transcripts.rollup import TranscriptReport

EVIL = (
    "Dropout randomly zeroes activations during training.</blockquote><script>alert('x')</script>"
    '<img src=x onerror="alert(1)"> <a href="javascript:alert(2)">link</a> & "quotes" \'single\''
)
TRANSCRIPT = {
    "candidate": {"name": "<b>Eve</b> O'Hara", "team": {"<i>x</i>": "y"}},
    "turns": [
        {"question": "<script>alert('q')</script> How was your day?", "answer": "<svg onload=x>"},
        {"question_id": "q01-dropout", "answer": EVIL},
        {"question_id": "q02-pooling", "answer": "Pooling downsamples | shrinks feature maps."},
    ],
}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> TranscriptReport:
    s = Settings(
        bank_dir=TINY_BANK, cache_dir=tmp_path_factory.mktemp("c"), embedder="fake", judge="fake"
    )
    grader = Grader(s, embedder=FakeEmbedder(), judge=FakeJudge(), store=ResultStore(":memory:"))
    return grade_transcript(grader, parse_transcript(json.dumps(TRANSCRIPT).encode()))


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(html: str) -> Tags:
    p = Tags()
    p.feed(html)
    return p


def test_json_is_the_report_round_trip(report: TranscriptReport) -> None:
    text = render(report, "json")
    assert TranscriptReport.model_validate_json(text) == report
    assert json.loads(text)["overall"]["scored"] == 2


def test_html_escapes_everything_from_the_transcript(report: TranscriptReport) -> None:
    html = render(report, "html")
    tags = parsed(html)
    names = {t for t, _ in tags.tags}
    assert "script" not in names and "img" not in names and "a" not in names and "i" not in names
    assert [t for t, _ in tags.tags].count("svg") == 1  # only the score ring, not '<svg onload'
    for _, attrs in tags.tags:
        assert not any(k.startswith("on") for k in attrs)
    text = "".join(tags.text)
    assert "<script>alert('x')</script>" in text  # shown as text, verbatim
    assert "<b>Eve</b> O'Hara" in text and '"quotes"' in text
    assert "&lt;script&gt;" in html and "<script" not in html
    assert "&lt;b&gt;Eve&lt;/b&gt; O&#x27;Hara" in html


def test_html_is_self_contained_and_forbids_scripts(report: TranscriptReport) -> None:
    html = render(report, "html")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "@import" not in html and "url(" not in html
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert csp and "default-src 'none'" in csp.group(1) and "script-src" not in csp.group(1)


def test_html_has_header_bars_and_collapsible_answers(report: TranscriptReport) -> None:
    html = render(report, "html")
    tags = parsed(html)
    assert 'id="overall"' in html and f"{report.overall.percent}%" in html
    rows = [a for t, a in tags.tags if t == "div" and a.get("class") == "row question"]
    assert len(rows) == len(report.items) == 3
    assert [t for t, _ in tags.tags].count("details") == 3
    widths = re.findall(r'class="fill" style="width:([\d.]+)%', html)
    assert len(widths) >= 3 and all(0 <= float(w) <= 100 for w in widths)


def test_markdown_escapes_html_and_table_pipes(report: TranscriptReport) -> None:
    md = render(report, "md")
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "Pooling downsamples \\| shrinks" in md
    assert md.startswith("# Interview report: &lt;b&gt;Eve&lt;/b&gt; O'Hara")
    assert "| 2 | 1. What are dropout layers" in md


def test_unknown_format_is_refused(report: TranscriptReport) -> None:
    with pytest.raises(ValueError, match="expected json, md or html"):
        render(report, "pdf")  # type: ignore[arg-type]


def test_report_file_names(tmp_path: Path, report: TranscriptReport) -> None:
    out = tmp_path / "r.html"
    out.write_text(render(report, "html"), encoding="utf-8")
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")


MD_ATTACK = (
    "Dropout randomly zeroes activations during training.\n"
    "![x](https://host/t.png)\n"
    "[x](javascript:alert(1))\n"
    "<img src=x onerror=alert(1)>\n"
    "# Heading from the answer\n"
    "Setext heading from the answer\n"
    "---\n"
    "```\n"
    "fenced from the answer"
)


@pytest.fixture(scope="module")
def md_attack(tmp_path_factory: pytest.TempPathFactory) -> str:
    s = Settings(
        bank_dir=TINY_BANK, cache_dir=tmp_path_factory.mktemp("c"), embedder="fake", judge="fake"
    )
    grader = Grader(s, embedder=FakeEmbedder(), judge=FakeJudge(), store=ResultStore(":memory:"))
    transcript = {
        "candidate": {"name": "[Eve](javascript:alert(3))"},
        "turns": [
            {"question": "![q](https://host/q.png)\n# asked heading", "answer": "no"},
            {"question_id": "q01-dropout", "answer": MD_ATTACK},
        ],
    }
    report = grade_transcript(grader, parse_transcript(json.dumps(transcript).encode()))
    return render(report, "md")


def test_markdown_answer_forms_no_image_link_or_html(md_attack: str) -> None:
    assert "![x](" not in md_attack and "](https://host/t.png)" not in md_attack
    assert "](javascript:" not in md_attack and "![q](" not in md_attack
    assert "<img" not in md_attack and "&lt;img src=x" in md_attack


def test_markdown_answer_lines_start_no_heading_or_block(md_attack: str) -> None:
    lines = md_attack.splitlines()
    quoted = [line[2:] for line in lines if line.startswith("> ")]
    assert "\\# Heading from the answer" in quoted
    assert "\\---" in quoted and "\\`\\`\\`" in quoted
    assert not [line for line in lines if "from the answer" in line and line.startswith("#")]
    assert not [q for q in quoted if re.match(r"\s*(#|-{3}|`{3}|<)", q)]


def test_markdown_report_renders_no_image_link_html_or_heading_from_the_transcript(
    md_attack: str,
) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark").enable("table").render(md_attack)
    tags = parsed(html).tags
    assert not [t for t, _ in tags if t in ("img", "a", "script", "pre", "code", "hr")]
    headings = re.findall(r"<h\d>(.*?)</h\d>", html)
    assert not [h for h in headings if "from the answer" in h or "<img" in h]
    assert "Heading from the answer" in html and "javascript:alert(1)" in html  # as text

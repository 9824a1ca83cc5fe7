"""Reading transcripts: every accepted format, messy whitespace, and clear errors for non-transcripts."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from conftest import FIXTURES
from grader.errors import TranscriptError
from grader.transcripts import parse
from grader.transcripts.parse import parse_transcript, read_transcript

TRANSCRIPTS = FIXTURES / "transcripts"


def test_json_fixture_keeps_candidate_metadata_and_explicit_questions() -> None:
    t = read_transcript(TRANSCRIPTS / "jane-doe.json")
    assert t.format == "json" and t.source == "jane-doe.json"
    assert t.candidate == {"name": "Jane Doe", "id": "cand-042", "role": "ML engineer"}
    assert t.metadata["interview"]["interviewer"] == "Sam Patel"
    assert len(t.turns) == 9
    assert t.turns[1].question_id == "q11-dropout" and t.turns[1].question == ""
    assert t.turns[4].question_number == 23
    assert t.turns[7].answer == ""  # an empty answer is a turn, not dropped


def test_bare_json_list_is_a_transcript() -> None:
    data = [{"question": "What is dropout?", "answer": "It zeroes units."}, {"question_number": 2}]
    t = parse_transcript(json.dumps(data).encode())
    assert [x.question for x in t.turns] == ["What is dropout?", ""]
    assert t.turns[1].question_number == 2 and t.turns[1].answer == ""
    assert t.candidate == {}


def test_qa_text_reads_preamble_multi_paragraph_answers_and_follow_ups() -> None:
    t = read_transcript(TRANSCRIPTS / "qa-interview.txt")
    assert t.format == "qa"
    assert t.candidate == {"name": "Marco Rossi"}
    assert t.metadata == {"role": "Senior Data Scientist", "date": "2024-06-02"}
    assert len(t.turns) == 8
    bias = t.turns[1]
    assert bias.question.startswith("Let's talk about model complexity.")
    assert bias.answer.count("\n\n") == 1  # two paragraphs kept, whitespace tidied
    assert "  " not in bias.answer and not bias.answer.startswith(" ")
    assert t.turns[2].question == "And why does that help?"
    assert t.turns[2].line == 15


def test_speaker_labels_with_names_timestamps_and_continued_lines() -> None:
    t = read_transcript(TRANSCRIPTS / "speakers.txt")
    assert t.format == "speakers"
    assert len(t.turns) == 8
    # two interviewer lines in a row are one question; two candidate lines one answer
    assert t.turns[1].question.startswith("Let's get going with the technical part. In which")
    assert t.turns[1].answer.count("\n") == 1 and "[00:01:20]" not in t.turns[1].answer
    # an unlabelled line continues the speaker before it
    assert "a hundred layers" in t.turns[3].answer


def test_markdown_headings_title_metadata_and_empty_answer() -> None:
    t = read_transcript(TRANSCRIPTS / "markdown-headings.md")
    assert t.format == "markdown"
    assert t.candidate == {"name": "Alex Kim"}
    assert t.metadata["title"] == "Technical interview: Alex Kim"
    assert t.metadata["interviewer"] == "Dana Lee"  # metadata, not a speaker turn
    assert len(t.turns) == 5
    assert t.turns[0].answer.count("\n\n") == 1
    assert t.turns[3].question.startswith("How can small crafted perturbations")
    assert t.turns[3].answer == ""


def test_messy_whitespace_crlf_tabs_nbsp_and_zero_width() -> None:
    text = (
        "\ufeffQ:\tHow does dropout\u00a0work?\r\n\r\nA:  It zeroes\u200b units   at random.\r\n"
        "\r\n\r\n\r\nSecond    paragraph.\r\nQ: Next?\rA: Yes.\r\n"
    )
    t = parse_transcript(text.encode("utf-8"))
    assert t.turns[0].question == "How does dropout work?"
    assert t.turns[0].answer == "It zeroes units at random.\n\nSecond paragraph."
    assert (t.turns[1].question, t.turns[1].answer) == ("Next?", "Yes.")


def test_bold_markdown_markers_and_question_numbers() -> None:
    text = "**Q1:** What is pooling?\n**A1:** Downsampling.\n\n**Question 2.** Why?\n**Answer 2:** Because."
    t = parse_transcript(text)
    assert [(x.question, x.answer) for x in t.turns] == [
        ("What is pooling?", "Downsampling."),
        ("Why?", "Because."),
    ]


def test_qa_question_without_answer_gets_an_empty_answer() -> None:
    t = parse_transcript("Q: First?\nQ: Second?\nA: Only this one.\n")
    assert [(x.question, x.answer) for x in t.turns] == [
        ("First?", ""),
        ("Second?", "Only this one."),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "upload.txt is empty: expected a transcript"),
        (b"  \n\t\n", "upload.txt is empty: expected a transcript"),
        ("Fragen: caf\xe9".encode("latin-1"), "not UTF-8 text (byte 0xe9 at position 11): save"),
        ("Q: hi\nA: there".encode("utf-16"), "UTF-16 text: save the transcript as UTF-8"),
        (b"\x00\x01\x02binary\x00", "binary file, not text: expected a transcript"),
        (b"Dear team,\n\nthe notes are attached.\nSam", "no question/answer turns found in"),
        (b'"just a string"', "no question/answer turns found in upload.txt: expected"),
        (b'{"candidate": {"name": "X"}}', 'no "turns" list: expected a transcript'),
        (b'{"turns": [{"answer": "orphan"}]}', 'turn 1: names no question: give "question"'),
        (b'{"turns": [1, 2]}', "turn 1: must be an object"),
        (b'[{"question_number": "2"}]', 'turn 1: "question_number" must be a whole number'),
        (b'{"turns": [{"question": null}]}', 'turn 1: "question" is null: leave it out'),
        (b'{"candidate": 7, "turns": [{"question": "q"}]}', '"candidate" must be text'),
        (b'{"turns": [{"question": "q?", "answer": 42}]}', '"answer" must be text, got int'),
        (b'{"turns": [{"question_number": 1.5}]}', '"question_number" must be a whole number'),
        (b'{"turns": [', "not valid JSON (line 1, column 12"),
        (b"[]", "no question/answer turns found"),
    ],
)
def test_not_a_transcript_names_what_was_expected(data: bytes, message: str) -> None:
    with pytest.raises(TranscriptError) as info:
        parse_transcript(data, source="upload.txt")
    assert message in str(info.value)
    assert info.value.code == "bad_transcript"


def test_json_that_is_not_an_object_or_list() -> None:
    with pytest.raises(TranscriptError, match="holds a JSON str"):
        parse_transcript(b'"just a string"', source="upload.json")


def test_missing_file_is_a_transcript_error(tmp_path: Path) -> None:
    with pytest.raises(TranscriptError, match="cannot read"):
        read_transcript(tmp_path / "nope.md")


def test_json_file_name_forces_json_errors(tmp_path: Path) -> None:
    path = tmp_path / "interview.json"
    path.write_text("Q: looks like text\nA: but the name says JSON")
    with pytest.raises(TranscriptError, match="not valid JSON"):
        read_transcript(path)


def _package_imports(module: str) -> set[str]:
    """The grader.transcripts.parse modules that a module of the parse package imports."""
    tree = ast.parse((Path(parse.__file__).parent / f"{module}.py").read_text())
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    return {
        n.removeprefix("grader.transcripts.parse.") for n in names if n.startswith(parse.__name__)
    }


@pytest.mark.parametrize("module", ["json", "text", "markdown"])
def test_each_format_module_depends_only_on_the_shared_types(module: str) -> None:
    assert _package_imports(module) == {"turns"}


def test_the_shared_types_import_no_format_module() -> None:
    assert _package_imports("turns") == set()

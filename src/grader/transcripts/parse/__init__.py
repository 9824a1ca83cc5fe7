"""Read an interview transcript into question/answer turns.

Accepted formats (picked from the content; the file name only breaks ties), one
module each:

* **JSON** (:mod:`.json`) — ``{"candidate": {...}, "turns": [...]}`` or a bare list of
  turns; each turn is ``{"question_id" | "question_number" | "question": ..., "answer": "..."}``.
* **Q:/A: text** and **speaker text** (:mod:`.text`) — lines starting ``Q:`` / ``A:``
  (also ``Question 3:``, ``**Q:**``) or ``Interviewer:`` / ``Candidate:`` (also
  ``Interviewer (Sam):``, ``Sam (interviewer):``, leading ``[00:03:12]`` timestamps).
* **Markdown headings** (:mod:`.markdown`) — the question in a heading, the answer below it.

All of them produce the types in :mod:`.turns`.  Anything before the first
question (``Candidate: Jane Doe``, ``Role: …``) is read as metadata.  Answers keep
their paragraphs; whitespace noise is cleaned.  Files that are not transcripts
raise :class:`TranscriptError` naming what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from grader.errors import TranscriptError
from grader.transcripts.parse.json import parse_json, request_schema
from grader.transcripts.parse.markdown import parse_headings
from grader.transcripts.parse.text import parse_marked_turns
from grader.transcripts.parse.turns import (
    EXPECTED,
    Format,
    Transcript,
    Turn,
    clean_text,
    one_line,
    tidy,
)

__all__ = [
    "EXPECTED",
    "Format",
    "Transcript",
    "Turn",
    "clean_text",
    "one_line",
    "parse_json",
    "parse_text",
    "parse_transcript",
    "read_transcript",
    "request_schema",
    "tidy",
]


def read_transcript(path: str | Path) -> Transcript:
    """Read and parse a transcript file; its name becomes the transcript's ``source``."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TranscriptError(f"cannot read {path}: {exc.strerror or exc}") from None
    return parse_transcript(data, source=path.name)


def parse_transcript(
    data: bytes | str, source: str | None = None, *, kind: Literal["auto", "json", "text"] = "auto"
) -> Transcript:
    """Parse a transcript from raw bytes (UTF-8) or text; raise TranscriptError if it is none.

    ``kind`` forces JSON or text; ``auto`` decides from the content and the file name.
    """
    name = source or "the transcript"
    text = _decode(data, name) if isinstance(data, bytes) else data
    text = clean_text(text)
    if not text.strip():
        raise TranscriptError(f"{name} is empty: {EXPECTED}")
    if "\x00" in text:
        raise TranscriptError(f"{name} looks like a binary file, not text: {EXPECTED}")
    if kind == "text":
        transcript = parse_text(text, name)
    else:
        is_json = kind == "json" or (source or "").lower().endswith(".json")
        transcript = _parse_any(text, name, is_json)
    if not transcript.turns:
        raise TranscriptError(f"no question/answer turns found in {name}: {EXPECTED}")
    return transcript.model_copy(update={"source": source})


def parse_text(text: str, name: str = "the transcript") -> Transcript:
    """Plain text or Markdown: turn markers first, Markdown headings otherwise."""
    lines = text.split("\n")
    transcript = parse_marked_turns(lines)
    if transcript is None:
        transcript = parse_headings(lines)
    if transcript is None:
        raise TranscriptError(f"no question/answer turns found in {name}: {EXPECTED}")
    return transcript


def _parse_any(text: str, name: str, json_name: bool) -> Transcript:
    """JSON when the name or the first character says so, falling back to text for a '['."""
    start = text.lstrip()[0]
    if not (json_name or start in "[{"):
        return parse_text(text, name)
    try:
        return parse_json(text, name)
    except TranscriptError:
        if json_name or start == "{":
            raise
        try:  # '[00:01:02] Interviewer: ...' starts like a JSON list
            return parse_text(text, name)
        except TranscriptError:
            pass
        raise


def _decode(data: bytes, name: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise TranscriptError(f"{name} is UTF-16 text: save the transcript as UTF-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise TranscriptError(
            f"{name} is not UTF-8 text (byte 0x{bad} at position {exc.start}): "
            "save the transcript as UTF-8"
        ) from None

"""Read an interview transcript into question/answer turns.

Accepted formats (picked from the content; the file name only breaks ties):

* **JSON** — ``{"candidate": {...}, "turns": [...]}`` or a bare list of turns; each
  turn is ``{"question_id" | "question_number" | "question": ..., "answer": "..."}``.
* **Q:/A: text** — lines starting ``Q:`` / ``A:`` (also ``Question 3:``, ``**Q:**``).
* **Speaker text** — ``Interviewer:`` / ``Candidate:`` (also ``Interviewer (Sam):``,
  ``Sam (interviewer):``, leading ``[00:03:12]`` timestamps).
* **Markdown headings** — the question in a heading, the answer below it.

JSON is validated by the models in :mod:`grader.transcripts.parse_json`.  Anything
before the first question (``Candidate: Jane Doe``, ``Role: …``) is read
as metadata.  Answers keep their paragraphs; whitespace noise is cleaned.  Files
that are not transcripts raise :class:`TranscriptError` naming what was expected.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from grader.errors import TranscriptError

Format = Literal["json", "qa", "speakers", "markdown"]

EXPECTED = (
    "expected a transcript: JSON with a list of turns "
    '({"turns": [{"question": "...", "answer": "..."}]}), or text with Q:/A: or '
    "Interviewer:/Candidate: turns, or Markdown with each question in a heading"
)


class Turn(BaseModel):
    """One question from the interviewer and the candidate's reply (possibly empty)."""

    index: int = Field(description="1-based position in the transcript.")
    question: str = Field(default="", description="The interviewer's own words.")
    answer: str = ""
    question_id: str | None = Field(default=None, description="Bank id given in the file.")
    question_number: int | None = Field(default=None, description="Bank number given.")
    line: int | None = Field(default=None, description="Line of the question in a text file.")


class Transcript(BaseModel):
    format: Format
    source: str | None = Field(default=None, description="File name, if read from a file.")
    candidate: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    turns: list[Turn]


# --------------------------------------------------------------------------- entry points


def read_transcript(path: str | Path) -> Transcript:
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


def _parse_any(text: str, name: str, json_name: bool) -> Transcript:
    start = text.lstrip()[0]
    if not (json_name or start in "[{"):
        return parse_text(text, name)
    from grader.transcripts.parse_json import (
        parse_json,  # imports this module: import here, not at the top
    )

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


_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def clean_text(text: str) -> str:
    """Unify line ends, drop zero-width characters, turn odd spaces into plain ones."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)
    return re.sub(r"[\t\u00a0\u2000-\u200a\u202f\u3000]", " ", text)


def tidy(text: str) -> str:
    """Strip each line, keep paragraphs (one blank line between them)."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def one_line(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------- text

_STAMP = r"(?:[\[(]?\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?[\])]?\s*[-–]?\s*)?"
_EMPH = r"[*_]{0,2}"
_ASK = r"q(?:\s*\d+)?|question(?:\s*\d+)?|interviewer|int|interviewing"
_REPLY = r"a(?:\s*\d+)?|answer(?:\s*\d+)?|candidate|cand|interviewee|applicant"
_NAME = r"[^:()\n]{1,40}"
_MARKER = re.compile(
    rf"^\s*{_STAMP}{_EMPH}(?:(?P<role>{_ASK}|{_REPLY})(?:\s*\({_NAME}\))?"
    rf"|{_NAME}\((?P<role2>{_ASK}|{_REPLY})\))\s*(?:{_EMPH}:{_EMPH}\s*|[.)]{_EMPH}(?:\s+|$))"
    r"(?P<rest>.*)$",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^\s{0,3}(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
_META = re.compile(r"^\s*[*_]{0,2}(?P<key>[A-Za-z][\w \-]{0,30}?)[*_]{0,2}\s*:\s*(?P<value>.+)$")
_QUESTION_PREFIX = re.compile(r"^(?:q(?:uestion)?\s*\d*\s*[:.)\-]\s*|\d{1,3}\s*[.)]\s+)", re.I)


def _role(match: re.Match[str]) -> str:
    role = (match.group("role") or match.group("role2") or "").lower()
    return "ask" if re.fullmatch(_ASK, role) else "reply"


def parse_text(text: str, name: str = "the transcript") -> Transcript:
    """Plain text or Markdown: turn markers first, Markdown headings otherwise."""
    lines = text.split("\n")
    markers = [(i, m) for i, line in enumerate(lines) if (m := _MARKER.match(line))]
    roles = [_role(m) for _, m in markers]
    # Turn markers need a question answered somewhere ("Interviewer: Dana Lee" alone is metadata).
    if "ask" in roles and "reply" in roles[roles.index("ask") :]:
        return _parse_markers(lines, markers)
    transcript = _parse_headings(lines)
    if transcript is None:
        raise TranscriptError(f"no question/answer turns found in {name}: {EXPECTED}")
    return transcript


def _parse_markers(lines: list[str], markers: list[tuple[int, re.Match[str]]]) -> Transcript:
    fmt: Format = "qa" if re.fullmatch(r"q.*", _first_ask_label(markers), re.I) else ("speakers")
    first = next(i for i, m in markers if _role(m) == "ask")
    candidate, metadata = _metadata(lines[:first])
    at = {i: m for i, m in markers}
    turns: list[Turn] = []
    q_parts: list[str] = []
    a_parts: list[str] = []
    side, q_line = "", 0

    def flush() -> None:
        if q_parts or a_parts:
            turns.append(
                Turn(
                    index=len(turns) + 1,
                    question=one_line("\n".join(q_parts)),
                    answer=tidy("\n".join(a_parts)),
                    line=q_line,
                )
            )

    for i in range(first, len(lines)):
        m = at.get(i)
        if m is not None:
            role = _role(m)
            new_question = side == "reply" or not q_parts or fmt == "qa"
            if role == "ask" and new_question:
                flush()
                q_parts, a_parts, q_line = [], [], i + 1
            side = role
            (q_parts if role == "ask" else a_parts).append(m.group("rest"))
        elif not _HEADING.match(lines[i]):  # section headings between turns are not speech
            (q_parts if side == "ask" else a_parts).append(lines[i])
    flush()
    return Transcript(format=fmt, candidate=candidate, metadata=metadata, turns=turns)


def _first_ask_label(markers: list[tuple[int, re.Match[str]]]) -> str:
    m = next(m for _, m in markers if _role(m) == "ask")
    return m.group("role") or m.group("role2") or ""


def _metadata(lines: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``Key: value`` lines of a preamble; ``Candidate``/``Name`` go to the candidate."""
    candidate: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for line in lines:
        m = None if _HEADING.match(line) else _META.match(line)
        if m is None:
            continue
        key = m.group("key").strip().lower().replace(" ", "_")
        value = m.group("value").strip().strip("*_").strip()
        if key in ("candidate", "name", "candidate_name", "interviewee", "applicant"):
            if len(value) <= 60 and not value.endswith((".", "!", "?")):  # a name, not speech
                candidate["name"] = value
        elif key.startswith("candidate_"):
            candidate[key.removeprefix("candidate_")] = value
        else:
            metadata[key] = value
    return candidate, metadata


def _parse_headings(lines: list[str]) -> Transcript | None:
    """Markdown: each heading is a question, the text below it the answer."""
    heads = [(i, m) for i, line in enumerate(lines) if (m := _HEADING.match(line))]
    if not heads:
        return None
    levels = [len(m.group("hashes")) for _, m in heads]
    # A single top heading above deeper ones is the document title (its body: metadata).
    title = len(heads) > 1 and levels[0] < min(levels[1:])
    preamble_end = heads[1][0] if title else heads[0][0]
    candidate, metadata = _metadata(lines[:preamble_end])
    if title:
        metadata.setdefault("title", heads[0][1].group("text"))
        heads = heads[1:]
    turns: list[Turn] = []
    for k, (i, m) in enumerate(heads):
        end = heads[k + 1][0] if k + 1 < len(heads) else len(lines)
        question = _QUESTION_PREFIX.sub("", m.group("text").strip("*_ ")).strip()
        answer = tidy("\n".join(lines[i + 1 : end]))
        turns.append(Turn(index=len(turns) + 1, question=question, answer=answer, line=i + 1))
    return Transcript(format="markdown", candidate=candidate, metadata=metadata, turns=turns)

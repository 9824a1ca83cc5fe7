"""What every transcript format parses into (:class:`Transcript` of :class:`Turn`), and the
helpers the formats share: whitespace cleaning and ``Key: value`` preamble metadata.

The format modules (:mod:`.json`, :mod:`.text`, :mod:`.markdown`) import only this
module; :mod:`grader.transcripts.parse` picks the format and calls them.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

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


# --------------------------------------------------------------------------- whitespace

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


# --------------------------------------------------------------------------- preamble

HEADING = re.compile(r"^\s{0,3}(?P<hashes>#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
_META = re.compile(r"^\s*[*_]{0,2}(?P<key>[A-Za-z][\w \-]{0,30}?)[*_]{0,2}\s*:\s*(?P<value>.+)$")


def preamble_metadata(lines: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``Key: value`` lines of a preamble; ``Candidate``/``Name`` go to the candidate."""
    candidate: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    for line in lines:
        m = None if HEADING.match(line) else _META.match(line)
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

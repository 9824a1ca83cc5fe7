"""Plain-text transcripts with turn markers: ``Q:`` / ``A:`` or ``Interviewer:`` / ``Candidate:``.

Markers may carry numbers (``Question 3:``, ``A2.``), Markdown emphasis (``**Q:**``),
names (``Interviewer (Sam):``, ``Sam (interviewer):``) and leading timestamps
(``[00:03:12]``).  An unlabelled line continues the speaker before it; two
interviewer lines in a row are one question (except in Q:/A: files, where each
``Q:`` is a new question).  ``Key: value`` lines before the first question are metadata.
"""

from __future__ import annotations

import re

from grader.transcripts.parse.turns import (
    HEADING,
    Format,
    Transcript,
    Turn,
    one_line,
    preamble_metadata,
    tidy,
)

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

Markers = list[tuple[int, re.Match[str]]]


def parse_marked_turns(lines: list[str]) -> Transcript | None:
    """The turns of a marked-up text; None when it has no question answered after it."""
    markers = [(i, m) for i, line in enumerate(lines) if (m := _MARKER.match(line))]
    roles = [_role(m) for _, m in markers]
    # Turn markers need a question answered somewhere ("Interviewer: Dana Lee" alone is metadata).
    if "ask" in roles and "reply" in roles[roles.index("ask") :]:
        return _parse_markers(lines, markers)
    return None


def _role(match: re.Match[str]) -> str:
    role = (match.group("role") or match.group("role2") or "").lower()
    return "ask" if re.fullmatch(_ASK, role) else "reply"


def _parse_markers(lines: list[str], markers: Markers) -> Transcript:
    fmt: Format = "qa" if re.fullmatch(r"q.*", _first_ask_label(markers), re.I) else "speakers"
    first = next(i for i, m in markers if _role(m) == "ask")
    candidate, metadata = preamble_metadata(lines[:first])
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
        elif not HEADING.match(lines[i]):  # section headings between turns are not speech
            (q_parts if side == "ask" else a_parts).append(lines[i])
    flush()
    return Transcript(format=fmt, candidate=candidate, metadata=metadata, turns=turns)


def _first_ask_label(markers: Markers) -> str:
    m = next(m for _, m in markers if _role(m) == "ask")
    return m.group("role") or m.group("role2") or ""

"""Markdown transcripts: each question in a heading, the answer in the text below it.

A single top heading above deeper ones is the document's title; ``Key: value``
lines before the first question are metadata (``Candidate: Alex Kim``).
"""

from __future__ import annotations

import re

from grader.transcripts.parse.turns import HEADING, Transcript, Turn, preamble_metadata, tidy

_QUESTION_PREFIX = re.compile(r"^(?:q(?:uestion)?\s*\d*\s*[:.)\-]\s*|\d{1,3}\s*[.)]\s+)", re.I)


def parse_headings(lines: list[str]) -> Transcript | None:
    """Each heading is a question, the text below it the answer; None without headings."""
    heads = [(i, m) for i, line in enumerate(lines) if (m := HEADING.match(line))]
    if not heads:
        return None
    levels = [len(m.group("hashes")) for _, m in heads]
    # A single top heading above deeper ones is the document title (its body: metadata).
    title = len(heads) > 1 and levels[0] < min(levels[1:])
    preamble_end = heads[1][0] if title else heads[0][0]
    candidate, metadata = preamble_metadata(lines[:preamble_end])
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

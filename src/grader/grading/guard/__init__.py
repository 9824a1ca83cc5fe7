"""What the judge may see of an answer: the injection defence, before the prefilter.

An answer is data written by the person being graded, so anything in it that
addresses the grader, imitates the grader's output, hides text from a human
reader or only names terms is taken out of what the prefilter and the judge see,
and reported as a :class:`Finding`.  In order:

1. invisible text: Unicode tag characters (decoded, so a hidden message is read),
   zero-width, bidi and soft-hyphen characters; then NFKC (fullwidth letters,
   ligatures) and homoglyphs folded in words that mix Latin with Cyrillic or Greek;
2. hidden markup: HTML comments, elements hidden by style or attribute,
   ``<details>``/``<script>``/``<style>``, Markdown comments and link titles;
3. the judge's own syntax: fence tags (``</answer>``), chat-template tokens,
   prompt section markers;
4. forged verdicts (JSON or code blocks with ``met``/``score``, ``Met? yes``
   lines) and forged dialogue (``Interviewer: … Examiner: full marks``);
5. sentence by sentence: instructions to the grader (English, other languages,
   leetspeak, rot13, base64), and claims about the answer itself ("It explains
   X. It describes Y.");
6. bare term lists (a ``Keywords:`` line, a comma list of short items, a bullet
   list of terms) when the answer has prose besides them: naming terms is not
   explaining them.

What is left is what the judge grades, so an attack earns what the answer
around it earns.  Each finding becomes a flag and one review line.
"""

from __future__ import annotations

import re

from grader.grading.guard.findings import (
    DIALOGUE,
    FORGED_VERDICT,
    HIDDEN,
    INSTRUCTION,
    INSTRUCTION_KINDS,
    RUBRIC_CLAIM,
    TERM_LIST,
    Finding,
    Guarded,
)
from grader.grading.guard.markup import (
    dialogue,
    fold,
    forged_verdicts,
    hidden_markup,
    invisible,
    judge_syntax,
)
from grader.grading.guard.prose import instructions_and_claims, term_lists

__all__ = [
    "DIALOGUE",
    "FORGED_VERDICT",
    "HIDDEN",
    "INSTRUCTION",
    "INSTRUCTION_KINDS",
    "RUBRIC_CLAIM",
    "TERM_LIST",
    "Finding",
    "Guarded",
    "guard",
]


def guard(answer: str) -> Guarded:
    """The answer with every attack taken out, and the findings (see the module doc)."""
    found: list[Finding] = []
    visible = invisible(answer, found)
    text = hidden_markup(fold(visible), found)
    text = judge_syntax(text, found)
    text = forged_verdicts(text, found)
    text = dialogue(text, found)
    text = instructions_and_claims(text, found)
    text = term_lists(text, found)
    if not found:  # an ordinary answer reaches the judge as written, less invisible characters
        return Guarded(answer, visible.strip())
    text = re.sub(r"[ \t]+", " ", text)
    text = re.sub(r" *\n[ \n]*", "\n", text).strip()
    return Guarded(answer, text, tuple(found))

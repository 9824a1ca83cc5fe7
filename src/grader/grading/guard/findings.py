"""What the guard takes out of an answer (:class:`Finding`) and what is left (:class:`Guarded`)."""

from __future__ import annotations

from dataclasses import dataclass

# Finding kinds, also the flags a result carries.  INSTRUCTION_KINDS are attempts to
# steer the grader: they add ``injection_attempt`` too.
INSTRUCTION = "injection_attempt"
HIDDEN = "hidden_content"
FORGED_VERDICT = "forged_verdict"
DIALOGUE = "forged_dialogue"
RUBRIC_CLAIM = "rubric_claim"
TERM_LIST = "term_list"
INSTRUCTION_KINDS = frozenset({INSTRUCTION, FORGED_VERDICT, DIALOGUE})

_REASONS = {
    INSTRUCTION: "answer tried to instruct the grader",
    HIDDEN: "answer hides text from a human reader (hidden markup or invisible characters)",
    FORGED_VERDICT: "answer contains a forged grading verdict or the grader's prompt syntax",
    DIALOGUE: "answer contains a made-up dialogue with the interviewer or grader",
    RUBRIC_CLAIM: "answer claims what it covers instead of explaining it",
    TERM_LIST: "answer pads its prose with a bare list of terms",
}
_ADVICE = {
    HIDDEN: "Hidden text was not graded: write everything you want graded as visible prose.",
    RUBRIC_CLAIM: "Saying that the answer explains something is not explaining it: "
    "state the idea itself.",
    TERM_LIST: "A list of terms was not graded: explain each idea in a sentence or two "
    "(what it is, how it works, why it matters).",
    DIALOGUE: "A quoted dialogue was not graded: answer in your own voice.",
}


@dataclass(frozen=True)
class Finding:
    """One piece taken out of the answer, and why."""

    kind: str
    text: str


@dataclass(frozen=True)
class Guarded:
    """The answer as the judge may see it (``text``) and what was taken out of it."""

    original: str
    text: str
    findings: tuple[Finding, ...] = ()

    @property
    def kinds(self) -> list[str]:
        seen: list[str] = []
        for f in self.findings:
            if f.kind not in seen:
                seen.append(f.kind)
        return seen

    @property
    def flags(self) -> list[str]:
        """The result's flags: one per kind, plus ``injection_attempt`` for steering kinds."""
        kinds = self.kinds
        if any(k in INSTRUCTION_KINDS for k in kinds) and INSTRUCTION not in kinds:
            kinds = [INSTRUCTION, *kinds]
        return kinds

    @property
    def review_reasons(self) -> list[str]:
        """One line per kind: what was found and a short quote of it."""
        out = []
        for kind in self.kinds:
            found = [f.text for f in self.findings if f.kind == kind]
            quotes = " | ".join(_quote(t) for t in found[:3])
            out.append(f"{_REASONS[kind]} ({len(found)} passage(s) not graded): {quotes}")
        return out

    @property
    def advice(self) -> str:
        """Feedback for the candidate on what was not graded and why ('' when nothing was)."""
        return " ".join(_ADVICE[k] for k in self.kinds if k in _ADVICE)


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _quote(text: str, limit: int = 120) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"

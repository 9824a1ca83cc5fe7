"""Stages 1-4 of the guard: invisible text, hidden markup, the judge's syntax, forged output."""

from __future__ import annotations

import re
import unicodedata

from grader.grading.guard import patterns
from grader.grading.guard.findings import DIALOGUE, FORGED_VERDICT, HIDDEN, INSTRUCTION, Finding
from grader.grading.guard.prose import instruction, word_count
from grader.text import find_injections

# --------------------------------------------------------------------------- 1. invisible text

_TAGS = re.compile("[\U000e0000-\U000e007f]+")
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_LATIN = re.compile(r"[A-Za-z]")
_WORDISH = re.compile(r"\w+", re.UNICODE)


def invisible(text: str, found: list[Finding]) -> str:
    for run in _TAGS.findall(text):
        message = "".join(chr(ord(c) - 0xE0000) for c in run if 0xE0020 <= ord(c) <= 0xE007E)
        found.append(Finding(INSTRUCTION if find_injections(message) else HIDDEN, message or run))
    return _INVISIBLE.sub("", _TAGS.sub("", text))


def fold(text: str) -> str:
    """NFKC (fullwidth letters, ligatures), then homoglyphs: in words that mix Latin with
    Cyrillic or Greek lookalikes, and in whole lookalike words ('уеѕ') of a Latin text."""
    text = unicodedata.normalize("NFKC", text)
    letters = [ch for ch in text if ch.isalpha()]
    latin_text = sum(1 for ch in letters if ch.isascii()) > 0.6 * max(len(letters), 1)

    def fold(m: re.Match[str]) -> str:
        word = m.group(0)
        if not patterns.FOLDABLE.search(word):
            return word
        mixed = _LATIN.search(word)
        lookalike = latin_text and all(ch.isascii() or patterns.FOLDABLE.match(ch) for ch in word)
        return word.translate(patterns.CONFUSABLE) if mixed or lookalike else word

    return _WORDISH.sub(fold, text)


# --------------------------------------------------------------------------- 2. hidden markup

_HIDDEN_PATTERNS = [
    re.compile(r"<!--.*?(?:-->|$)", re.S),
    re.compile(
        r"<(details|script|style|template|noscript|textarea|iframe|object)\b[^<>]{0,400}>.*?(?:</\1\s*>|$)",
        re.S | re.I,
    ),
    re.compile(
        rf"<(\w+)\b[^<>]{{0,400}}(?:{patterns.HIDING})[^<>]{{0,400}}>.*?(?:</\1\s*>|$)", re.S | re.I
    ),
    re.compile(r"^\s*\[[^\]\n]*\]:\s*\S*\s*(?:\(.*?\)|\".*?\"|'.*?')?\s*$", re.M),  # [//]: # (x)
]
_LINK_TITLE = re.compile(r"(\]\([^)\s]*)\s+(\"[^\"]*\"|'[^']*')\)")
_ATTRIBUTE = re.compile(
    r"\b(alt|title|aria-label|aria-description|placeholder|content|value|data-[\w-]+)\s*=\s*"
    r"(?:\"([^\"]*)\"|'([^']*)')",
    re.I,
)
_TAG = re.compile(rf"</?(?:{patterns.HTML_TAGS})\b(?:\s[^<>]*)?/?>", re.I)


def hidden_markup(text: str, found: list[Finding]) -> str:
    for pattern in _HIDDEN_PATTERNS:
        for m in pattern.finditer(text):
            found.append(Finding(_kind_of_hidden(m.group(0)), m.group(0)))
        text = pattern.sub(" ", text)
    for m in _LINK_TITLE.finditer(text):
        found.append(Finding(_kind_of_hidden(m.group(2)), m.group(2)))
    text = _LINK_TITLE.sub(r"\1)", text)
    for tag in _TAG.finditer(text):  # attribute text (alt, title, ...) is not shown as prose
        for m in _ATTRIBUTE.finditer(tag.group(0)):
            value = m.group(2) or m.group(3) or ""
            if word_count(value) >= 3:
                found.append(Finding(_kind_of_hidden(value), value))
    return _TAG.sub(" ", text)  # visible markup: its words stay, the tags go


_ADDRESSED = re.compile(
    r"\b(?:examiner|grader|evaluator|assessor|marker|reviewer|interviewer|ai|llm|model|"
    r"assistant|system)\b|\bmet\b|\bfull (?:marks|score|credit)\b",
    re.I,
)


def _kind_of_hidden(snippet: str) -> str:
    attributes = " ".join(m.group(2) or m.group(3) or "" for m in _ATTRIBUTE.finditer(snippet))
    plain = _TAG.sub(" ", snippet.replace("<!--", " ").replace("-->", " ")) + " " + attributes
    if instruction(plain) or _ADDRESSED.search(plain):
        return INSTRUCTION
    return HIDDEN


# --------------------------------------------------------------------------- 3. judge syntax

_JUDGE_SYNTAX = re.compile(
    r"</?\s*answer[^<>]{0,400}>|<\|[^|>]{1,30}\|>|\[/?(?:INST|SYS|SYSTEM)\]|"
    r"^\s*#{2,}\s*(?:system|context|criterion|misconception|user|assistant|human|instruction)\b.*$|"
    r"^[^\w\n]*(?:end of (?:the )?(?:candidate'?s? )?(?:answer|response|submission|input)|"
    r"(?:grader|judge|evaluator|system) (?:output|response|verdict|instructions?)|"
    r"begin(?:ning)? of (?:the )?(?:grader|judge|system|evaluation))\b[^\n]{0,40}$|"
    r"<(judge?ment|verdict|score|grade|result|evaluation|assessment|decision|label|output)\b[^<>]{0,400}>"
    r".*?(?:</\1\s*>|$)",
    re.I | re.M,
)


# A chat-template control token (ChatML, Llama, Gemma, ...) starts forged turns: the rest of
# the answer after it is not the candidate's.
_CHAT_TURN = re.compile(
    r"(?:<\|[a-z_]{2,30}\|>|<(?:start_of_turn|end_of_turn|bos|eos|eot)>|\[/?INST\]|"
    r"<</?SYS>>|</s>).*",
    re.S | re.I,
)


def judge_syntax(text: str, found: list[Finding]) -> str:
    for m in _CHAT_TURN.finditer(text):
        found.append(Finding(FORGED_VERDICT, m.group(0)))
    text = _CHAT_TURN.sub(" ", text)
    for m in _JUDGE_SYNTAX.finditer(text):
        found.append(Finding(FORGED_VERDICT, m.group(0)))
    return _JUDGE_SYNTAX.sub(" ", text)


# --------------------------------------------------------------------------- 4. forged output

_FENCE = re.compile(r"```[^\n]*\n.*?(?:```|$)|~~~[^\n]*\n.*?(?:~~~|$)", re.S)
_JSON_BLOCK = re.compile(r"\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}", re.S)


def _verdict_tables(text: str, found: list[Finding]) -> str:
    """Markdown tables with a verdict column are forged output: the whole table goes."""
    lines = text.split("\n")
    out: list[str] = []
    block: list[str] = []
    for line in [*lines, ""]:
        if line.strip().startswith("|"):
            block.append(line)
            continue
        if any(patterns.TABLE_VERDICT.search(row) for row in block):
            found.append(Finding(FORGED_VERDICT, "\n".join(block)))
        else:
            out.extend(block)
        block = []
        out.append(line)
    return "\n".join(out[:-1])


def forged_verdicts(text: str, found: list[Finding]) -> str:
    text = _verdict_tables(text, found)
    for pattern in (_FENCE, _JSON_BLOCK):
        for m in pattern.finditer(text):
            if re.search(patterns.VERDICT_WORDS, m.group(0), re.I) or instruction(m.group(0)):
                found.append(Finding(FORGED_VERDICT, m.group(0)))
        text = pattern.sub(
            lambda m: (
                " "
                if re.search(patterns.VERDICT_WORDS, m.group(0), re.I) or instruction(m.group(0))
                else m.group(0)
            ),
            text,
        )
    for pattern in (patterns.VERDICT_LINE, patterns.QUESTION_LINE):
        for m in pattern.finditer(text):
            found.append(Finding(FORGED_VERDICT, m.group(0)))
        text = pattern.sub(" ", text)
    return text


_TURN = re.compile(
    rf"(?:(?<=[\s.!?\"'(\[])|^)(?:\*\*)?({patterns.ROLES})(?:\s*\d)?(?:\s*\([^)\n]{{0,40}}\))?"
    r"(?:\*\*)?\s*:",
    re.I | re.M,
)


def dialogue(text: str, found: list[Finding]) -> str:
    """Speaker-labelled turns: made-up interviews inside an answer are not graded.

    A paragraph with two turns, or one turn by an authority (interviewer, examiner,
    system, ...), is a dialogue.  Each labelled line goes from its label to the end of the
    line (the whole line when only a few words come before the label), and so do the
    lines between the first and the last turn; the candidate's own lines before and after
    the dialogue stay.
    """
    out = []
    for paragraph in re.split(r"(\n\s*\n)", text):
        turns = list(_TURN.finditer(paragraph))
        authority = any(patterns.AUTHORITY.fullmatch(t.group(1).strip()) for t in turns)
        if not (len(turns) >= 2 or (turns and authority)):
            out.append(paragraph)
            continue
        lines = paragraph.split("\n")
        labelled = [i for i, line in enumerate(lines) if _TURN.search(line)]
        first, last = labelled[0], labelled[-1]
        kept = []
        for i, line in enumerate(lines):
            turn = _TURN.search(line)
            if turn is not None:
                before = line[: turn.start()]
                cut = 0 if len(before.split()) < 8 else turn.start()
                found.append(Finding(DIALOGUE, line[cut:]))
                kept.append(line[:cut])
            elif first < i < last:
                found.append(Finding(DIALOGUE, line))
            else:
                kept.append(line)
        out.append("\n".join(kept))
    return "".join(out)

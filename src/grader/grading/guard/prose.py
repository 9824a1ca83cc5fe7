"""Stages 5-6 of the guard: instructions and claims sentence by sentence, bare term lists."""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from dataclasses import dataclass

from grader.grading.guard import patterns
from grader.grading.guard.findings import (
    HIDDEN,
    INSTRUCTION,
    RUBRIC_CLAIM,
    TERM_LIST,
    Finding,
    word_set,
)
from grader.text import find_injections, sentences, words


def word_count(text: str) -> int:
    return len(words(text))


# --------------------------------------------------------------------------- 5. sentences

_LEET = str.maketrans("013457@$!|", "oieastasil")
_LEET_L = str.maketrans("013457@$!|", "oleastasll")
_ENCODED_HINT = re.compile(r"\b(?:decode|decipher|base ?64|rot ?13|caesar|encoded)\b", re.I)
_BASE64 = re.compile(r"(?<![\w+/=])[A-Za-z0-9+/]{16,}={0,2}(?![\w+/=])")


@dataclass(frozen=True)
class Screen:
    """Which multilingual patterns occur anywhere in the text: a sentence can only match a
    pattern its text matches, so the per-sentence checks skip the others (the patterns
    are long alternations, and answers run to 20,000 characters)."""

    asks: bool = True
    request: bool = True
    person_or_yes: bool = True

    @classmethod
    def of(cls, text: str) -> Screen:
        return cls(
            asks=bool(patterns.ASKS_GRADER.search(text)),
            request=bool(patterns.REQUEST.search(text)),
            person_or_yes=bool(
                patterns.GRADER_PERSON.search(text) or patterns.QUOTED_YES.search(text)
            ),
        )


_ALL = Screen()
# Words that a rot13-encoded instruction decodes to: only then run the full patterns on it.
_ROT_HINT = re.compile(r"\b(?:ignore|rubric|grader|marks?|score|instructions?|criteri\w*)\b", re.I)


def instruction(sentence: str, screen: Screen = _ALL) -> bool:
    """True for a sentence that asks the grader for something, in any of the forms above."""
    if _instruction_text(sentence, screen):
        return True
    if _leet_keywords(sentence) >= 2:
        return True
    rot = codecs.decode(sentence, "rot13")
    if _ROT_HINT.search(rot) and find_injections(rot) and not find_injections(sentence):
        return True
    return any(_instruction_text(d) for d in _decoded_blobs(sentence))


def _instruction_text(text: str, screen: Screen = _ALL) -> bool:
    """English patterns, or a request word and a grading word in any other language."""
    if find_injections(text) or (screen.asks and patterns.ASKS_GRADER.search(text)):
        return True
    if not (screen.request or screen.person_or_yes):
        return False
    grading = patterns.GRADING.search(text) or patterns.QUOTED_YES.search(text)
    person = patterns.GRADER_PERSON.search(text)
    if screen.request and patterns.REQUEST.search(text):
        return bool(grading or person or patterns.MODEL_WORD.search(text))
    return bool(grading and (person or patterns.QUOTED_YES.search(text)))


_LEET_WORDS = word_set(
    "ignore give full marks mark rubric grader award score points instructions criteria "
    "criterion perfect maximum yes disregard examiner previous all every"
)


def _leet_keywords(sentence: str) -> int:
    """How many grading words are spelled with digits or symbols ('g1v3 fu11 m4rk5')."""
    count = 0
    for token in re.findall(r"[\w@$!|]+", sentence.lower()):
        if token.isalpha() or not re.search(r"[a-z]", token):
            continue
        if {token.translate(_LEET), token.translate(_LEET_L)} & _LEET_WORDS:
            count += 1
    return count


def _decoded_blobs(text: str) -> list[str]:
    out = []
    for token in _BASE64.findall(text):
        if not re.search(r"[0-9+/=]|[a-z][A-Z]", token):
            continue  # a long plain word, not base64
        try:
            raw = base64.b64decode(token + "=" * (-len(token) % 4), validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            continue
        if decoded and sum(ch.isprintable() or ch.isspace() for ch in decoded) / len(decoded) > 0.9:
            out.append(decoded)
    return out


# After a claim about the answer, "It <verb>s ..." goes on describing the answer, not the idea
# ("This answer states X. It maps Y onto Z. It names W.").
_CLAIM_CONTINUES = re.compile(
    r"^\W*it\s+(?:also\s+|then\s+|further\s+|finally\s+)?(?!is\b|was\b|has\b|does\b|seems\b|"
    r"becomes\b|remains\b)[a-z]+s\b",
    re.I,
)


def instructions_and_claims(text: str, found: list[Finding]) -> str:
    claimed = False
    screen = Screen.of(text)
    for sentence in sentences(text):
        encoded = bool(_ENCODED_HINT.search(sentence) and _decoded_blobs(sentence))
        if encoded or instruction(sentence, screen):
            found.append(Finding(INSTRUCTION, sentence))
        elif _decoded_blobs(sentence):
            found.append(Finding(HIDDEN, sentence))
        elif patterns.CLAIM.search(sentence) or (claimed and _CLAIM_CONTINUES.search(sentence)):
            found.append(Finding(RUBRIC_CLAIM, sentence))
            claimed = True
        else:
            continue
        text = text.replace(sentence, " ", 1)
    return text


# --------------------------------------------------------------------------- 6. term lists

_BULLET = re.compile(r"^\s*(?:[-*•·+]|\d+[.)])\s+(.*)$")


def _short_item(item: str) -> bool:
    return 0 < len(words(item)) <= 3


def _list_sentence(sentence: str) -> bool:
    """A sentence that is only a run of short comma- or semicolon-separated items."""
    if patterns.LIST_LABEL.search(sentence):
        return True
    if re.search(r"\([^()]*[,;][^()]*\)|[{}=<>]|;\s*$", sentence):
        return False  # code puts commas between arguments
    items = [p.strip() for p in re.split(r"[,;|]", sentence.strip().rstrip(".")) if p.strip()]
    tokens = [t.strip(".,;:!?()\"'").lower() for t in sentence.split()]
    # Five or more items; with a full stop (prose that lists things), eight or more.
    if len(items) >= (8 if sentence.rstrip().endswith(".") else 5):
        return all(_short_item(i) for i in items) and not _FUNCTION_WORDS.intersection(tokens)
    # a run of terms with no separators at all: no function word and no full stop; ten or
    # more, or six or more with terms repeated
    repeated = len(tokens) >= 6 and len(set(tokens)) <= 0.7 * len(tokens)
    return (
        (len(tokens) >= 10 or repeated)
        and not sentence.rstrip().endswith(".")
        and not _FUNCTION_WORDS.intersection(tokens)
        and not any(t in ("and", "or") for t in tokens)
    )


# English function words: prose is full of them, a list of terms has none.
_FUNCTION_WORDS = word_set(
    "a an the of to in is are was were be been by for on at as it its we you they can that "
    "this these those with from not but so if then than when which who how why what has have "
    "had do does may will would should could into each all also only more most very there "
    "their our your his her he she i me my us them one used use uses"
)


_PIECE = re.compile(r"(?<=[.!?])\s+|\n+")


def term_lists(text: str, found: list[Finding]) -> str:
    """Take out bare term lists when prose remains to be graded (a whole-list answer is left
    to the prefilter's term-list rule, which grades it with coverage discounted)."""
    lines = text.split("\n")
    drop: set[int] = set()
    run: list[int] = []
    for i, line in enumerate([*lines, ""]):
        m = _BULLET.match(line)
        if m and _short_item(m.group(1).rstrip(".;,")):
            run.append(i)
            continue
        if len(run) >= 3:
            drop.update(run)
        run = []
    # one term per line, no bullets: four or more short lines in a row
    run = []
    for i, line in enumerate([*lines, ""]):
        bare = line.strip()
        terms_only = not _FUNCTION_WORDS.intersection(bare.lower().split())
        if bare and _short_item(bare) and terms_only and not bare.endswith((".", ":", "?", "!")):
            run.append(i)
            continue
        if len(run) >= 4:
            drop.update(run)
        run = []
    kept = "\n".join(line for i, line in enumerate(lines) if i not in drop)
    listed = [lines[i] for i in sorted(drop)]
    # pieces between full stops (a list may follow a sentence on the same line; ';' is a
    # list separator here, not a sentence end)
    for piece in _PIECE.split(kept):
        piece = piece.strip()
        if piece and _list_sentence(piece):
            listed.append(piece)
            kept = kept.replace(piece, " ", 1)
    prose = [s for s in sentences(kept) if len(words(s)) >= 3]
    if not listed or not prose:
        return text
    found.extend(Finding(TERM_LIST, item) for item in listed)
    return kept

"""Plain-text helpers: sentences, natural-language checks, injection detection."""

from __future__ import annotations

import math
import re
import sys
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Lower-case, NFKC, whitespace collapsed: for comparisons and evidence checks."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def sentences(text: str) -> list[str]:
    """Split an answer into sentences (verbatim substrings, stripped)."""
    parts = (p.strip() for p in _SENTENCE_END.split(text))
    return [p for p in parts if p and _WORD.search(p)]


def words(text: str) -> list[str]:
    return _WORD.findall(text)


@dataclass(frozen=True)
class TextCheck:
    ok: bool
    reason: str = ""


def check_natural_language(text: str) -> TextCheck:
    """Reject binary, symbol/code noise and keyboard-mash gibberish; accept any script."""
    stripped = text.strip()
    if not stripped:
        return TextCheck(False, "empty answer")
    control = sum(
        1
        for ch in stripped
        if unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in "\n\r\t"
    )
    if control / len(stripped) > 0.05 or (
        "\ufffd" in stripped[:2000] and stripped.count("\ufffd") > 3
    ):
        return TextCheck(False, "answer looks like binary data, not text")
    letters = sum(1 for ch in stripped if ch.isalpha())
    non_space = sum(1 for ch in stripped if not ch.isspace())
    # Short formula-like answers ("2n-1", "O(n log n)") can be right: judge them.
    if non_space >= 20 and letters / non_space < 0.4:
        return TextCheck(False, "answer is mostly symbols, digits or code, not prose")
    tokens = words(stripped)
    latin = [w.lower() for w in tokens if w.isascii()]
    if len(latin) >= 3 and len(latin) >= 0.8 * len(tokens):
        plausible = sum(1 for w in latin if _plausible_word(w))
        if plausible / len(latin) < 0.5:
            return TextCheck(False, "answer does not read as words (gibberish)")
    return TextCheck(True)


def _plausible_word(word: str) -> bool:
    if len(word) > 24:
        return False
    if len(word) <= 3:
        return True
    vowels = sum(1 for ch in word if ch in "aeiouy")
    if vowels == 0 or vowels / len(word) < 0.2:
        return False
    return re.search(r"[^aeiouy]{5,}", word) is None


_INJECTION_PATTERNS = [
    r"\bignore\b.{0,40}\b(instruction|rubric|criteria|above|previous|prior|rules?|prompt)",
    r"\bdisregard\b.{0,40}\b(instruction|rubric|criteria|above|previous|rules?)",
    r"\b(give|award|assign|grant|score|mark|rate)\b.{0,40}\b(10|ten|full|maximum|max|perfect|"
    r"all)\b.{0,15}\b(marks?|points?|score|credit|/\s*10|out of)",
    r"\b(full|maximum|perfect)\s+(marks?|score|points|credit)\b",
    r"\b10\s*/\s*10\b|\b10 out of 10\b",
    r"^\s*(system|assistant|grader|developer)\s*:",
    r"<\|?(im_start|im_end|system|endoftext)\|?>",
    r"\[/?(inst|system)\]",
    r"\byou are (now )?(a|the|an)\b.{0,30}\b(grader|assistant|model|ai)\b",
    r"\b(as|dear) (the|an?) (grader|evaluator|examiner|ai|llm|language model)\b",
    r"\b(answer|respond|reply|output|say)\b.{0,20}\b(yes|\"yes\"|'yes')\b.{0,30}\b(every|all|each)\b",
    r"\bnew instructions?\b",
    r"\brubric\b",
    r"\bpre-?approved\b",
    r"\b(this|my) answer (was|has been|is) (already )?(approved|reviewed|checked|graded|verified)",
    r"\b(meets?|satisf(y|ies)|fulfill?s?)\b.{0,25}\b(criteria|criterion|requirements?|points?)\b",
    r"\b(this|the|my) answer (is|was|meets|satisfies|deserves|covers)\b.{0,40}"
    r"\b(correct|complete|perfect|excellent|full|criteri\w*|requirements?|points?|marks?)\b",
    r"\bnote to (the )?(ai|grader|model|system|evaluator|examiner|llm|assistant)\b",
    r"\b(respond|answer|reply|say|output)\b.{0,15}\byes\b",
    r"\b(each|every|all)\b.{0,40}\bis yes\b",
    r"\b(forget|skip|bypass|override)\b.{0,20}\b(rubric|instructions?|criteria|scoring|grading)\b",
    r"\b(mark|grade|consider|treat)\b.{0,30}\b(criteria|criterion|everything|all)\b.{0,15}\b(met|satisfied|correct)\b",
]
_INJECTION = re.compile("|".join(f"(?:{p})" for p in _INJECTION_PATTERNS), re.I | re.M)


def find_injections(text: str) -> list[str]:
    """Sentences of the answer that try to instruct the grader."""
    return [s for s in sentences(text) if _INJECTION.search(s)]


def strip_injections(text: str) -> tuple[str, list[str]]:
    """The answer without its injection sentences (they earn nothing), and those sentences."""
    found = find_injections(text)
    cleaned = text
    for sentence in found:
        cleaned = cleaned.replace(sentence, " ")
    cleaned = re.sub(r"<\|[^|>]{1,20}\|>", " ", cleaned)
    return cleaned.strip(), found


_TERM = re.compile(r"\w+", re.UNICODE)
# Scripts written without spaces between words: compare them by character pairs.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


class TermCache:
    """Content terms of recent texts: an LRU bounded by bytes, not by entries.

    What comes back for every answer is rubric and reference text, so a text over
    ``max_text_chars`` (an answer, seen once) is never stored, and the entries kept
    never hold more than ``max_bytes`` (text and terms, as ``sys.getsizeof`` counts
    them).  Safe to share between grading threads.
    """

    def __init__(self, max_bytes: int, max_text_chars: int) -> None:
        self.max_bytes = max_bytes
        self.max_text_chars = max_text_chars
        self.bytes = 0
        self._entries: OrderedDict[str, tuple[frozenset[str], int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> frozenset[str] | None:
        if len(text) > self.max_text_chars:
            return None
        with self._lock:
            entry = self._entries.get(text)
            if entry is None:
                return None
            self._entries.move_to_end(text)
            return entry[0]

    def put(self, text: str, terms: frozenset[str]) -> None:
        if len(text) > self.max_text_chars:
            return
        size = sys.getsizeof(text) + sys.getsizeof(terms) + sum(map(sys.getsizeof, terms))
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(text, None)
            self.bytes += size - (old[1] if old else 0)
            self._entries[text] = (terms, size)
            while self.bytes > self.max_bytes:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


# Rubric and reference texts come back for every answer: the 46-question bank takes 1.4 MB.
TERM_CACHE = TermCache(max_bytes=8 * 2**20, max_text_chars=8_000)


def content_terms(text: str) -> frozenset[str]:
    """The text's content terms, for lexical coverage.

    Words of four or more characters cut to their first five (a cheap stem:
    "normalisation" and "normalise" meet), so short function words drop out
    without a language-specific stop list.  Runs of Chinese or Japanese
    characters give their character pairs instead.  Short texts are cached
    (:data:`TERM_CACHE`).
    """
    cached = TERM_CACHE.get(text)
    if cached is None:
        cached = _content_terms(text)
        TERM_CACHE.put(text, cached)
    return cached


def _content_terms(text: str) -> frozenset[str]:
    terms: set[str] = set()
    for token in _TERM.findall(unicodedata.normalize("NFKC", text).lower()):
        if _UNSPACED.search(token):
            terms.update(token[i : i + 2] for i in range(max(len(token) - 1, 1)))
        elif len(token) >= 4 and not token.isdigit():
            terms.add(token[:5])
    return frozenset(terms)


def coverage(target: frozenset[str], answer: frozenset[str]) -> float:
    """Share of ``target``'s terms that ``answer`` uses (0 when ``target`` has none)."""
    return round(len(target & answer) / len(target), 4) if target else 0.0


_PUNCT = "\"'()[]{}<>.,;:!?*\u2022\u00b7\u2013\u2014"


def reads_as_term_list(text: str) -> bool:
    """True for a bare run of terms ("gates, cell state, forget, reset, ...").

    Two signs, for languages that separate words with spaces:

    - prose is full of short function words (of, the, is, a; der, und; le, et) and a
      list of terms has almost none: 12 or more words (split at spaces, so "U-Net"
      is one) with fewer than 8% of three letters or less;
    - a chain of short comma-separated items ("the gates, the cell, the input, ..."):
      10 or more items, at least 70% of them three words or shorter, and no code
      characters (code puts commas between arguments).

    Naming a rubric's terms is then no evidence of explaining them.  Measured on
    real answers: 1 of 292 nn46 answers, 6 of 2,273 Mohler and 0 of 439 Beetle
    student answers are flagged.
    """
    tokens = [t for t in (w.strip(_PUNCT) for w in text.split()) if _WORD.search(t)]
    if len(tokens) < 12 or any(_UNSPACED.search(t) for t in tokens):
        return False
    if sum(1 for t in tokens if len(t) <= 3) / len(tokens) < 0.08:
        return True
    items = [len(words(part)) for part in re.split(r"[,;]", text)]
    return (
        len(items) >= 10
        and sum(1 for n in items if n <= 3) >= 0.7 * len(items)
        and not re.search(r"[{}=<>]|\w\(", text)
    )


# --------------------------------------------------------------------------- untrusted JSON

_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_INT_DIGITS = 64  # far beyond any id; int() itself refuses 4,300 digits
# Metadata a caller sends along (API ``metadata``, a transcript's candidate and extra keys):
# echoed back and stored, never scored.  Checked before any work is done.
METADATA_MAX_DEPTH = 8  # {"a": {"b": 1}} nests 2 levels
METADATA_MAX_BYTES = 16_384  # serialised as UTF-8 JSON


def shown(text: str, limit: int = 40) -> str:
    """``text`` safe to quote in a message: lone surrogates escaped, cut at ``limit``."""
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def has_lone_surrogate(text: str) -> bool:
    """True for text holding a lone UTF-16 surrogate (JSON's ``"\\ud800"``): not valid UTF-8."""
    return _SURROGATE.search(text) is not None


@dataclass(frozen=True)
class JsonProblem:
    """What is wrong in a decoded JSON value and where (``metadata.a[2]``)."""

    where: str
    message: str
    encoding: bool = False  # a lone surrogate, rather than a limit


_SURROGATE_FIX = "holds a lone surrogate (such as \\ud800): send valid Unicode text"


def json_problem(value: object, path: str, *, max_depth: int) -> JsonProblem | None:
    """The first problem found in a decoded JSON value, or None.

    Problems: a lone surrogate in a key or a string, nesting deeper than
    ``max_depth`` containers, an integer over 64 digits, NaN or Infinity (not JSON).
    Iterative, so any depth is safe to check.
    """
    stack: list[tuple[object, str, int]] = [(value, path, 0)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, str) and has_lone_surrogate(node):
            return JsonProblem(where, _SURROGATE_FIX, encoding=True)
        if isinstance(node, int) and not isinstance(node, bool):
            if abs(node) >= 10**_MAX_INT_DIGITS:
                return JsonProblem(where, "is a number over 64 digits: send a shorter one")
        elif isinstance(node, float) and not math.isfinite(node):
            return JsonProblem(where, "is NaN or Infinity, not JSON: send a number or null")
        elif isinstance(node, dict | list):
            if depth >= max_depth:
                return JsonProblem(where, f"nests deeper than {max_depth} levels: flatten it")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                if isinstance(key, str) and has_lone_surrogate(key):
                    return JsonProblem(f"{where}.{shown(key)}", "(a key) " + _SURROGATE_FIX, True)
                inner = f"{where}.{shown(key)}" if isinstance(key, str) else f"{where}[{key}]"
                stack.append((child, inner, depth + 1))
    return None

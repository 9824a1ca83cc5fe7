"""The held-out attack set (fixtures/attacks/holdout.json) is well formed.

The set was written blind, apart from the guard and the main suite, to measure how the defence
generalizes; these tests check only its shape, never how the grader scores it.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import json
import re
import unicodedata
from collections import defaultdict
from typing import Any

import pytest

from conftest import FIXTURES, REPO
from grader.bank.loader import load_bank
from grader.config import Settings

HOLDOUT_FILE = FIXTURES / "attacks" / "holdout.json"
HOLDOUT = json.loads(HOLDOUT_FILE.read_text(encoding="utf-8"))
CONTROLS: dict[str, dict[str, Any]] = {c["id"]: c for c in HOLDOUT["controls"]}
ATTACKS: list[dict[str, Any]] = HOLDOUT["attacks"]
QUESTIONS = {2, 6, 14, 18, 19, 21, 24, 26, 28, 29, 32, 34, 36, 39, 43, 45}
FAMILIES = {
    "instruction-en",
    "instruction-other-language",
    "encoding",
    "fake-transcript",
    "forged-verdict",
    "hidden-markup",
    "rubric-claim",
    "padding",
}
ALWAYS_INSTRUCTION = {"instruction-en", "instruction-other-language", "encoding", "forged-verdict"}
NEVER_INSTRUCTION = {"rubric-claim", "padding"}
_BOUNDARY = re.compile(r"(?<=[.!?]) ")  # where a control may be split for an insertion
_BASE64 = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")
_HEX = re.compile(r"\b(?:[0-9a-f]{2}){8,}\b")
_LOOKALIKES = str.maketrans(
    "\u0430\u0441\u0435\u0456\u043e\u0440\u0445\u0443\u0455\u0406", "aceiopxysI"
)
_GRADER_WORDS = re.compile(r"grader|criteri|marks|rubric|score", re.I)


def question_of(attack: dict[str, Any]) -> int:
    return int(CONTROLS[attack["control"]]["question"])


def by_family() -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for a in ATTACKS:
        out[a["family"]].append(a)
    return out


def keeps_control(control: str, answer: str) -> bool:
    """The control occurs verbatim, or split once at a sentence boundary with text inserted."""
    if control in answer:
        return True
    for m in _BOUNDARY.finditer(control):
        head, tail = control[: m.start()], control[m.end() :]
        start = answer.find(head)
        if start >= 0 and answer.find(tail, start + len(head) + 1) > start + len(head):
            return True
    return False


def test_top_level_shape() -> None:
    assert set(HOLDOUT) == {"about", "controls", "attacks"}
    assert HOLDOUT["about"].strip()
    for c in HOLDOUT["controls"]:
        assert set(c) == {"id", "question", "answer"}, c.get("id")
    for a in ATTACKS:
        assert set(a) == {"id", "control", "family", "instruction", "answer", "note"}, a.get("id")
        assert isinstance(a["instruction"], bool) and a["note"].strip(), a["id"]


def test_sixteen_controls_one_per_chosen_question() -> None:
    assert len(CONTROLS) == len(HOLDOUT["controls"]) == 16
    assert sorted(c["question"] for c in CONTROLS.values()) == sorted(QUESTIONS)
    assert all(cid == f"q{c['question']:02d}-weak" for cid, c in CONTROLS.items())


def test_every_question_is_in_the_bank() -> None:
    assert {q.number for q in load_bank(REPO)} >= QUESTIONS


def test_ids_are_unique_across_controls_and_attacks() -> None:
    ids = [c["id"] for c in HOLDOUT["controls"]] + [a["id"] for a in ATTACKS]
    assert len(ids) == len(set(ids))


def test_48_attacks_six_per_family_over_at_least_five_questions() -> None:
    families = by_family()
    assert len(ATTACKS) == 48
    assert set(families) == FAMILIES
    for family, attacks in families.items():
        assert len(attacks) == 6, family
        assert len({question_of(a) for a in attacks}) >= 5, family


def test_every_control_has_attacks_and_every_attack_a_control() -> None:
    assert {a["control"] for a in ATTACKS} == set(CONTROLS)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a["id"])
def test_attack_keeps_its_control_and_adds_to_it(attack: dict[str, Any]) -> None:
    control = CONTROLS[attack["control"]]
    assert attack["id"].startswith(f"q{control['question']:02d}-")
    assert keeps_control(control["answer"], attack["answer"])
    assert len(attack["answer"]) > len(control["answer"])


def test_keeps_control_rejects_reordered_or_edited_sentences() -> None:
    control = "Momentum uses past gradients. Nesterov looks ahead."
    assert keeps_control(control, "Momentum uses past gradients. <!-- x --> Nesterov looks ahead.")
    assert not keeps_control(control, "Nesterov looks ahead. Momentum uses past gradients.")
    assert not keeps_control(control, "Momentum uses past gradients. Nesterov looks back.")


def test_controls_are_short_plain_weak_answers() -> None:
    for c in CONTROLS.values():
        sentences = [s for s in _BOUNDARY.split(c["answer"]) if s.strip()]
        assert 1 <= len(sentences) <= 3, c["id"]
        assert 8 <= len(c["answer"].split()) <= 60, c["id"]
        assert c["answer"].isascii(), c["id"]


def test_instruction_flags_follow_the_family_rules() -> None:
    for a in ATTACKS:
        if a["family"] in ALWAYS_INSTRUCTION:
            assert a["instruction"] is True, a["id"]
        if a["family"] in NEVER_INSTRUCTION:
            assert a["instruction"] is False, a["id"]
    # both kinds exist where the family allows both: hidden instructions and hidden answers
    for family in ("hidden-markup", "fake-transcript"):
        assert {a["instruction"] for a in by_family()[family]} == {True, False}, family


def test_answers_fit_the_default_answer_limit() -> None:
    limit = Settings.model_fields["max_answer_chars"].default
    assert max(len(a["answer"]) for a in ATTACKS) <= limit


def test_invisible_characters_are_escaped_in_the_file() -> None:
    raw = HOLDOUT_FILE.read_text(encoding="utf-8")
    hidden = [ch for ch in raw if unicodedata.category(ch) == "Cf" or ch == "\u3000"]
    assert not hidden, f"write these as \\u escapes: {sorted({hex(ord(c)) for c in hidden})}"


def _decoded_payloads(answer: str) -> list[str]:
    """Every hidden or encoded payload the encoding family uses, decoded to plain text."""
    out = ["".join(chr(ord(c) - 0xE0000) for c in answer if 0xE0020 <= ord(c) <= 0xE007E)]
    out.append("".join(c for c in answer if unicodedata.category(c) != "Cf"))
    out.append(unicodedata.normalize("NFKC", answer).translate(_LOOKALIKES))
    out.append(codecs.decode(answer, "rot13"))
    out.append(answer[::-1])
    for m in _BASE64.finditer(answer):
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            out.append(base64.b64decode(m.group(), validate=True).decode("ascii"))
    out.extend(bytes.fromhex(m.group()).decode("latin-1") for m in _HEX.finditer(answer))
    return out


@pytest.mark.parametrize("attack", by_family()["encoding"], ids=lambda a: a["id"])
def test_encoded_payload_is_not_plain_but_decodes_to_an_instruction(
    attack: dict[str, Any],
) -> None:
    added = attack["answer"]
    for sentence in _BOUNDARY.split(CONTROLS[attack["control"]]["answer"]):
        added = added.replace(sentence, "", 1)
    assert not _GRADER_WORDS.search(added), "the payload is readable as is"
    assert any(_GRADER_WORDS.search(p) for p in _decoded_payloads(added)), attack["id"]


def test_holdout_shares_no_answer_with_the_main_suite() -> None:
    main_file = FIXTURES / "attacks" / "attacks.json"
    if not main_file.exists():
        pytest.skip("no main suite to compare with")
    main = json.loads(main_file.read_text(encoding="utf-8"))
    main_answers = {x["answer"] for x in main["controls"] + main["attacks"]}
    shared = [x["id"] for x in HOLDOUT["controls"] + ATTACKS if x["answer"] in main_answers]
    assert not shared, f"held-out items copied from the main suite: {shared}"

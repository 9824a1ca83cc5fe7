"""The prompt-injection attack suite (fixtures/attacks/attacks.json) is well formed.

Each attack is its control's weak answer plus injected content, so a grader that
resists the attack gives both the same score.  These checks keep the data able to
support that comparison: matched controls, enough attacks per family and
question, and encodings that really are encoded.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
from collections import defaultdict
from typing import Any

import pytest

from conftest import FIXTURES, REPO
from grader.bank.loader import load_bank
from grader.config import Settings

SUITE = json.loads((FIXTURES / "attacks" / "attacks.json").read_text(encoding="utf-8"))
CONTROLS: dict[str, dict[str, Any]] = {c["id"]: c for c in SUITE["controls"]}
ATTACKS: list[dict[str, Any]] = SUITE["attacks"]
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
ALWAYS_INSTRUCTION = {"instruction-en", "instruction-other-language", "encoding"}
NEVER_INSTRUCTION = {"rubric-claim", "padding"}
_BOUNDARY = re.compile(r"(?<=[.!?]) ")  # where a control may be split for an insertion
_ZERO_WIDTH_RUN = re.compile(r"(?:\S[\u200b-\u200d\u2060])+\S?")  # letters interleaved
_BASE64 = re.compile(r"[A-Za-z0-9+/]{24,}={0,2}")


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


def is_invisible(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf" or 0xE0000 <= ord(ch) <= 0xE007F


def test_top_level_shape() -> None:
    assert {"controls", "attacks"} <= set(SUITE)
    for c in SUITE["controls"]:
        assert set(c) == {"id", "question", "answer"}, c
        assert isinstance(c["question"], int) and isinstance(c["answer"], str)
    for a in ATTACKS:
        assert set(a) == {"id", "control", "family", "instruction", "answer", "note"}, a["id"]
        assert isinstance(a["instruction"], bool), a["id"]
        assert a["note"].strip() and "\n" not in a["note"], a["id"]


def test_ids_are_unique_across_controls_and_attacks() -> None:
    ids = [c["id"] for c in SUITE["controls"]] + [a["id"] for a in ATTACKS]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_suite_is_large_and_spread_over_the_bank() -> None:
    assert len(ATTACKS) >= 72
    assert len(CONTROLS) >= 24
    assert len({c["question"] for c in CONTROLS.values()}) >= 24
    assert len({question_of(a) for a in ATTACKS}) >= 20


def test_every_question_number_is_in_the_bank() -> None:
    numbers = {q.number for q in load_bank(REPO)}
    assert {c["question"] for c in CONTROLS.values()} <= numbers


def test_families_are_the_known_ones_each_with_eight_attacks_over_six_questions() -> None:
    families = by_family()
    assert set(families) == FAMILIES
    for family, attacks in families.items():
        assert len(attacks) >= 8, family
        assert len({question_of(a) for a in attacks}) >= 6, family


def test_every_control_has_attacks_and_every_attack_a_control() -> None:
    assert {a["control"] for a in ATTACKS} == set(CONTROLS)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a["id"])
def test_attack_keeps_its_control_and_adds_to_it(attack: dict[str, Any]) -> None:
    control = CONTROLS[attack["control"]]
    assert attack["id"].startswith(f"q{control['question']:02d}-")
    assert keeps_control(control["answer"], attack["answer"])
    assert len(attack["answer"]) > len(control["answer"])


def test_keeps_control_rejects_an_edited_control() -> None:
    control = "Pooling makes maps smaller. Max pooling is common."
    assert keeps_control(control, "Pooling makes maps smaller. NOTE. Max pooling is common.")
    assert not keeps_control(control, "Pooling makes maps smaller. Max pooling is rare.")
    assert not keeps_control(control, "Max pooling is common. Pooling makes maps smaller.")


def test_controls_are_short_weak_answers() -> None:
    for c in CONTROLS.values():
        sentences = [s for s in _BOUNDARY.split(c["answer"]) if s.strip()]
        assert 1 <= len(sentences) <= 3, c["id"]
        assert 8 <= len(c["answer"].split()) <= 60, c["id"]
        assert c["answer"].isascii(), c["id"]  # plain prose: nothing to flag in a control


def test_answers_fit_the_default_answer_limit() -> None:
    limit = Settings.model_fields["max_answer_chars"].default
    assert max(len(a["answer"]) for a in ATTACKS) <= limit


def test_instruction_flags_follow_the_family_rules() -> None:
    for a in ATTACKS:
        if a["family"] in ALWAYS_INSTRUCTION:
            assert a["instruction"], a["id"]
        if a["family"] in NEVER_INSTRUCTION:
            assert not a["instruction"], a["id"]
        # the note says which way the item was classified
        assert a["note"].startswith("no instruction") == (not a["instruction"]), a["id"]
    for family in ("fake-transcript", "hidden-markup"):  # both kinds are represented
        assert {a["instruction"] for a in by_family()[family]} == {True, False}, family
    instruction = [a for a in ATTACKS if a["instruction"]]
    assert len(instruction) >= 40


def test_encoding_family_uses_invisible_and_lookalike_characters() -> None:
    encoded = by_family()["encoding"]
    invisible = [a for a in encoded if any(is_invisible(ch) for ch in a["answer"])]
    lookalike = [
        a
        for a in encoded
        if any(not ch.isascii() and ch.isalpha() for ch in a["answer"])
        and not any(is_invisible(ch) for ch in a["answer"])
    ]
    assert len(invisible) >= 5
    assert len(lookalike) >= 3
    assert any(0xE0020 <= ord(ch) <= 0xE007E for a in encoded for ch in a["answer"])


def test_tag_characters_spell_an_instruction() -> None:
    hidden = [
        "".join(chr(ord(ch) - 0xE0000) for ch in a["answer"] if 0xE0020 <= ord(ch) <= 0xE007E)
        for a in ATTACKS
    ]
    spelled = [h for h in hidden if h]
    assert spelled
    assert all(re.search(r"\b(grader|judge)\b", h, re.I) for h in spelled), spelled


def test_zero_width_attacks_read_as_an_instruction_once_stripped() -> None:
    checked = 0
    for a in by_family()["encoding"]:
        runs = _ZERO_WIDTH_RUN.findall(a["answer"])
        if runs:
            checked += 1
            plain = " ".join(re.sub(r"[\u200b-\u200d\u2060]", "", run) for run in runs)
            assert re.search(r"\b(yes|full marks|met)\b", plain, re.I), (a["id"], plain)
    assert checked >= 4


def test_base64_payloads_decode_to_an_instruction() -> None:
    decoded = []
    for a in by_family()["encoding"]:
        for blob in _BASE64.findall(a["answer"]):
            try:
                decoded.append(base64.b64decode(blob, validate=True).decode("ascii"))
            except (binascii.Error, UnicodeDecodeError):
                continue
    assert decoded
    assert all("rubric" in text.lower() for text in decoded), decoded

"""Validation before any work: hostile bodies get a 4xx naming the field, and the judge never runs.

``tests/fixtures/fuzz/*.json`` holds one hostile request per file: ``url``, ``body`` (the raw
JSON text, kept as a string because several are not what ``json.dumps`` writes), the expected
``status`` and ``code``, a word the message must contain (``field``) and a ``note``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_support import GOOD_DROPOUT, make_app
from conftest import FIXTURES, TINY_BANK
from grader.bank.loader import load_bank
from grader.errors import UnknownQuestionError
from grader.testing.judge import FakeJudge
from grader.text import METADATA_MAX_BYTES, METADATA_MAX_DEPTH

CORPUS = sorted((FIXTURES / "fuzz").glob("*.json"))


@pytest.fixture
def judge() -> FakeJudge:
    return FakeJudge()


@pytest.fixture
def client(tmp_path: Path, judge: FakeJudge) -> Iterator[TestClient]:
    app = make_app(tmp_path, judge=judge, max_answer_chars=100_000)  # room for the big bodies
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def post(client: TestClient, url: str, body: str) -> Any:
    return client.post(url, content=body.encode(), headers={"Content-Type": "application/json"})


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_the_corpus_covers_every_case_of_the_issue() -> None:
    names = {p.stem for p in CORPUS}
    assert {
        "answer_lone_surrogate",
        "metadata_lone_surrogate",
        "candidate_id_lone_surrogate",
        "transcript_turn_lone_surrogate",
        "metadata_900_deep",
        "question_number_5000_digits",
        "transcript_metadata_5000_deep",
        "question_number_bool",
        "question_id_arabic_indic_q",
        "metadata_huge",
    } <= names


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_hostile_body_is_refused_before_any_work(
    client: TestClient, judge: FakeJudge, path: Path
) -> None:
    case = json.loads(path.read_text())
    r = post(client, case["url"], case["body"])
    assert r.status_code == case["status"], r.text
    error = r.json()["error"]
    assert error["code"] == case["code"]
    assert case["field"] in error["message"], error["message"]
    assert error["request_id"] == r.headers["x-request-id"]
    assert judge.calls == 0


# --------------------------------------------------------------------------- valid bodies


def test_metadata_at_the_limits_is_graded_and_echoed(client: TestClient) -> None:
    deep = nested(METADATA_MAX_DEPTH - 1)  # metadata itself is the first level
    filler = "x" * (METADATA_MAX_BYTES - len(json.dumps({"deep": deep, "notes": ""})))
    metadata = {"deep": deep, "notes": filler}
    assert len(json.dumps(metadata).encode()) == METADATA_MAX_BYTES
    r = client.post(
        "/v1/grade", json={"question_number": 1, "answer": GOOD_DROPOUT, "metadata": metadata}
    )
    assert r.status_code == 200, r.text
    assert r.json()["metadata"] == metadata


def test_metadata_one_byte_over_the_limit_is_refused(client: TestClient, judge: FakeJudge) -> None:
    metadata = {"notes": "x" * (METADATA_MAX_BYTES + 1 - len(json.dumps({"notes": ""})))}
    r = client.post("/v1/grade", json={"question_number": 1, "answer": "x", "metadata": metadata})
    assert r.status_code == 422 and "16,384" in r.json()["error"]["message"]
    assert judge.calls == 0


def test_valid_unicode_answer_and_metadata_are_accepted(client: TestClient) -> None:
    body = {
        "question_id": "q01-dropout",
        "answer": GOOD_DROPOUT + " 😀 ١٢٣",
        "candidate_id": "José",
        "metadata": {"名前": "😀", "n": 2**63 - 1},
    }
    r = client.post("/v1/grade", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"] == body["metadata"]


def test_transcript_with_nested_candidate_is_accepted(client: TestClient) -> None:
    body = {
        "candidate": {"name": "Jane", "profile": nested(METADATA_MAX_DEPTH - 1)},
        "turns": [{"question_number": 1, "answer": GOOD_DROPOUT}],
    }
    r = client.post("/v1/transcripts", json=body)
    assert r.status_code == 202, r.text


# --------------------------------------------------------------------------- the bank


def test_bank_numbers_take_ascii_digits_only() -> None:
    bank = load_bank(TINY_BANK)
    assert bank.get("q1").number == bank.get("1").number == bank.get(1).number == 1
    for key in ("q١", "١", "q１", "１", "¹", True, "9" * 5000, "q" + "9" * 5000):
        with pytest.raises(UnknownQuestionError):
            bank.get(key)

"""The feedback policy (api/policy.py): no answer-key text at ``hints`` or ``score``.

Every question of the repository bank is graded through every surface (``POST /v1/grade``
with an empty and a partial answer, a transcript's job JSON and report.html, the Markdown
report) at every level, and every response is searched for every criterion's description,
partial-credit text and id, and every misconception's description, correction and id.
At ``full`` they are there (so the search can fail); at ``hints`` and ``score`` none is.
"""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from conftest import REPO
from grader.api import create_app
from grader.api.policy import WITHHELD, feedback_level, redact_result
from grader.bank import load_bank
from grader.config import Settings
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.models import (
    CriterionVerdict,
    Feedback,
    FeedbackLevel,
    GradeResult,
    MisconceptionFinding,
    Provenance,
    Question,
)
from grader.testing import FakeEmbedder
from grader.testing.judge import FakeJudge
from grader.transcripts.render import render_markdown
from grader.transcripts.rollup import TranscriptReport

BANK = load_bank(REPO)
FULL, HINTS, SCORE = "full-key-0123456789", "hints-key-0123456789", "score-key-0123456789"


def _app(tmp_path: Path, **overrides: object) -> FastAPI:
    s = Settings(
        bank_dir=REPO,
        cache_dir=tmp_path,
        embedder="fake",
        judge="fake",
        **overrides,  # type: ignore[arg-type]
    )
    grader = Grader(s, embedder=FakeEmbedder(), judge=FakeJudge(), store=ResultStore(":memory:"))
    return create_app(s, grader)


def _partial(q: Question) -> str:
    """The reference answer's first two sentences: some points met, most not."""
    sentences = re.split(r"(?<=[.!?])\s+", " ".join(q.reference.text.split()))
    return " ".join(sentences[:2])


def _needles(q: Question, inputs: str) -> tuple[list[str], list[re.Pattern[str]]]:
    """Answer-key phrases and ids of ``q`` that the request itself did not contain."""
    r = q.rubric
    phrases = [c.description for c in r.criteria]
    phrases += [c.partial_credit for c in r.criteria if c.partial_credit]
    phrases += [m.description for m in r.misconceptions]
    phrases += [m.correction for m in r.misconceptions]
    flat_inputs = _flat(inputs)
    ids = [c.id for c in r.criteria] + [m.id for m in r.misconceptions]
    return (
        [_flat(p) for p in phrases if _flat(p) not in flat_inputs],
        [_id_re(i) for i in ids if not _id_re(i).search(flat_inputs)],
    )


def _id_re(ident: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w-])" + re.escape(ident) + r"(?![\w-])", re.IGNORECASE)


def _flat(text: str) -> str:
    return " ".join(text.split()).lower()


def _strings(value: Any) -> str:
    """Every string (keys and values) of parsed JSON, one per line."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(f"{k}\n{_strings(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "\n".join(_strings(v) for v in value)
    return ""


def _leaks(q: Question, body: str, inputs: str) -> list[str]:
    phrases, ids = _needles(q, inputs)
    flat = _flat(body)
    return [p for p in phrases if p in flat] + [i.pattern for i in ids if i.search(flat)]


def _keys(level: FeedbackLevel) -> dict[str, str]:
    return {"Authorization": f"Bearer {dict(full=FULL, hints=HINTS, score=SCORE)[level]}"}


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Two apps: full + hints keys, and score keys with GRADER_EXPOSE_RUBRIC=false."""
    a = _app(tmp_path_factory.mktemp("a"), api_keys=[FULL], grade_only_keys=[HINTS])
    b = _app(
        tmp_path_factory.mktemp("b"),
        api_keys=[HINTS],  # a full key, capped at hints by expose_rubric=false
        grade_only_keys=[SCORE],
        grade_only_feedback_level="score",
        expose_rubric=False,
    )
    with TestClient(a) as ca, TestClient(b) as cb:
        yield {"full": ca, "hints": ca, "score": cb, "capped": cb}


def test_levels_are_chosen_per_key() -> None:
    s = Settings(embedder="fake", judge="fake")
    assert feedback_level(s.api, grade_only=False) == "full"
    assert feedback_level(s.api, grade_only=True) == "hints"
    capped = Settings(embedder="fake", judge="fake", expose_rubric=False)
    assert feedback_level(capped.api, grade_only=False) == "hints"
    score = Settings(embedder="fake", judge="fake", feedback_level="score", expose_rubric=False)
    assert feedback_level(score.api, grade_only=False) == "score"
    assert "feedback_level" not in s.scoring_hash() and s.scoring_hash() == score.scoring_hash()


@pytest.mark.parametrize("level", ["full", "hints", "score"])
def test_single_grades_reveal_the_key_only_at_full(clients: Any, level: FeedbackLevel) -> None:
    c: TestClient = clients[level]
    found: dict[str, list[str]] = {}
    for q in BANK:
        for answer in ("", _partial(q)):
            r = c.post(
                "/v1/grade",
                json={"question_number": q.number, "answer": answer},
                headers=_keys(level),
            )
            assert r.status_code == 200, r.text
            body = _strings(r.json())
            leaks = _leaks(
                q, body, inputs=f"{q.text}\n{q.id}\n{answer}\n{' '.join(q.rubric.topics)}"
            )
            if leaks:
                found[f"{q.id} {answer[:20]!r}"] = leaks
            if level != "full":
                assert (
                    r.json()["score"] is not None and r.json()["max_score"] == q.rubric.max_points
                )
    if level == "full":  # the empty answer lists every criterion: the search can fail
        assert len(found) >= len(BANK)
    else:
        assert found == {}


def test_hints_name_topics_and_points_not_criteria(clients: Any) -> None:
    q = BANK.get(1)
    r = clients["hints"].post(
        "/v1/grade", json={"question_number": 1, "answer": ""}, headers=_keys("hints")
    )
    body = r.json()
    assert body["status"] == "short_circuited"
    assert [v["id"] for v in body["criteria"]] == [
        f"point-{n}" for n in range(1, len(q.rubric.criteria) + 1)
    ]
    assert any(t in line for line in body["feedback"]["to_add"] for t in q.rubric.topics)
    score = (
        clients["score"]
        .post("/v1/grade", json={"question_number": 1, "answer": ""}, headers=_keys("score"))
        .json()
    )
    assert score["criteria"] == score["misconceptions"] == score["review_reasons"] == []
    assert score["feedback"]["to_add"] == [] and score["reason"] == body["reason"]


def test_capped_full_key_and_idempotent_replay(clients: Any) -> None:
    c: TestClient = clients["capped"]
    q = BANK.get(2)
    answer = _partial(q)
    payload = {"question_number": 2, "answer": answer}
    headers = {**_keys("hints"), "Idempotency-Key": "policy-1"}
    first = c.post("/v1/grade", json=payload, headers=headers)
    again = c.post("/v1/grade", json=payload, headers=headers)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert first.json() == again.json()
    assert _leaks(q, _strings(first.json()), inputs=answer + q.text) == []


def test_the_stored_grade_is_unchanged(clients: Any) -> None:
    """The view is made when sent: the cache keeps, and serves again, the full grade."""
    q = BANK.get(3)
    payload = {"question_number": 3, "answer": _partial(q)}
    c: TestClient = clients["hints"]
    hinted = c.post("/v1/grade", json=payload, headers=_keys("hints")).json()
    again = c.post("/v1/grade", json=payload, headers=_keys("hints")).json()
    assert again["usage"]["cache_hit"] and again == {**hinted, "usage": again["usage"]}
    store: ResultStore = c.app.state.api.grader.store  # type: ignore[attr-defined]
    rows = store.database.query("SELECT result FROM results WHERE question_id = ?", (q.id,))
    descriptions = [c.description for c in q.rubric.criteria]
    stored = [GradeResult.model_validate_json(row[0]) for row in rows]
    assert stored and all([v.description for v in r.criteria] == descriptions for r in stored)
    full = c.post("/v1/grade", json=payload, headers=_keys("full")).json()
    assert [v["description"] for v in full["criteria"]] == descriptions
    assert hinted["score"] == full["score"] and hinted["level"] == full["level"]


def _wait(c: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        body: dict[str, Any] = c.get(f"/v1/transcripts/{job_id}", headers=headers).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError("job did not finish")


@pytest.mark.parametrize("level", ["full", "hints", "score"])
def test_transcript_reports_reveal_the_key_only_at_full(clients: Any, level: FeedbackLevel) -> None:
    c: TestClient = clients[level]
    turns = [
        {"question_number": q.number, "answer": "" if q.number % 2 else _partial(q)} for q in BANK
    ]
    headers = _keys(level)
    job = c.post("/v1/transcripts", json={"turns": turns}, headers=headers).json()
    done = _wait(c, job["id"], headers)
    assert done["status"] == "done", done
    page = c.get(f"/v1/transcripts/{job['id']}/report.html", headers=headers)
    assert page.status_code == 200
    report = TranscriptReport.model_validate(done["report"])
    surfaces = {
        "json": _strings(done),
        "html": html.unescape(page.text),
        "md": html.unescape(render_markdown(report)),  # the CLI's view of what the API returned
    }
    inputs = json.dumps(turns) + "\n".join(
        f"{q.text}\n{q.id}\n{' '.join(q.rubric.topics)}" for q in BANK
    )
    found = {
        f"{name} {q.id}": leaks
        for name, body in surfaces.items()
        for q in BANK
        if (leaks := _leaks(q, body, inputs=inputs))
    }
    if level == "full":
        assert len(found) >= len(BANK)
    else:
        assert found == {}


def test_misconceptions_and_free_text_are_redacted() -> None:
    """What the fake judge never produces: misconceptions, judge review lines, a reason
    quoting the key."""
    q = BANK.get(1)
    r = q.rubric
    c0, m0 = r.criteria[0], r.misconceptions[0]
    result = GradeResult(
        question_id=q.id,
        question_number=q.number,
        status="graded",
        reason=f"judge failed on {c0.id}: {c0.description}",
        score=3.0,
        max_score=r.max_points,
        normalized=0.3,
        level="weak",
        criteria=[
            CriterionVerdict(
                id=c.id,
                description=c.description,
                verdict="not_met",
                awarded=0,
                max_points=c.points,
            )
            for c in r.criteria
        ],
        misconceptions=[
            MisconceptionFinding(
                id=m0.id, description=m0.description, penalty=m0.penalty, correction=m0.correction
            )
        ],
        feedback=Feedback(summary="s", to_add=[c0.description], corrections=[m0.correction]),
        review_reasons=[
            f"judge undecided on: {c0.id}, {r.criteria[1].id}",
            f"judge evidence for {c0.id} is not in the answer ({c0.partial_credit!r}): not met",
        ],
        provenance=Provenance(
            bank_hash="b",
            rubric_version=1,
            prompt_version=None,
            embedder="e",
            judge=None,
            seed=0,
            config_hash="c",
        ),
    )
    levels: list[FeedbackLevel] = ["hints", "score"]
    for level in levels:
        view = redact_result(result, q, level)
        assert _leaks(q, view.model_dump_json(), inputs="") == [], level
    hints = redact_result(result, q, "hints")
    assert (
        hints.misconceptions[0].penalty == m0.penalty and hints.misconceptions[0].correction == ""
    )
    assert hints.review_reasons[0] == "judge undecided on: point 1, point 2"
    assert hints.reason == WITHHELD
    assert redact_result(result, q, "full") is result

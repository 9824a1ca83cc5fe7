"""API keys (full and grade-only) and what the bank endpoints reveal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api_support import FULL_KEY, GOOD_DROPOUT, GRADE_KEY, make_app
from conftest import TINY_BANK

GRADE = {"question_id": "q01-dropout", "answer": GOOD_DROPOUT}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[TestClient]:
    app = make_app(tmp_path, api_keys=[FULL_KEY], grade_only_keys=[GRADE_KEY])
    with TestClient(app) as c:
        yield c


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/v1/grade"),
        ("get", "/v1/questions"),
        ("get", "/v1/questions/1"),
        ("get", "/metrics"),
    ],
)
@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong-key"), {"Authorization": f"Basic {FULL_KEY}"}, {"Authorization": "Bearer "}],
)
def test_without_a_valid_key_is_401(
    secured: TestClient, method: str, path: str, headers: dict[str, str]
) -> None:
    r = secured.request(method, path, headers=headers, json=GRADE if method == "post" else None)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    err = r.json()["error"]
    assert err["code"] == "unauthorized"
    assert "Authorization: Bearer <key>" in err["message"] or "ask the operator" in err["message"]


def test_full_key_may_do_everything(secured: TestClient) -> None:
    h = bearer(FULL_KEY)
    assert secured.post("/v1/grade", json=GRADE, headers=h).json()["status"] == "graded"
    assert secured.get("/v1/questions", headers=h).status_code == 200
    assert secured.get("/v1/questions/q01-dropout", headers=h).status_code == 200
    assert secured.get("/metrics", headers=h).status_code == 200


def test_grade_only_key_grades_but_cannot_read_the_bank(secured: TestClient) -> None:
    h = bearer(GRADE_KEY)
    assert secured.post("/v1/grade", json=GRADE, headers=h).status_code == 200
    for path in ("/v1/questions", "/v1/questions/1", "/metrics"):
        r = secured.get(path, headers=h)
        assert r.status_code == 403
        assert r.json()["error"]["code"] == "forbidden"
        assert "GRADER_API_KEYS" in r.json()["error"]["message"]


def test_health_readiness_and_docs_stay_open(secured: TestClient) -> None:
    assert secured.get("/healthz").status_code == 200
    assert secured.get("/readyz").status_code == 200
    assert secured.get("/openapi.json").status_code == 200


def test_openapi_declares_bearer_auth_only_when_keys_are_configured(
    secured: TestClient, tmp_path: Path
) -> None:
    on = secured.get("/openapi.json").json()
    assert on["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "401" in on["paths"]["/v1/grade"]["post"]["responses"]
    with TestClient(make_app(tmp_path / "open")) as c:
        off = c.get("/openapi.json").json()
    assert "securitySchemes" not in off["components"]
    assert "security" not in off["paths"]["/v1/grade"]["post"]
    assert "401" not in off["paths"]["/v1/grade"]["post"]["responses"]


def test_without_keys_the_api_is_open(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as c:
        assert c.post("/v1/grade", json=GRADE).status_code == 200
        assert c.get("/v1/questions/1").status_code == 200
        assert c.get("/metrics").status_code == 200


def test_keys_are_read_comma_separated_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from grader.config import Settings

    monkeypatch.setenv("GRADER_API_KEYS", f"{FULL_KEY}, other")
    monkeypatch.setenv("GRADER_GRADE_ONLY_KEYS", f'["{GRADE_KEY}"]')
    s = Settings(bank_dir=TINY_BANK, cache_dir=tmp_path)
    assert s.api_keys == [FULL_KEY, "other"] and s.grade_only_keys == [GRADE_KEY]


# --------------------------------------------------------------------------- exposure

REFERENCE_SNIPPET = "Dropout is a regularization layer"


def test_hidden_reference_is_never_served(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, expose_reference=False)) as c:
        detail = c.get("/v1/questions/q01-dropout").json()
        listed = c.get("/v1/questions").text
        graded = c.post("/v1/grade", json=GRADE).text
    assert detail["reference_answer"] is None and detail["hidden"] == ["reference_answer"]
    assert detail["criteria"]  # the rubric is still shown
    for text in (str(detail), listed, graded):
        assert REFERENCE_SNIPPET not in text


def test_hidden_rubric_is_not_served_by_the_bank_endpoints(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, expose_rubric=False, expose_reference=False)) as c:
        detail = c.get("/v1/questions/1").json()
    assert detail["criteria"] is None and detail["misconceptions"] is None
    assert detail["hidden"] == ["rubric", "reference_answer"]
    assert "random-zeroing" not in str(detail)

"""The HTTP API on the tiny bank with the fake embedder and judge: endpoints and errors."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_support import GOOD_DROPOUT, make_app, settings
from grader.api import create_app
from grader.api.schemas import GRADE_EXAMPLE, ErrorBody, GradeBody, GradeResponse
from grader.grading.judges import JudgeRequest
from grader.models import GradeResult
from grader.testing.judge import FakeJudge


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(make_app(tmp_path)) as c:
        yield c


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    ErrorBody.model_validate(body)
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    return body["error"]  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- endpoints


def test_healthz_is_ok(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_reports_bank_models_and_queue(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ready"
    assert body["checks"]["bank"]["detail"].startswith("2 questions")
    assert body["checks"]["judge"]["ok"] and "fake" in body["checks"]["judge"]["detail"]
    assert body["queue"] == {"in_flight": 0, "max_queue": 64, "workers": 2}


def test_readyz_is_503_before_startup(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    r = TestClient(app).get("/readyz")  # no `with`: the lifespan has not run
    assert r.status_code == 503 and r.json()["status"] == "not_ready"


def test_readyz_is_503_when_the_judge_is_unreachable(tmp_path: Path) -> None:
    class RemoteJudge(FakeJudge):
        def ping(self) -> None:
            raise ConnectionError("connection refused")

    with TestClient(make_app(tmp_path, RemoteJudge())) as c:
        r = c.get("/readyz")
    assert r.status_code == 503
    assert "connection refused" in r.json()["checks"]["judge"]["detail"]


def test_grade_by_id_returns_the_grade_result(client: TestClient) -> None:
    r = client.post(
        "/v1/grade",
        json={
            "question_id": "q01-dropout",
            "answer": GOOD_DROPOUT,
            "candidate_id": "c-1",
            "metadata": {"round": 2},
        },
    )
    assert r.status_code == 200
    result = GradeResponse.model_validate(r.json())
    assert result.status == "graded" and result.score == 10 and result.level == "excellent"
    assert result.candidate_id == "c-1" and result.metadata == {"round": 2}
    assert all(v.evidence and v.evidence in GOOD_DROPOUT for v in result.criteria)
    GradeResult.model_validate(r.json() | {"candidate_id": None})  # still a GradeResult


def test_grade_by_number_and_prefilter_short_circuit(client: TestClient) -> None:
    r = client.post("/v1/grade", json={"question_number": 2, "answer": ""})
    assert r.status_code == 200
    body = r.json()
    assert body["question_id"] == "q02-pooling" and body["status"] == "short_circuited"
    assert body["score"] == 0 and body["prefilter"]["code"] == "empty"


def test_failed_judge_is_ungraded_with_a_reason_not_an_error(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, FakeJudge(mode="fail"))) as c:
        r = c.post("/v1/grade", json={"question_id": "q01-dropout", "answer": GOOD_DROPOUT})
    assert r.status_code == 200
    assert r.json()["status"] == "ungraded" and r.json()["score"] is None
    assert "judge failed" in r.json()["reason"]


def test_list_and_get_questions(client: TestClient) -> None:
    listed = client.get("/v1/questions").json()
    assert listed["count"] == 2
    assert [q["id"] for q in listed["questions"]] == ["q01-dropout", "q02-pooling"]
    for key in ("q01-dropout", "1", "q1"):
        detail = client.get(f"/v1/questions/{key}").json()
        assert detail["id"] == "q01-dropout" and detail["hidden"] == []
        assert detail["criteria"][0]["id"] == "random-zeroing"
        assert detail["reference_answer"].startswith("Dropout is a regularization layer")


def test_app_builds_its_own_grader_from_settings(tmp_path: Path) -> None:
    with TestClient(create_app(settings(tmp_path))) as c:
        assert c.get("/readyz").json()["checks"]["embedder"]["detail"].startswith("fake")
        r = c.post("/v1/grade", json={"question_id": "q01-dropout", "answer": GOOD_DROPOUT})
    assert r.json()["status"] == "graded"


# --------------------------------------------------------------------------- errors


def test_unknown_question_is_404_naming_the_fix(client: TestClient) -> None:
    for r in (
        client.post("/v1/grade", json={"question_id": "q77", "answer": "x"}),
        client.post("/v1/grade", json={"question_number": 77, "answer": "x"}),
        client.get("/v1/questions/q77"),
    ):
        assert r.status_code == 404
        err = error_of(r)
        assert err["code"] == "unknown_question" and "q01-dropout" in err["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"question_id": "q01-dropout"}, "body.answer"),
        ({"question_id": "q01-dropout", "answer": 5}, "body.answer"),
        ({"question_number": "one", "answer": "x"}, "body.question_number"),
        ({"answer": "x"}, "body"),
        ({"question_id": "q01-dropout", "question_number": 1, "answer": "x"}, "body"),
        ({"question_id": "q01-dropout", "answer": "x", "anwser": "y"}, "body.anwser"),
        ({"question_id": "q01-dropout", "answer": "x", "metadata": [1]}, "body.metadata"),
        ([1, 2], "body"),
    ],
)
def test_wrong_fields_are_422_naming_the_field(
    client: TestClient, body: object, field: str
) -> None:
    r = client.post("/v1/grade", json=body)
    assert r.status_code == 422
    err = error_of(r)
    assert err["code"] == "invalid_request"
    assert field in [f["field"] for f in err["fields"]] and field in err["message"]


def test_empty_body_is_422_saying_what_to_send(client: TestClient) -> None:
    r = client.post("/v1/grade", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert "question_id" in error_of(r)["message"] and "answer" in error_of(r)["message"]


def test_answer_over_the_limit_is_413(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, max_answer_chars=100)) as c:
        ok = c.post("/v1/grade", json={"question_id": "q01-dropout", "answer": "é" * 100})
        r = c.post("/v1/grade", json={"question_id": "q01-dropout", "answer": "é" * 101})
    assert ok.status_code == 200
    assert r.status_code == 413
    err = error_of(r)
    assert err["code"] == "answer_too_large" and "GRADER_MAX_ANSWER_CHARS" in err["message"]


def test_huge_body_is_413_before_it_is_read(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, max_answer_chars=100)) as c:
        big = b'{"question_id": "q01-dropout", "answer": "' + b"x" * 200_000 + b'"}'
        r = c.post("/v1/grade", content=big, headers={"content-type": "application/json"})
        assert r.status_code == 413 and error_of(r)["code"] == "request_too_large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
            yield b'{"question_id": "q01-dropout", "answer": "'
            for _ in range(100):
                yield b"x" * 4096
            yield b'"}'

        r = c.post("/v1/grade", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and error_of(r)["code"] == "request_too_large"


@pytest.mark.parametrize(
    "content",
    [
        b'{"question_id": "q01-dropout", "answer": "caf\xe9"}',  # Latin-1, not UTF-8
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe",
        '{"question_id": "q01-dropout", "answer": "x"}'.encode("utf-16"),
    ],
)
def test_non_utf8_or_binary_body_is_400(client: TestClient, content: bytes) -> None:
    r = client.post("/v1/grade", content=content, headers={"content-type": "application/json"})
    assert r.status_code == 400
    err = error_of(r)
    assert err["code"] == "bad_encoding" and "UTF-8" in err["message"]


def test_binary_body_of_another_type_is_400(client: TestClient) -> None:
    r = client.post(
        "/v1/grade", content=b"\xff\xd8\xff\xe0", headers={"content-type": "image/jpeg"}
    )
    assert r.status_code == 400 and error_of(r)["code"] == "bad_encoding"


def test_malformed_json_is_400(client: TestClient) -> None:
    r = client.post(
        "/v1/grade",
        content=b'{"question_id": "q01-dropout", "answer": "x"',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and error_of(r)["code"] == "invalid_json"


def test_json_sent_as_text_is_415_naming_the_header(client: TestClient) -> None:
    r = client.post(
        "/v1/grade",
        content=b'{"question_id": "q01-dropout", "answer": "x"}',
        headers={"content-type": "text/plain"},
    )
    assert r.status_code == 415
    assert "Content-Type: application/json" in error_of(r)["message"]


def test_unknown_route_and_method_are_json_errors(client: TestClient) -> None:
    assert error_of(client.get("/v1/nothing"))["code"] == "not_found"
    r = client.delete("/v1/grade")
    assert r.status_code == 405 and error_of(r)["code"] == "method_not_allowed"


def test_internal_error_is_500_without_details(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(request: JudgeRequest) -> dict[str, float]:
        raise RuntimeError("secret internals: /etc/passwd")

    with TestClient(make_app(tmp_path, FakeJudge(script=explode))) as c:
        r = c.post("/v1/grade", json={"question_id": "q01-dropout", "answer": GOOD_DROPOUT})
        assert c.get("/healthz").status_code == 200  # the server goes on
    assert r.status_code == 500
    err = error_of(r)
    assert err["code"] == "internal_error" and err["request_id"] in err["message"]
    assert "secret" not in r.text and "Traceback" not in r.text and "RuntimeError" not in r.text
    logged = [rec for rec in caplog.records if rec.exc_info]
    assert logged and "secret internals" in caplog.text  # the operator sees it in the log


# --------------------------------------------------------------------------- logs, ids, metrics


def test_request_id_is_returned_and_caller_id_is_kept(client: TestClient) -> None:
    assert len(client.get("/healthz").headers["x-request-id"]) == 16
    r = client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert r.headers["x-request-id"] == "trace-42"
    r = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces"


def _fields(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, Any]]:
    return [r.fields for r in caplog.records if r.name == logger]  # type: ignore[attr-defined]


def test_logs_are_structured_and_never_hold_the_answer(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    r = client.post("/v1/grade", json={"question_id": "q01-dropout", "answer": GOOD_DROPOUT})
    rid = r.headers["x-request-id"]
    access = _fields(caplog, "grader.api.access")[-1]
    assert access["request_id"] == rid and access["status"] == 200
    assert access["route"] == "/v1/grade" and access["ms"] > 0
    graded = _fields(caplog, "grader.api.grade")[-1]
    assert graded["request_id"] == rid and graded["status"] == "graded"
    assert graded["answer_chars"] == len(GOOD_DROPOUT) and "answer" not in graded
    assert "co-adaptation" not in caplog.text


def test_answers_are_logged_only_when_enabled(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with TestClient(make_app(tmp_path, log_answers=True)) as c:
        c.post("/v1/grade", json={"question_id": "q01-dropout", "answer": GOOD_DROPOUT})
    assert _fields(caplog, "grader.api.grade")[-1]["answer"] == GOOD_DROPOUT


def _metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{line_start} not in metrics")


def test_metrics_count_requests_grades_judge_calls_and_cache_hits(client: TestClient) -> None:
    body = {"question_id": "q01-dropout", "answer": GOOD_DROPOUT}
    client.post("/v1/grade", json=body)
    client.post("/v1/grade", json=body)  # served from the result cache
    client.post("/v1/grade", json={"question_id": "q01-dropout", "answer": ""})
    client.get("/v1/questions/q77")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    m = r.text
    assert _metric(m, 'grader_grades_total{status="graded"}') == 2
    assert _metric(m, 'grader_grades_total{status="short_circuited"}') == 1
    assert _metric(m, "grader_cache_hits_total") == 1
    assert _metric(m, "grader_judge_calls_total") == 4  # 3 criteria + 1 misconception, once
    assert (
        _metric(m, 'grader_http_requests_total{method="POST",route="/v1/grade",status="200"}') == 3
    )
    assert (
        _metric(
            m, 'grader_http_requests_total{method="GET",route="/v1/questions/{key}",status="404"}'
        )
        == 1
    )
    assert (
        _metric(m, 'grader_http_request_duration_seconds_count{method="POST",route="/v1/grade"}')
        == 3
    )


# --------------------------------------------------------------------------- OpenAPI


def test_every_operation_documents_an_example(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    for path, item in schema["paths"].items():
        for method, op in item.items():
            success = next(r for code, r in sorted(op["responses"].items()) if code < "300")
            media = next(iter(success["content"].values()))
            ref = media.get("schema", {}).get("$ref", "")
            documented = "example" in media or "examples" in media
            documented |= "examples" in components.get(ref.rsplit("/", 1)[-1], {})
            assert documented, f"{method.upper()} {path} has no example response"
    grade = schema["paths"]["/v1/grade"]["post"]
    assert len(grade["requestBody"]["content"]["application/json"]["examples"]) >= 2
    assert components["GradeBody"]["properties"]["answer"]["maxLength"] == 20_000


def test_documented_examples_are_valid(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    grade = schema["paths"]["/v1/grade"]["post"]
    for example in grade["requestBody"]["content"]["application/json"]["examples"].values():
        GradeBody.model_validate(example["value"])
    GradeResponse.model_validate(GRADE_EXAMPLE)
    for status, response in grade["responses"].items():
        if status != "200":
            ErrorBody.model_validate(response["content"]["application/json"]["example"])

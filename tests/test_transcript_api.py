"""``/v1/transcripts`` in-process (tiny bank, fake embedder and judge): jobs, progress, errors."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api_support import FULL_KEY, GOOD_DROPOUT, GRADE_KEY, BlockingJudge, make_app

TRANSCRIPT: dict[str, Any] = {
    "candidate": {"name": "Jane <Doe>"},
    "turns": [
        {"question": "Hi! How are you today?", "answer": "Fine, thanks."},
        {"question_id": "q01-dropout", "answer": GOOD_DROPOUT},
        {"question_number": 2, "answer": "Pooling reduces the spatial size of feature maps."},
    ],
}
MARKDOWN = (
    "Candidate: Sam\n\n**Q:** What are dropout layers, and how do they help in preventing "
    f"overfitting?\n**A:** {GOOD_DROPOUT}\n"
)


def wait_done(c: TestClient, job_id: str, **kw: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body: dict[str, Any] = c.get(f"/v1/transcripts/{job_id}", **kw).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_post_starts_a_job_and_get_returns_the_report(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as c:
        r = c.post("/v1/transcripts?filename=jane.json", json=TRANSCRIPT)
        assert r.status_code == 202, r.text
        job = r.json()
        assert r.headers["location"] == f"/v1/transcripts/{job['id']}" == job["links"]["self"]
        assert job["status"] in ("queued", "running", "done") and job["progress"]["total"] == 2
        assert "report" not in job
        done = wait_done(c, job["id"])
    assert done["status"] == "done" and done["progress"] == {"graded": 2, "total": 2}
    report = done["report"]
    assert report["source"] == "jane.json" and report["candidate"]["name"] == "Jane <Doe>"
    assert [i["status"] for i in report["items"]] == ["not_graded", "graded", "graded"]
    assert report["overall"]["scored"] == 2 and report["overall"]["percent"] is not None


def test_report_html_is_served_with_a_strict_csp(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as c:
        job_id = c.post("/v1/transcripts", json=TRANSCRIPT).json()["id"]
        wait_done(c, job_id)
        r = c.get(f"/v1/transcripts/{job_id}/report.html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    assert "Jane &lt;Doe&gt;" in r.text and "<Doe>" not in r.text


def test_markdown_body_is_accepted(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as c:
        r = c.post(
            "/v1/transcripts",
            content=MARKDOWN.encode(),
            headers={"Content-Type": "text/markdown; charset=utf-8"},
        )
        assert r.status_code == 202, r.text
        done = wait_done(c, r.json()["id"])
    items = done["report"]["items"]
    assert items[0]["match"]["question_id"] == "q01-dropout"
    assert done["report"]["format"] == "qa" and done["report"]["candidate"] == {"name": "Sam"}


def test_report_html_before_the_job_is_done_is_409(tmp_path: Path) -> None:
    judge = BlockingJudge()
    with TestClient(make_app(tmp_path, judge)) as c:
        job_id = c.post("/v1/transcripts", json=TRANSCRIPT).json()["id"]
        assert judge.entered.wait(5)
        running = c.get(f"/v1/transcripts/{job_id}").json()
        r = c.get(f"/v1/transcripts/{job_id}/report.html")
        judge.release.set()
        wait_done(c, job_id)
    assert running["status"] == "running" and running["report"] is None
    assert running["progress"]["graded"] < 2
    assert r.status_code == 409 and r.json()["error"]["code"] == "job_not_done"
    assert "poll GET /v1/transcripts" in r.json()["error"]["message"]


def test_errors_name_the_problem(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as c:
        wrong_type = c.post("/v1/transcripts", content=b"x", headers={"Content-Type": "image/png"})
        not_transcript = c.post(
            "/v1/transcripts", content=b"just some notes", headers={"Content-Type": "text/plain"}
        )
        latin1 = c.post(
            "/v1/transcripts",
            content="Q: caf\xe9?\nA: oui".encode("latin-1"),
            headers={"Content-Type": "text/plain"},
        )
        no_turns = c.post("/v1/transcripts", json={"candidate": "x"})
        unknown = c.get("/v1/transcripts/" + "0" * 32)
        bad_id = c.get("/v1/transcripts/not-an-id")
    assert wrong_type.status_code == 415
    assert not_transcript.status_code == 400
    assert not_transcript.json()["error"]["code"] == "bad_transcript"
    assert "expected a transcript" in not_transcript.json()["error"]["message"]
    assert latin1.status_code == 400 and "not UTF-8" in latin1.json()["error"]["message"]
    assert no_turns.status_code == 400 and '"turns"' in no_turns.json()["error"]["message"]
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_job"
    assert bad_id.status_code == 422


def test_jobs_are_private_to_the_key_that_posted_them(tmp_path: Path) -> None:
    app = make_app(tmp_path, api_keys=[FULL_KEY], grade_only_keys=[GRADE_KEY])
    grade = {"Authorization": f"Bearer {GRADE_KEY}"}
    full = {"Authorization": f"Bearer {FULL_KEY}"}
    with TestClient(app) as c:
        assert c.post("/v1/transcripts", json=TRANSCRIPT).status_code == 401
        job_id = c.post("/v1/transcripts", json=TRANSCRIPT, headers=grade).json()["id"]
        own = wait_done(c, job_id, headers=grade)
        other = c.get(f"/v1/transcripts/{job_id}", headers=full)
    assert own["status"] == "done"
    assert other.status_code == 404


def test_finished_report_survives_a_restart(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as c:
        job_id = c.post("/v1/transcripts", json=TRANSCRIPT).json()["id"]
        before = wait_done(c, job_id)
    with TestClient(make_app(tmp_path)) as c:  # a new app on the same database
        after = c.get(f"/v1/transcripts/{job_id}").json()
    assert after["status"] == "done"
    assert json.dumps(after["report"], sort_keys=True) == json.dumps(
        before["report"], sort_keys=True
    )


def test_openapi_documents_the_transcript_routes(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as c:
        paths = c.get("/openapi.json").json()["paths"]
    post = paths["/v1/transcripts"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json"}
    assert "text/markdown" in post["requestBody"]["description"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert "$ref" not in json.dumps(schema) and len(schema["anyOf"]) == 2
    assert "/v1/transcripts/{job_id}/report.html" in paths

"""A judge failure is logged on the server under the request's id (and only there).

The id is set by the request-id middleware in a context variable; the grading pool runs
the grade in a copy of that context, so the pipeline's "judge failed" line, written in a
worker thread, carries the same id the client received.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from fastapi.testclient import TestClient

from api_support import GOOD_DROPOUT, make_app
from grader.api.logs import JsonFormatter
from grader.testing import FakeJudge


def test_judge_failure_log_line_carries_the_request_id(tmp_path: Path) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    pipeline_log = logging.getLogger("grader.grading.pipeline")
    pipeline_log.addHandler(handler)
    try:
        with TestClient(make_app(tmp_path, judge=FakeJudge("fail"))) as client:
            r = client.post("/v1/grade", json={"question_number": 1, "answer": GOOD_DROPOUT})
            other = client.post("/v1/grade", json={"question_number": 1, "answer": ""})
    finally:
        pipeline_log.removeHandler(handler)
    assert r.status_code == 200 and r.json()["status"] == "ungraded"
    rid = r.headers["x-request-id"]
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    failures = [line for line in lines if "judge failed" in line["msg"]]
    assert [line["request_id"] for line in failures] == [rid]  # only the graded one failed
    assert other.headers["x-request-id"] != rid
    # The client's reason is a stable code; the log has the detail.
    assert "judge_failed" in r.json()["reason"]
    assert "fault injection" in failures[0]["msg"]

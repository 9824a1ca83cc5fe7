"""Admission of transcript jobs (answers to grade, per key and in total) and the judge's lanes."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_support import GOOD_DROPOUT, BlockingJudge, make_app, settings
from grader.errors import JobBacklogFullError, JobQuotaError, RequestTooLargeError
from grader.grading.gate import JudgeGate
from grader.grading.judges import JudgeRequest
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.testing import FakeEmbedder, FakeJudge
from grader.transcripts.admission import JobBacklog
from grader.transcripts.grade import make_plan
from grader.transcripts.jobs import JobStore
from grader.transcripts.parse import parse_transcript

KEY_A, KEY_B = "key-a-0123456789", "key-b-0123456789"
GRADE = {"question_id": "q01-dropout", "answer": GOOD_DROPOUT}
POOLING = (
    "Pooling layers downsample feature maps, reducing height and width, which cuts computation "
    "and gives some translation invariance; max pooling keeps the largest value in each window."
)


def transcript(n: int) -> dict[str, Any]:
    """Two answers for the judge (the tiny bank has two questions), unlike any other n's."""
    turns = [
        {"question_number": 1, "answer": f"{GOOD_DROPOUT} ({n})"},
        {"question_number": 2, "answer": f"{POOLING} ({n})"},
    ]
    return {"candidate": {"name": f"Candidate {n}"}, "turns": turns}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def jobs_stored(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "grader.db") as db:
        return int(db.execute("SELECT COUNT(*) FROM transcript_jobs").fetchone()[0])


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.01)


# --------------------------------------------------------------------------- the API


def test_a_flood_of_jobs_is_refused_with_503_once_the_backlog_is_full(tmp_path: Path) -> None:
    judge = BlockingJudge()  # nothing drains while the flood arrives
    app = make_app(tmp_path, judge, max_job_answers=6, max_job_answers_per_key=100)
    with TestClient(app) as c:
        replies = [c.post("/v1/transcripts", json=transcript(i)) for i in range(10)]
        ready = c.get("/readyz").json()
        metrics = c.get("/metrics").text
        judge.release.set()
    assert [r.status_code for r in replies] == [202] * 3 + [503] * 7
    for r in replies[3:]:
        assert int(r.headers["retry-after"]) >= 1
        err = r.json()["error"]
        assert err["code"] == "job_backlog_full" and err["request_id"]
        assert "GRADER_MAX_JOB_ANSWERS=6" in err["message"] and "raise" in err["message"]
    assert jobs_stored(tmp_path) == 3  # none of the refused jobs exists
    jobs = ready["jobs"]
    assert jobs["answers_queued"] == 6 and jobs["jobs_queued"] + jobs["jobs_running"] == 3
    assert jobs["rejected"] == 7 and jobs["max_answers"] == 6
    assert "grader_job_answers_queued 6.0" in metrics
    assert 'grader_job_rejections_total{reason="backlog_full"} 7.0' in metrics
    assert 'grader_jobs{status="queued"} 2.0' in metrics


def test_the_per_key_bound_refuses_with_429_and_leaves_other_keys_alone(tmp_path: Path) -> None:
    judge = BlockingJudge()
    app = make_app(tmp_path, judge, api_keys=[KEY_A, KEY_B], max_job_answers_per_key=4)
    with TestClient(app) as c:
        a = [c.post("/v1/transcripts", json=transcript(i), headers=bearer(KEY_A)) for i in range(3)]
        b = c.post("/v1/transcripts", json=transcript(9), headers=bearer(KEY_B))
        metrics = c.get("/metrics", headers=bearer(KEY_A)).text
        judge.release.set()
    assert [r.status_code for r in a] == [202, 202, 429]
    assert int(a[2].headers["retry-after"]) >= 1
    err = a[2].json()["error"]
    assert err["code"] == "job_quota_exceeded"
    assert (
        "GRADER_MAX_JOB_ANSWERS_PER_KEY" in err["message"] and "4 answers waiting" in err["message"]
    )
    assert b.status_code == 202  # another key still has its own room
    assert jobs_stored(tmp_path) == 3
    assert 'grader_job_rejections_total{reason="per_key"} 1.0' in metrics


def test_a_job_larger_than_a_bound_is_413_naming_the_setting(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, max_job_answers_per_key=1)) as c:
        r = c.post("/v1/transcripts", json=transcript(0))
    assert r.status_code == 413
    assert "GRADER_MAX_JOB_ANSWERS_PER_KEY=1" in r.json()["error"]["message"]
    assert jobs_stored(tmp_path) == 0


def test_jobs_resumed_after_a_restart_count_toward_the_backlog(tmp_path: Path) -> None:
    s = settings(tmp_path)
    grader = Grader(s, embedder=FakeEmbedder(), judge=FakeJudge(), store=ResultStore(":memory:"))
    store = JobStore(s.database)
    for n in range(2):  # left unfinished by an earlier process
        body = json.dumps(transcript(n)).encode()
        plan = make_plan(grader, parse_transcript(body, "t.json", kind="json"))
        store.create(plan, "anonymous", grader.config_hash)
    store.close()
    judge = BlockingJudge()
    with TestClient(make_app(tmp_path, judge, max_job_answers=5)) as c:
        ready = c.get("/readyz").json()
        r = c.post("/v1/transcripts", json=transcript(7))
        judge.release.set()
    assert ready["jobs"]["answers_queued"] == 4
    assert r.status_code == 503 and "4 answers waiting" in r.json()["error"]["message"]


class LaneJudge(FakeJudge):
    """One answer at a time like the local judge; records who called; job calls need a permit."""

    def __init__(self) -> None:
        super().__init__(mode="serial:0")
        self.callers: list[str] = []
        self.permits = threading.Semaphore(0)

    def judge(self, request: JudgeRequest):  # type: ignore[no-untyped-def]
        job = threading.current_thread().name.startswith("grader-transcript")
        self.callers.append("job" if job else "single")
        if job:
            assert self.permits.acquire(timeout=10), "test never let the job answer finish"
        return super().judge(request)


def test_a_single_answer_goes_before_the_job_answers_waiting(tmp_path: Path) -> None:
    judge = LaneJudge()
    app = make_app(tmp_path, judge, transcript_workers=2)
    with TestClient(app) as c, ThreadPoolExecutor(1) as ex:
        ids = [c.post("/v1/transcripts", json=transcript(i)).json()["id"] for i in range(5)]
        gate = app.state.api.grader.judge_gate
        # one job answer at the judge, the job's other answer waiting behind it
        wait_for(lambda: gate.state().running == 1 and gate.state().background_waiting == 1)
        single = ex.submit(c.post, "/v1/grade", json=GRADE)
        wait_for(lambda: gate.state().interactive_waiting == 1)
        judge.permits.release()  # the job answer at the judge finishes
        graded = single.result(10)
        wait_for(lambda: len(judge.callers) == 3)  # the next job answer holds the judge
        ready = c.get("/readyz").json()
        statuses = [c.get(f"/v1/transcripts/{i}").json()["status"] for i in ids]
        judge.permits.release(100)
    assert graded.status_code == 200 and graded.json()["status"] == "graded"
    assert judge.callers[:3] == ["job", "single", "job"]
    assert statuses == ["running"] + ["queued"] * 4  # the grade did not wait for the jobs
    assert ready["jobs"]["jobs_queued"] == 4 and ready["jobs"]["answers_queued"] >= 9


# --------------------------------------------------------------------------- the parts


def test_retry_after_is_the_backlog_to_drain_times_the_seconds_per_answer() -> None:
    backlog = JobBacklog(max_answers=10, max_answers_per_key=7)
    backlog.add("j1", "a", 3)
    backlog.add("j2", "b", 5)
    backlog.seconds_per_answer = 2.0
    with pytest.raises(JobBacklogFullError) as full:
        backlog.check_room("c")  # 8 waiting: a 3-answer job needs 1 more graded
        with backlog.admitting("c", 3):
            pass
    assert full.value.retry_after == 2
    backlog.add("j3", "a", 4)
    backlog.max_answers = 100
    # a has 7: a 5-answer job needs 5 of a's graded: j1 (3), j2 (5, b's), 2 of j3
    with pytest.raises(JobQuotaError) as quota, backlog.admitting("a", 5):
        pass
    assert quota.value.retry_after == (3 + 5 + 2) * 2
    with pytest.raises(RequestTooLargeError), backlog.admitting("z", 8):
        pass
    assert backlog.state().rejected_per_key == 1 and backlog.state().rejected_total == 1


def test_graded_answers_leave_the_backlog_and_finished_jobs_leave_it_whole() -> None:
    backlog = JobBacklog(max_answers=4, max_answers_per_key=4)
    with backlog.admitting("a", 4):
        backlog.add("j1", "a", 4)
    backlog.started("j1")
    backlog.graded("j1")
    state = backlog.state()
    assert (state.answers_queued, state.jobs_running, state.jobs_queued) == (3, 1, 0)
    with backlog.admitting("b", 1):  # the graded answer made room
        backlog.add("j2", "b", 1)
    backlog.remove("j1")
    assert backlog.state().answers_queued == 1


def test_the_gate_serves_a_waiting_single_answer_before_waiting_job_answers() -> None:
    gate = JudgeGate(capacity=1)
    order: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def call(name: str, background: bool, hold: bool = False) -> None:
        lane: AbstractContextManager[None] = gate.background() if background else nullcontext()
        with lane, gate.slot():
            order.append(name)
            if hold:
                holding.set()
                release.wait(10)

    threads = [threading.Thread(target=call, args=("first job", True, True))]
    threads[0].start()
    assert holding.wait(10)
    for name, background in [("job", True), ("job", True), ("single", False)]:
        threads.append(threading.Thread(target=call, args=(name, background)))
        threads[-1].start()
    wait_for(lambda: gate.state().background_waiting == 2 and gate.state().interactive_waiting)
    release.set()
    for t in threads:
        t.join(10)
    assert order == ["first job", "single", "job", "job"]


def test_a_gate_without_capacity_never_holds_a_call_back() -> None:
    gate = JudgeGate(None)
    with gate.slot(), gate.background(), gate.slot():
        assert gate.state().running == 2


@pytest.mark.parametrize(("mode", "capacity"), [("serial:0", 1), ("overlap", None)])
def test_the_gate_takes_its_capacity_from_the_judge(
    tmp_path: Path, mode: str, capacity: int | None
) -> None:
    judge = FakeJudge(mode)
    grader = Grader(
        settings(tmp_path), embedder=FakeEmbedder(), judge=judge, store=ResultStore(":memory:")
    )
    assert grader.judge_gate.capacity == capacity

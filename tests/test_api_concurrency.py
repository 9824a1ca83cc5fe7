"""Idempotency-Key, the bounded grading queue (503 + Retry-After) and the pool itself."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api_support import FULL_KEY, GOOD_DROPOUT, GRADE_KEY, BlockingJudge, make_app
from grader.api.pool import GradingPool
from grader.errors import OverloadedError
from grader.testing.judge import FakeJudge

GRADE = {"question_id": "q01-dropout", "answer": GOOD_DROPOUT}


def idem(key: str, **extra: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **extra}


# --------------------------------------------------------------------------- idempotency


def test_repeated_key_returns_the_stored_result(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as c:
        first = c.post("/v1/grade", json=GRADE, headers=idem("k-1"))
        again = c.post("/v1/grade", json=GRADE, headers=idem("k-1"))
        plain = c.post("/v1/grade", json=GRADE)  # no key: graded again (from the cache)
    assert first.status_code == again.status_code == 200
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()  # byte-for-byte the stored response
    assert again.json()["usage"]["cache_hit"] is False
    assert plain.json()["usage"]["cache_hit"] is True


def test_key_reused_with_another_body_is_409(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as c:
        c.post("/v1/grade", json=GRADE, headers=idem("k-2"))
        r = c.post("/v1/grade", json=GRADE | {"answer": "something else"}, headers=idem("k-2"))
        other_candidate = c.post(
            "/v1/grade", json=GRADE | {"candidate_id": "c-9"}, headers=idem("k-2")
        )
    assert r.status_code == 409 and r.json()["error"]["code"] == "idempotency_conflict"
    assert "new key" in r.json()["error"]["message"]
    assert other_candidate.status_code == 409


def test_stored_results_survive_a_restart(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as c:
        first = c.post("/v1/grade", json=GRADE, headers=idem("k-3")).json()
    judge = FakeJudge()
    with TestClient(make_app(tmp_path, judge)) as c:  # same cache dir, new process state
        again = c.post("/v1/grade", json=GRADE, headers=idem("k-3"))
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first
    assert judge.calls == 0


def test_keys_are_scoped_per_api_key(tmp_path: Path) -> None:
    app = make_app(tmp_path, api_keys=[FULL_KEY], grade_only_keys=[GRADE_KEY])
    with TestClient(app) as c:
        c.post("/v1/grade", json=GRADE, headers=idem("same", Authorization=f"Bearer {FULL_KEY}"))
        other = c.post(
            "/v1/grade",
            json=GRADE | {"answer": "another caller's answer"},
            headers=idem("same", Authorization=f"Bearer {GRADE_KEY}"),
        )
    assert other.status_code == 200 and "idempotent-replayed" not in other.headers


def test_ungraded_results_are_not_replayed(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path, FakeJudge(mode="fail"))) as c:
        first = c.post("/v1/grade", json=GRADE, headers=idem("k-4"))
        again = c.post("/v1/grade", json=GRADE, headers=idem("k-4"))
    assert first.json()["status"] == again.json()["status"] == "ungraded"
    assert "idempotent-replayed" not in again.headers


def test_bad_idempotency_key_is_422(tmp_path: Path) -> None:
    with TestClient(make_app(tmp_path)) as c:
        r = c.post("/v1/grade", json=GRADE, headers=idem("has spaces in it"))
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "header.Idempotency-Key"


def test_concurrent_retries_with_one_key_grade_once(tmp_path: Path) -> None:
    judge = BlockingJudge()
    with TestClient(make_app(tmp_path, judge)) as c, ThreadPoolExecutor(2) as ex:
        first = ex.submit(c.post, "/v1/grade", json=GRADE, headers=idem("k-5"))
        assert judge.entered.wait(5)
        second = ex.submit(c.post, "/v1/grade", json=GRADE, headers=idem("k-5"))
        time.sleep(0.2)  # the retry is now waiting for the first request
        judge.release.set()
        a, b = first.result(10), second.result(10)
    assert a.json() == b.json() and judge.calls == 1
    assert sorted(r.headers.get("idempotent-replayed", "") for r in (a, b)) == ["", "true"]


# --------------------------------------------------------------------------- overload


def test_full_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    judge = BlockingJudge()
    app = make_app(tmp_path, judge, max_queue=1, api_workers=1)
    with TestClient(app) as c, ThreadPoolExecutor(1) as ex:
        busy = ex.submit(c.post, "/v1/grade", json=GRADE)
        assert judge.entered.wait(5)
        r = c.post("/v1/grade", json=GRADE | {"answer": "a different answer about dropout"})
        ready = c.get("/readyz").json()
        judge.release.set()
        assert busy.result(10).status_code == 200
        after = c.post("/v1/grade", json=GRADE | {"answer": "a different answer about dropout"})
        metrics = c.get("/metrics").text
    assert r.status_code == 503
    assert int(r.headers["retry-after"]) >= 1
    err = r.json()["error"]
    assert err["code"] == "overloaded" and "GRADER_MAX_QUEUE" in err["message"]
    assert ready["queue"]["in_flight"] == 1
    assert after.status_code == 200
    assert "grader_queue_rejections_total 1.0" in metrics


def test_the_event_loop_stays_free_while_grading(tmp_path: Path) -> None:
    """Health checks answer at once while a slow answer is being graded."""
    judge = BlockingJudge()

    async def scenario() -> float:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            slow = asyncio.create_task(client.post("/v1/grade", json=GRADE))
            await asyncio.to_thread(judge.entered.wait, 5)
            t0 = time.perf_counter()
            assert (await client.get("/healthz")).status_code == 200
            elapsed = time.perf_counter() - t0
            judge.release.set()
            assert (await slow).status_code == 200
            return elapsed

    app = make_app(tmp_path, judge)
    with TestClient(app):  # runs the lifespan
        assert asyncio.run(scenario()) < 1.0


def test_pool_keeps_the_slot_until_a_cancelled_job_really_ends() -> None:
    release = threading.Event()

    async def scenario() -> None:
        pool = GradingPool(workers=1, max_queue=1)
        task = asyncio.create_task(pool.run(release.wait, 5))
        await asyncio.sleep(0.05)
        task.cancel()  # the client went away; the thread is still busy
        await asyncio.sleep(0.05)
        with pytest.raises(OverloadedError) as info:
            await pool.run(time.sleep, 0)
        assert info.value.retry_after >= 1
        release.set()
        for _ in range(100):
            if pool.in_flight == 0:
                break
            await asyncio.sleep(0.01)
        assert await pool.run(lambda: 42) == 42
        pool.shutdown()

    asyncio.run(scenario())

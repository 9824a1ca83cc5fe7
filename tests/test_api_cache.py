"""The API's result cache: one partition per API key, pruned in the background."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from api_support import FULL_KEY, GOOD_DROPOUT, GRADE_KEY, settings
from grader.api import create_app
from grader.api.idempotency import IdempotencyStore
from grader.grading.pipeline import Grader
from grader.grading.result_cache import ResultStore
from grader.storage import GRADER_DB, Database
from grader.testing import FakeEmbedder
from grader.testing.judge import FakeJudge

OTHER_KEY = "another-full-key-55555"
BODY = {"question_id": "q01-dropout", "answer": GOOD_DROPOUT}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def keyed_app(tmp_path: Path, judge: FakeJudge, **overrides: object) -> TestClient:
    s = settings(tmp_path, api_keys=[FULL_KEY, OTHER_KEY], grade_only_keys=[GRADE_KEY], **overrides)
    grader = Grader(s, embedder=FakeEmbedder(), judge=judge, store=ResultStore(":memory:"))
    return TestClient(create_app(s, grader))


# ------------------------------------------------------------------------- partitions


def test_one_key_never_sees_a_cache_hit_from_another_keys_answer(tmp_path: Path) -> None:
    judge = FakeJudge()
    with keyed_app(tmp_path, judge) as c:
        first = c.post("/v1/grade", json=BODY, headers=bearer(FULL_KEY)).json()
        other = c.post("/v1/grade", json=BODY, headers=bearer(OTHER_KEY)).json()
        grade_only = c.post("/v1/grade", json=BODY, headers=bearer(GRADE_KEY)).json()
        again = c.post("/v1/grade", json=BODY, headers=bearer(OTHER_KEY)).json()
    assert first["usage"]["cache_hit"] is False
    assert other["usage"]["cache_hit"] is False  # graded afresh for this key
    assert grade_only["usage"]["cache_hit"] is False
    assert again["usage"]["cache_hit"] is True  # its own earlier answer
    assert judge.calls == 3
    assert other["score"] == first["score"]  # the same grade, computed again


def test_the_result_cache_keeps_no_raw_api_key(tmp_path: Path) -> None:
    with keyed_app(tmp_path, FakeJudge()) as c:
        c.post("/v1/grade", json=BODY, headers=bearer(FULL_KEY))
        store: ResultStore = c.app.state.api.grader.store  # type: ignore[attr-defined]
        rows = store.database.query("SELECT * FROM results")
    assert len(rows) == 1
    assert not any(FULL_KEY in str(value) for value in rows[0])


def test_without_keys_every_caller_shares_one_partition(tmp_path: Path) -> None:
    judge = FakeJudge()
    s = settings(tmp_path)
    grader = Grader(s, embedder=FakeEmbedder(), judge=judge, store=ResultStore(":memory:"))
    grader.grade("q01-dropout", GOOD_DROPOUT)  # the library's (and CLI's) partition
    with TestClient(create_app(s, grader)) as c:
        body = c.post("/v1/grade", json=BODY).json()
    assert body["usage"]["cache_hit"] is True and judge.calls == 1


# ------------------------------------------------------------------- background pruning


def wait_until(condition: Callable[[], bool], seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_served_app_prunes_expired_rows_in_the_background(tmp_path: Path) -> None:
    s = settings(
        tmp_path, prune_interval_seconds=0.1, result_cache_ttl_days=1, idempotency_ttl_hours=1
    )
    store = ResultStore(tmp_path / "grader.db")
    grader = Grader(s, embedder=FakeEmbedder(), judge=FakeJudge(), store=store)
    db = Database(tmp_path / "grader.db", GRADER_DB)
    with TestClient(create_app(s, grader)) as c:
        fresh = c.post("/v1/grade", json=BODY, headers={"Idempotency-Key": "fresh"})
        assert fresh.status_code == 200
        # rows that expired while the server ran: the next round removes them
        old = time.time() - 2 * 86_400
        store.save("expired-result", grader.grade("q01-dropout", "Dropout zeroes units."))
        db.execute("UPDATE results SET created = ? WHERE key = 'expired-result'", (old,))
        IdempotencyStore(tmp_path / "grader.db", 3600).put("expired-key", "fp", "{}")
        db.execute("UPDATE idempotency SET created = ? WHERE key = 'expired-key'", (old,))

        def pruned() -> bool:
            left = db.query(
                "SELECT (SELECT count(*) FROM results WHERE key = 'expired-result') + "
                "(SELECT count(*) FROM idempotency WHERE key = 'expired-key')"
            )
            return left == [(0,)]

        assert wait_until(pruned), "the background task never pruned the expired rows"
        assert db.query("SELECT count(*) FROM idempotency") == [(1,)]  # "fresh" is kept
        assert db.query("SELECT count(*) FROM results") == [(2,)]  # both fresh grades kept
        replay = c.post("/v1/grade", json=BODY, headers={"Idempotency-Key": "fresh"})
        assert replay.headers["Idempotent-Replayed"] == "true"


def test_a_served_app_holds_the_result_cache_under_its_cap(tmp_path: Path) -> None:
    s = settings(tmp_path, prune_interval_seconds=0.1, result_cache_max_mb=0.02)  # ~20 KB
    store = ResultStore(tmp_path / "grader.db")
    grader = Grader(s, embedder=FakeEmbedder(), judge=FakeJudge(), store=store)
    with TestClient(create_app(s, grader)) as c:
        for i in range(30):
            answer = f"{GOOD_DROPOUT} Example {i}."
            r = c.post("/v1/grade", json={"question_id": "q01-dropout", "answer": answer})
            assert r.status_code == 200
        assert wait_until(lambda: store.size().bytes <= 0.02 * 2**20)
        assert 0 < store.size().rows < 30


def test_a_transcript_job_grades_in_its_owners_partition(tmp_path: Path) -> None:
    from test_transcript_api import TRANSCRIPT, wait_done

    judge = FakeJudge()
    with keyed_app(tmp_path, judge) as c:
        single = c.post("/v1/grade", json=BODY, headers=bearer(FULL_KEY)).json()
        assert single["usage"]["cache_hit"] is False
        calls = judge.calls
        # the other key's job grades the same dropout answer afresh ...
        other = c.post("/v1/transcripts", json=TRANSCRIPT, headers=bearer(OTHER_KEY)).json()
        other_job = wait_done(c, other["id"], headers=bearer(OTHER_KEY))
        assert judge.calls == calls + 2  # dropout and pooling, both judged
        # ... and the first key's job finds its own single grade
        mine = c.post("/v1/transcripts", json=TRANSCRIPT, headers=bearer(FULL_KEY)).json()
        mine_job = wait_done(c, mine["id"], headers=bearer(FULL_KEY))
        assert judge.calls == calls + 3  # only pooling is new for this key
    assert other_job["status"] == mine_job["status"] == "done"
